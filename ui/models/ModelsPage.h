// The Models page: the model library (core/library/model_library) as one card per model — architecture,
// parameters, stored dtype, quantization, size on disk, the adapters made for it and the run that made it — with
// what each task needs on the detected GPU, and the card's actions (Chat with it or with its adapter stacks,
// Quantize, Correct, Fine-tune, Open folder). A model LowBit cannot use says why instead. Above the cards, each
// added folder says what it gave (or that it holds no model, or the GGUF files in it, each with Import) and can be
// removed. Folders come from "Add folder…", the default models folder and the user's runs (their quantized models
// and adapters), and persist (QSettings). "Import GGUF…" turns a .gguf file (Ollama, LM Studio) into a model folder
// in the default models folder, with progress, time left and Cancel; "Download…" gets one from the Hugging Face Hub
// (ui/models/DownloadDialog.h); a card's "Export…" merges the model with one of its adapter stacks into a Hugging
// Face folder or a GGUF file with an Ollama Modelfile. Scanning and importing run on worker threads.
#pragma once

#include <QStringList>
#include <QVector>
#include <QWidget>

#include "ui/models/ChatChoice.h"
#include "ui/models/ExportMenu.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QVBoxLayout;

namespace lowbit::library {
struct FolderReport;
struct ModelCard;
}  // namespace lowbit::library

namespace lowbit::ui {

class DownloadDialog;
class JobRunner;

class ModelsPage : public QWidget {
  Q_OBJECT

 public:
  explicit ModelsPage(QWidget* parent = nullptr);
  QStringList folders() const { return m_folders; }
  static QString defaultModelsFolder();
  // Where an import of `ggufFile` goes: a folder of the default models folder named after the file, never one
  // that exists ("name-2", "name-3", … then).
  static QString freshImportFolder(const QString& ggufFile);
  // defaultModelsFolder()/name, or name-2, name-3, … : never a folder (or an unfinished .partial) that exists.
  static QString freshModelsFolder(const QString& name);
  // The library's models and their adapter stacks, for the Chat page (from the last scan).
  QVector<ChatChoice> chatChoices() const { return m_chatChoices; }
  bool isQuantized(const QString& modelFolder) const { return m_quantized.contains(modelFolder); }

 public Q_SLOTS:
  void addFolder(const QString& folder);
  void removeFolder(const QString& folder);
  void rescan();
  // Imports into the default models folder (a fresh subfolder named after the file); the card appears when done.
  void importGguf(const QString& ggufFile);
  // The Hugging Face download dialog (window-modal, deleted on close); the library rescans after a download.
  DownloadDialog* openDownloadDialog();
  // Merges the model and the stack's adapters into a fresh folder of the default models folder: "<label>-merged"
  // (a Hugging Face folder, core/export/hf_export.h, which joins the library) or "<label>-gguf-q8_0" (a GGUF file
  // and an Ollama Modelfile, core/export/gguf_export.h); in the import row with progress and Cancel.
  void exportStack(const ChatChoice& choice, ExportFormat format);

 Q_SIGNALS:
  void scanned(int cards);
  void imported(const QString& modelFolder);
  void exported(const QString& modelFolder);
  // A card's actions. `task`: "quantize", "correct" or "finetune".
  void chatRequested(const QString& modelFolder, const QStringList& adapters);
  void runRequested(const QString& task, const QString& modelFolder);

 private:
  QWidget* makeFolderRow(const library::FolderReport& report);
  QWidget* makeCard(const library::ModelCard& card);

  QStringList m_folders;
  QVector<ChatChoice> m_chatChoices;
  QStringList m_quantized;  // the quantized models of the last scan
  QWidget* m_folderRows = nullptr;
  QVBoxLayout* m_folderRowsLayout = nullptr;
  QLabel* m_gpu = nullptr;
  QWidget* m_cards = nullptr;
  QVBoxLayout* m_cardsLayout = nullptr;
  JobRunner* m_runner = nullptr;
  bool m_rescanPending = false;
  JobRunner* m_importRunner = nullptr;
  QWidget* m_importRow = nullptr;
  QLabel* m_importStatus = nullptr;
  QProgressBar* m_importProgress = nullptr;
};

}  // namespace lowbit::ui
