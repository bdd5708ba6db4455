// The Models page: the model library (core/model/model_library) as one card per model — architecture,
// parameters, stored dtype, quantization, size on disk, adapters found — with a fits / tight / exceeds badge per
// task for the detected GPU. Folders come from "Add folder…" and the default models folder, and persist
// (QSettings). "Import GGUF…" turns a .gguf file (Ollama, LM Studio) into a model folder in the default models
// folder, with progress, time left and Cancel. Scanning and importing run as jobs on worker threads.
#pragma once

#include <QStringList>
#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;
class QVBoxLayout;

namespace lowbit::ui {

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

 public Q_SLOTS:
  void addFolder(const QString& folder);
  void rescan();
  // Imports into the default models folder (a fresh subfolder named after the file); the card appears when done.
  void importGguf(const QString& ggufFile);

 Q_SIGNALS:
  void scanned(int cards);
  void imported(const QString& modelFolder);

 private:
  QStringList m_folders;
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
