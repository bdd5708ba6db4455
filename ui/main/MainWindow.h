// The main window: a navigation list on the left (Models, Quantize, Correct, Fine-tune, Chat, Runs) and the
// page for the selected entry on the right; Help → About and Help → System information open the About dialog.
#pragma once

#include <QMainWindow>

class QLabel;
class QListWidget;
class QStackedWidget;

namespace lowbit::ui {

class AboutDialog;
class JobRunner;
class RunsPage;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);

  // Page names in navigation order; objectName of page i is "page" + pageNames()[i] without spaces/dashes.
  static QStringList pageNames();

 public Q_SLOTS:
  void showPage(int index);
  void showAbout();
  void showSystemInformation();
  // Opens the New run wizard with a goal chosen (RunWizard::Goal; the full pipeline by default).
  // `model`: a model card's, which the wizard starts with.
  void showNewRunWizard(int goal = 3, const QString& model = QString());
  // Checks the driver, GPU and free GPU memory (NVML, on a worker; no CUDA context) and explains what is wrong,
  // unless the user dismissed these same notices before.
  void checkSystemAtStart();

 Q_SIGNALS:
  void pageShown(int index);
  void systemChecked(const QStringList& notices);

 protected:
  // Quitting while a run is going asks first, and says that the run stops with a checkpoint it resumes from.
  void closeEvent(QCloseEvent* event) override;

 private:
  void connectModelLibrary();
  void buildMenus();
  AboutDialog* aboutDialog();

  QListWidget* m_navigation = nullptr;
  QStackedWidget* m_pages = nullptr;
  QLabel* m_pageHeading = nullptr;  // the shown page's heading and purpose, in plain words
  AboutDialog* m_aboutDialog = nullptr;
  RunsPage* m_runsPage = nullptr;
  JobRunner* m_pipelineRunner = nullptr;
  JobRunner* m_systemCheck = nullptr;
  bool m_quitConfirmed = false;
};

}  // namespace lowbit::ui
