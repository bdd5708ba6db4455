// The Runs page: every run this app started or opened (remembered across restarts), its state read from the run
// folder (running — also in another process, followed live —, stopped, finished, failed, or crashed), and the
// dashboard of the selected one. At start-up the most recent run is shown again, so a restart re-attaches to it;
// a stopped or crashed run resumes from its folder alone (core/train/resume_run.h).
#pragma once

#include <QStringList>
#include <QWidget>

class QLineEdit;
class QListWidget;

namespace lowbit::ui {

class JobRunner;
class RunDashboard;

class RunsPage : public QWidget {
  Q_OBJECT

 public:
  explicit RunsPage(QWidget* parent = nullptr);
  RunDashboard* dashboard() const { return m_dashboard; }
  // The run shown (the most recent one at start-up) is going on, stopped or failed: there is something to resume.
  bool showsUnfinishedRun() const;

  // The remembered run folders, most recent first (QSettings "runs/recent").
  static QStringList recentRuns();
  // Puts `dir` first in that list; pages that start runs call it so that the run is found after a restart.
  static void remember(const QString& dir);

 public Q_SLOTS:
  // Shows the run in `dir` (and remembers it). False, with a dialog saying why, when it is not a run folder.
  bool open(const QString& dir);
  // Re-reads the list and the state of every run in it.
  void refresh();
  // Shows a job this app runs live (the wizard's pipeline): its events, and Pause / Stop & save / Cancel.
  void showLive(JobRunner* runner, const QString& runDirectory);

 private:
  void resume();

  QLineEdit* m_dir = nullptr;
  QListWidget* m_list = nullptr;
  RunDashboard* m_dashboard = nullptr;
  JobRunner* m_resumeRunner = nullptr;
};

}  // namespace lowbit::ui
