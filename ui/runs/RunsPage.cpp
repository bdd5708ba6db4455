#include "ui/runs/RunsPage.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QVBoxLayout>

#include "core/train/resume_run.h"
#include "core/train/run_status.h"
#include "ui/jobs/JobRunner.h"
#include "ui/runs/RunDashboard.h"
#include "ui/util/ErrorDialog.h"

namespace lowbit::ui {
namespace {

constexpr int kRememberedRuns = 50;
constexpr auto kRecentKey = "runs/recent";

// "running", "stopped", "finished", "failed", "crashed", "not started" or "missing", from the folder alone (a
// training run's, or a whole pipeline's).
QString describeRun(const QString& dir) {
  if (!QFileInfo(dir).isDir()) return QObject::tr("missing");
  if (!RunDashboard::isRunFolder(dir)) return QObject::tr("not started");
  const auto status = train::inspect_run_status(dir.toStdString());
  if (!status) return QObject::tr("stopped or failed");
  if (status->crashed) return QObject::tr("crashed");
  return QString::fromLatin1(train::run_state_name(status->state));
}

}  // namespace

QStringList RunsPage::recentRuns() { return QSettings().value(QString::fromLatin1(kRecentKey)).toStringList(); }

void RunsPage::remember(const QString& dir) {
  const QString clean = QDir::cleanPath(dir);
  QStringList runs = recentRuns();
  runs.removeAll(clean);
  runs.prepend(clean);
  while (runs.size() > kRememberedRuns) runs.removeLast();
  QSettings().setValue(QString::fromLatin1(kRecentKey), runs);
}

RunsPage::RunsPage(QWidget* parent) : QWidget(parent), m_resumeRunner(new JobRunner(this)) {
  auto* layout = new QVBoxLayout(this);
  auto* row = new QHBoxLayout;
  m_dir = new QLineEdit(this);
  m_dir->setObjectName(QStringLiteral("runsDir"));
  m_dir->setPlaceholderText(tr("a run folder made by New run, Correct or Fine-tune"));
  auto* browse = new QPushButton(tr("Open…"), this);
  browse->setObjectName(QStringLiteral("runsBrowse"));
  row->addWidget(m_dir, 1);
  row->addWidget(browse);
  layout->addLayout(row);
  auto* splitter = new QSplitter(Qt::Horizontal, this);
  m_list = new QListWidget(splitter);
  m_list->setObjectName(QStringLiteral("runsList"));
  m_list->setMinimumWidth(180);
  m_list->setTextElideMode(Qt::ElideMiddle);  // a long run name keeps its state in view: "stories26…0613 — stopped"
  m_dashboard = new RunDashboard(splitter);
  splitter->addWidget(m_list);
  splitter->addWidget(m_dashboard);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({220, 800});
  layout->addWidget(splitter, 1);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a run folder"), m_dir->text());
    if (!dir.isEmpty()) open(dir);
  });
  connect(m_dir, &QLineEdit::returnPressed, this, [this] { open(m_dir->text().trimmed()); });
  connect(m_list, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
    open(item->data(Qt::UserRole).toString());
  });
  connect(m_dashboard, &RunDashboard::resumeRequested, this, &RunsPage::resume);
  connect(m_resumeRunner, &JobRunner::jobFailed, this, [this](const QString& message) { showError(this, message); });
  connect(m_dashboard, &RunDashboard::stateChanged, this, [this] { refresh(); });

  refresh();
  // Re-attach to the run shown last time: its curves, how it ended, or its progress if it still runs elsewhere.
  const QStringList runs = recentRuns();
  if (!runs.isEmpty() && RunDashboard::isRunFolder(runs.front())) {
    m_dir->setText(runs.front());
    m_dashboard->loadRunDirectory(runs.front());
  }
}

void RunsPage::refresh() {
  const QString selected = m_dashboard->runDirectory();
  m_list->clear();
  for (const QString& dir : recentRuns()) {
    const QFileInfo info(dir);
    // The run shown live is described by its job, not by a run_state.json its worker may not have rewritten yet.
    QString state = describeRun(dir);
    if (dir == selected && m_dashboard->state() == RunDashboard::State::Running) state = tr("running");
    if (dir == selected && m_dashboard->state() == RunDashboard::State::Paused) state = tr("paused");
    auto* item = new QListWidgetItem(tr("%1 — %2").arg(info.fileName(), state), m_list);
    item->setData(Qt::UserRole, dir);
    item->setToolTip(dir);
    if (dir == selected) m_list->setCurrentItem(item);
  }
}

bool RunsPage::showsUnfinishedRun() const {
  const RunDashboard::State state = m_dashboard->state();
  return state == RunDashboard::State::Running || state == RunDashboard::State::Paused ||
         state == RunDashboard::State::Cancelled || state == RunDashboard::State::Failed;
}

bool RunsPage::open(const QString& dir) {
  m_dir->setText(dir);
  QString error;
  if (!m_dashboard->loadRunDirectory(dir, &error)) {
    showError(this, error);
    return false;
  }
  remember(dir);
  refresh();
  return true;
}

void RunsPage::showLive(JobRunner* runner, const QString& runDirectory) {
  m_dir->setText(runDirectory);
  m_dashboard->attach(runner, runDirectory);
  refresh();
}

void RunsPage::resume() {
  const QString dir = m_dashboard->runDirectory();
  if (dir.isEmpty() || m_resumeRunner->isRunning()) return;
  m_dashboard->attach(m_resumeRunner, dir);
  m_resumeRunner->start(std::make_shared<train::ResumeRunJob>(dir.toStdString(), "auto"));
}

}  // namespace lowbit::ui
