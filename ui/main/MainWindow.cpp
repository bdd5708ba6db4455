#include "ui/main/MainWindow.h"

#include <QAction>
#include <QCloseEvent>
#include <QMessageBox>
#include <QPushButton>
#include <QApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <QListWidget>
#include <QMenuBar>
#include <QScrollArea>
#include <QStackedWidget>
#include <QStatusBar>

#include "core/system/system_info_job.h"
#include "ui/about/AboutDialog.h"
#include "ui/about/FirstStartNotice.h"
#include "ui/chat/ChatPanel.h"
#include "ui/models/ModelsPage.h"
#include "ui/runs/CorrectPage.h"
#include "ui/main/TaskLauncherPage.h"
#include "ui/jobs/JobRunner.h"
#include "ui/util/ErrorDialog.h"
#include "ui/runs/RunDashboard.h"
#include "ui/runs/RunsPage.h"
#include "ui/wizard/RunWizard.h"

namespace lowbit::ui {
namespace {

// Each page says what it does for the user in plain words first; the method's name follows in brackets.
struct PageSpec {
  const char* name;     // the navigation entry
  const char* heading;
  const char* purpose;
  const char* command;
};

const PageSpec kPages[] = {
    {"Models", "Your models",
     "The models on this computer (LLaMA-family, full size or already shrunk), what each one is, the adapters made "
     "for it, and whether chatting, repairing and fine-tuning it fit your GPU.", "lowbit info MODEL"},
    {"Quantize", "Make a model smaller (GPTQ quantization)",
     "Store a model's weights in 2, 3, 4 or 8 bits so that it takes a quarter to a sixteenth of its size, one layer "
     "at a time so that a 7B model fits a laptop GPU.", "lowbit quantize MODEL --bits 4 --group-size 128 --calib FILE --out DIR"},
    {"Correct", "Repair quantization damage (RILQ or LREC)",
     "Small adapters learn to make the shrunk model answer like the full one (low-rank error correction), "
     "with live curves of how far apart the two still are.", "lowbit correct QUANT_DIR --teacher FP_DIR --calib FILE --out DIR"},
    {"Fine-tune", "Teach it to follow instructions (EMEF fine-tuning)",
     "Train an adapter on instruction and answer pairs (Alpaca-style) on top of the shrunk model, without unpacking "
     "its weights, so that 7B fits in about 5 GB of GPU memory.", "lowbit finetune MODEL --data FILE --out DIR"},
    {"Chat", "Chat with a model",
     "Talk to a model with the adapters you made, answers streaming in; or ask two or three at once side by side.",
     "lowbit chat MODEL"},
    {"Runs", "Your runs",
     "Everything you started: progress, curves and logs; Stop, Resume (also after a restart) and the folder with "
     "what each run made.", "lowbit resume RUN_DIR"},
};

QString pageObjectName(const QString& name) {
  QString compact = name;
  compact.remove(QLatin1Char('-'));
  compact.remove(QLatin1Char(' '));
  return QStringLiteral("page") + compact;
}

}  // namespace

QStringList MainWindow::pageNames() {
  QStringList names;
  for (const PageSpec& spec : kPages) names << QString::fromLatin1(spec.name);
  return names;
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setObjectName(QStringLiteral("mainWindow"));
  setWindowTitle(QStringLiteral("LowBit Studio"));
  resize(1100, 720);

  auto* central = new QWidget(this);
  auto* layout = new QHBoxLayout(central);
  m_navigation = new QListWidget(central);
  m_navigation->setObjectName(QStringLiteral("navigation"));
  m_navigation->setFixedWidth(170);
  m_pages = new QStackedWidget(central);
  m_pages->setObjectName(QStringLiteral("pages"));
  for (const PageSpec& spec : kPages) {
    const QString name = QString::fromLatin1(spec.name);
    m_navigation->addItem(name);
    QWidget* page = nullptr;
    if (name == QLatin1String("Models")) {
      page = new ModelsPage(m_pages);
    } else if (name == QLatin1String("Correct")) {
      page = new CorrectPage(m_pages);
    } else if (name == QLatin1String("Chat")) {
      page = new ChatPanel(m_pages);
    } else if (name == QLatin1String("Runs")) {
      m_runsPage = new RunsPage(m_pages);
      page = m_runsPage;
    } else {
      auto* launcher = new TaskLauncherPage(name, QString::fromLatin1(spec.command), m_pages);
      const RunWizard::Goal goal = name == QLatin1String("Quantize") ? RunWizard::Quantize : RunWizard::FineTune;
      connect(launcher, &TaskLauncherPage::wizardRequested, this, [this, goal] { showNewRunWizard(goal); });
      page = launcher;
    }
    page->setObjectName(pageObjectName(name));
    // On a screen lower than a page needs (a 1366×768 laptop with a filled-in form above a dashboard), the page
    // scrolls instead of pushing the window's bottom rows (message box, log, status bar) off the screen.
    auto* area = new QScrollArea(m_pages);
    area->setObjectName(pageObjectName(name) + QStringLiteral("Area"));
    area->setWidgetResizable(true);
    area->setFrameShape(QFrame::NoFrame);
    area->setWidget(page);
    m_pages->addWidget(area);
  }
  auto* pageColumn = new QVBoxLayout;
  m_pageHeading = new QLabel(central);
  m_pageHeading->setObjectName(QStringLiteral("pageHeading"));
  m_pageHeading->setWordWrap(true);
  m_pageHeading->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  pageColumn->addWidget(m_pageHeading);
  pageColumn->addWidget(m_pages, 1);
  layout->addWidget(m_navigation);
  layout->addLayout(pageColumn, 1);
  setCentralWidget(central);

  connectModelLibrary();
  connect(m_navigation, &QListWidget::currentRowChanged, this, &MainWindow::showPage);
  buildMenus();
  // After a restart the run that was going (stopped by Quit, or still going elsewhere) is what the user comes back to.
  m_navigation->setCurrentRow(m_runsPage->showsUnfinishedRun() ? static_cast<int>(pageNames().indexOf(QStringLiteral("Runs"))) : 0);
  statusBar()->showMessage(tr("Ready"));
}

void MainWindow::buildMenus() {
  QMenu* fileMenu = menuBar()->addMenu(tr("&File"));
  QAction* newRun = fileMenu->addAction(tr("&New run…"), this, [this] { showNewRunWizard(); });
  newRun->setObjectName(QStringLiteral("actionNewRun"));
  newRun->setShortcut(QKeySequence::New);
  QAction* quit = fileMenu->addAction(tr("&Quit"), qApp, &QApplication::quit);
  quit->setShortcut(QKeySequence::Quit);

  // The sections by key, in the order of the list on the left (Ctrl+1 Models … Ctrl+6 Runs).
  QMenu* goMenu = menuBar()->addMenu(tr("&Go"));
  const QStringList names = pageNames();
  for (int i = 0; i < names.size(); ++i) {
    QAction* go = goMenu->addAction(names[i], this, [this, i] { m_navigation->setCurrentRow(i); });
    go->setObjectName(QStringLiteral("actionGo") + pageObjectName(names[i]).mid(4));
    go->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)));
  }

  QMenu* helpMenu = menuBar()->addMenu(tr("&Help"));
  QAction* about = helpMenu->addAction(tr("&About LowBit Studio"), this, &MainWindow::showAbout);
  about->setObjectName(QStringLiteral("actionAbout"));
  QAction* system = helpMenu->addAction(tr("&System information"), this, &MainWindow::showSystemInformation);
  system->setObjectName(QStringLiteral("actionSystemInformation"));
}

void MainWindow::showNewRunWizard(int goal, const QString& model) {
  auto* wizard = new RunWizard(this);
  wizard->setAttribute(Qt::WA_DeleteOnClose);
  wizard->setGoal(static_cast<RunWizard::Goal>(goal));
  if (!model.isEmpty()) wizard->setModelFolder(model);
  connect(wizard, &QWizard::accepted, this, [this, wizard] {
    if (m_pipelineRunner == nullptr) {
      m_pipelineRunner = new JobRunner(this);
      connect(m_pipelineRunner, &JobRunner::jobFailed, this, [this](const QString& message) { showError(this, message); });
    }
    if (m_pipelineRunner->isRunning()) {
      showError(this, tr("A run is still going; stop it on the Runs page first."));
      return;
    }
    // Remembered first, so that the Runs page lists the run (and finds it again after a restart): the whole
    // pipeline, which resumes from its folder at the step it stopped in.
    RunsPage::remember(wizard->outputFolder());
    m_runsPage->showLive(m_pipelineRunner, wizard->outputFolder());
    m_pipelineRunner->start(wizard->makeJob());
    showPage(static_cast<int>(pageNames().indexOf(QStringLiteral("Runs"))));
  });
  wizard->show();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  bool running = false;
  for (const RunDashboard* dashboard : findChildren<RunDashboard*>()) {
    running = running || dashboard->state() == RunDashboard::State::Running || dashboard->state() == RunDashboard::State::Paused;
  }
  if (!running || m_quitConfirmed) {
    QMainWindow::closeEvent(event);
    return;
  }
  event->ignore();
  auto* box = new QMessageBox(QMessageBox::Question, tr("Quit LowBit Studio?"),
                              tr("A run is going. Quitting stops it with a checkpoint at the step it reached; Resume on "
                                 "the Runs page continues it from there."),
                              QMessageBox::NoButton, this);
  box->setObjectName(QStringLiteral("confirmQuit"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  QPushButton* quit = box->addButton(tr("Stop the run and quit"), QMessageBox::AcceptRole);
  quit->setObjectName(QStringLiteral("confirmQuitYes"));
  box->addButton(tr("Keep running"), QMessageBox::RejectRole)->setObjectName(QStringLiteral("confirmQuitNo"));
  connect(quit, &QPushButton::clicked, this, [this] {
    m_quitConfirmed = true;
    close();
  });
  box->open();
}

void MainWindow::checkSystemAtStart() {
  if (m_systemCheck == nullptr) m_systemCheck = new JobRunner(this);
  auto job = std::make_shared<system::SystemInfoJob>(/*check_kernels=*/false);
  m_systemCheck->start(job, [this, job] {
    QStringList notices;
    for (const std::string& notice : system::first_start_notices(job->result())) notices << QString::fromStdString(notice);
    if (FirstStartNotice::shouldShow(notices)) {
      auto* notice = new FirstStartNotice(notices, this);
      notice->setAttribute(Qt::WA_DeleteOnClose);
      notice->open();
    }
    Q_EMIT systemChecked(notices);
  });
}

// The Models page is where a model's tasks start: its cards' actions open the Chat page, the wizard or the Correct
// page with that model; its scans give the Chat page its choices. A finished run's "Chat with the result" opens the
// Chat page too, and its "Export the result" exports on the Models page. It scans again when shown, so that what a run
// made since (a quantized model, an adapter) is there.
void MainWindow::connectModelLibrary() {
  auto* models = findChild<ModelsPage*>();
  auto* chat = findChild<ChatPanel*>();
  auto* correct = findChild<CorrectPage*>();
  const auto pageIndex = [](const char* name) { return static_cast<int>(pageNames().indexOf(QLatin1String(name))); };
  connect(models, &ModelsPage::scanned, chat, [models, chat] { chat->setLibraryChoices(models->chatChoices()); });
  const auto openChat = [this, chat, pageIndex](const QString& model, const QStringList& adapters) {
    showPage(pageIndex("Chat"));
    chat->chatWith(model, adapters);
  };
  connect(models, &ModelsPage::chatRequested, this, openChat);
  for (RunDashboard* dashboard : findChildren<RunDashboard*>()) {
    connect(dashboard, &RunDashboard::chatRequested, this, openChat);
    connect(dashboard, &RunDashboard::exportRequested, this,
            [this, models, pageIndex](const ChatChoice& result, ExportFormat format) {
              showPage(pageIndex("Models"));  // the export's progress and Cancel are there
              models->exportStack(result, format);
            });
  }
  connect(models, &ModelsPage::runRequested, this, [this, models, correct, pageIndex](const QString& task, const QString& model) {
    if (task == QLatin1String("correct") && models->isQuantized(model)) {
      correct->setQuantizedModel(model);
      showPage(pageIndex("Correct"));
      return;
    }
    const RunWizard::Goal goal = task == QLatin1String("quantize") ? RunWizard::Quantize
                                 : task == QLatin1String("correct") ? RunWizard::QuantizeAndCorrect
                                                                    : RunWizard::FineTune;
    showNewRunWizard(goal, model);
  });
  connect(this, &MainWindow::pageShown, models, [models, pageIndex](int index) {
    if (index == pageIndex("Models") || index == pageIndex("Chat")) models->rescan();
  });
}

void MainWindow::showPage(int index) {
  if (index < 0 || index >= m_pages->count()) return;
  m_pages->setCurrentIndex(index);
  m_pageHeading->setText(QStringLiteral("<h2 style=\"margin-bottom:2px\">%1</h2>%2")
                             .arg(tr(kPages[index].heading).toHtmlEscaped(), tr(kPages[index].purpose).toHtmlEscaped()));
  if (m_navigation->currentRow() != index) m_navigation->setCurrentRow(index);
  Q_EMIT pageShown(index);
}

AboutDialog* MainWindow::aboutDialog() {
  if (m_aboutDialog == nullptr) m_aboutDialog = new AboutDialog(this);
  return m_aboutDialog;
}

void MainWindow::showAbout() { aboutDialog()->showTab(AboutDialog::Tab::About); }

void MainWindow::showSystemInformation() { aboutDialog()->showTab(AboutDialog::Tab::System); }

}  // namespace lowbit::ui
