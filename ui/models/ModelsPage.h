// The Models page: the model library (core/model/model_library) as one card per model — architecture,
// parameters, stored dtype, quantization, size on disk, adapters found — with a fits / tight / exceeds badge per
// task for the detected GPU. Folders come from "Add folder…" and the default models folder, and persist
// (QSettings). Scanning runs as a job on a worker thread.
#pragma once

#include <QStringList>
#include <QWidget>

class QLabel;
class QVBoxLayout;

namespace lowbit::ui {

class JobRunner;

class ModelsPage : public QWidget {
  Q_OBJECT

 public:
  explicit ModelsPage(QWidget* parent = nullptr);
  QStringList folders() const { return m_folders; }
  static QString defaultModelsFolder();

 public slots:
  void addFolder(const QString& folder);
  void rescan();

 signals:
  void scanned(int cards);

 private:
  QStringList m_folders;
  QLabel* m_gpu = nullptr;
  QWidget* m_cards = nullptr;
  QVBoxLayout* m_cardsLayout = nullptr;
  JobRunner* m_runner = nullptr;
  bool m_rescanPending = false;
};

}  // namespace lowbit::ui
