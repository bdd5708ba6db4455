// Help → About: what LowBit Studio is, and a System tab with the same facts as `lowbit --version` (LibTorch,
// CUDA, driver, each GPU with compute capability and free memory). The facts are collected by SystemInfoJob
// on a worker thread the first time the tab is shown, and again with Refresh.
#pragma once

#include <QDialog>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTabWidget;

namespace lowbit::ui {

class JobRunner;

class AboutDialog : public QDialog {
  Q_OBJECT

 public:
  enum class Tab { About, System };

  explicit AboutDialog(QWidget* parent = nullptr);

  void showTab(Tab tab);
  QString systemReport() const;

 public Q_SLOTS:
  void refreshSystemInformation();

 Q_SIGNALS:
  void systemInformationUpdated();

 private:
  QTabWidget* m_tabs = nullptr;
  QPlainTextEdit* m_systemText = nullptr;
  QLabel* m_systemStatus = nullptr;
  QPushButton* m_refreshButton = nullptr;
  JobRunner* m_runner = nullptr;
  bool m_systemLoaded = false;
};

}  // namespace lowbit::ui
