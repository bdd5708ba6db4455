#include <QAction>
#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QLabel>
#include <QMessageBox>
#include <QSettings>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSignalSpy>
#include <QScrollArea>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTextDocumentFragment>
#include <QtTest>

#include <QComboBox>
#include <QLineEdit>
#include <filesystem>

#include "core/quant/quantize_job.h"
#include "ui/about/AboutDialog.h"
#include "ui/about/FirstStartNotice.h"
#include "tests/ui/stories_int4.h"
#include "ui/jobs/JobRunner.h"
#include "ui/main/MainWindow.h"
#include "ui/models/ModelsPage.h"
#include "ui/runs/RunDashboard.h"
#include "ui/runs/RunsPage.h"
#include "ui/wizard/RunWizard.h"

using lowbit::ui::AboutDialog;
using lowbit::ui::FirstStartNotice;
using lowbit::ui::MainWindow;
using lowbit::ui::RunWizard;

namespace {

// Each page sits in a scroll area of the stack (for screens lower than the page needs).
QString shownPage(QStackedWidget* pages) {
  auto* area = qobject_cast<QScrollArea*>(pages->currentWidget());
  return area != nullptr && area->widget() != nullptr ? area->widget()->objectName() : QString();
}

}  // namespace

class TestMainWindow : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_main_window"));
  }
  void init() { QSettings().clear(); }  // each test starts as a first start: no remembered runs or choices

  void navigationHasTheProductsSections() {
    MainWindow window;
    auto* navigation = window.findChild<QListWidget*>(QStringLiteral("navigation"));
    QVERIFY(navigation != nullptr);
    const QStringList expected = {"Models", "Quantize", "Correct", "Fine-tune", "Chat", "Runs"};
    QCOMPARE(navigation->count(), expected.size());
    for (int i = 0; i < expected.size(); ++i) QCOMPARE(navigation->item(i)->text(), expected[i]);
  }

  // Every page says what it does in plain words first; the method's name, where there is one, follows in brackets.
  void everyPageNamesItsStepInPlainWordsFirst() {
    MainWindow window;
    window.show();
    auto* navigation = window.findChild<QListWidget*>(QStringLiteral("navigation"));
    auto* heading = window.findChild<QLabel*>(QStringLiteral("pageHeading"));
    QVERIFY(heading != nullptr);
    const QStringList expected = {"Your models", "Make a model smaller (GPTQ quantization)", "Repair quantization damage (RILQ or LREC)",
                                  "Teach it to follow instructions (EMEF fine-tuning)", "Chat with a model", "Your runs"};
    for (int page = 0; page < navigation->count(); ++page) {
      navigation->setCurrentRow(page);
      const QString text = QTextDocumentFragment::fromHtml(heading->text()).toPlainText();
      QVERIFY2(text.startsWith(expected[page]), qPrintable(text));
      const QString beforeBrackets = text.left(text.indexOf(QLatin1Char('(')));
      for (const char* jargon : {"GPTQ", "LREC", "EMEF", "LoRA", "KL"}) {
        QVERIFY2(!beforeBrackets.contains(QLatin1String(jargon)), qPrintable(text));
      }
    }
  }

  void clickingAnEntryShowsItsPage() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto* navigation = window.findChild<QListWidget*>(QStringLiteral("navigation"));
    auto* pages = window.findChild<QStackedWidget*>(QStringLiteral("pages"));
    QSignalSpy shown(&window, &MainWindow::pageShown);
    const QRect itemRect = navigation->visualItemRect(navigation->item(3));
    QTest::mouseClick(navigation->viewport(), Qt::LeftButton, {}, itemRect.center());
    QCOMPARE(shownPage(pages), QStringLiteral("pageFinetune"));
    QCOMPARE(shown.count(), 1);
    QCOMPARE(shown.first().first().toInt(), 3);
    QTest::keyClick(navigation, Qt::Key_Down);
    QCOMPARE(shownPage(pages), QStringLiteral("pageChat"));
    // Ctrl+1 … Ctrl+6 go to the sections in the list's order, wherever the focus is.
    window.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&window));
    QTest::keyClick(&window, Qt::Key_1, Qt::ControlModifier);
    QCOMPARE(shownPage(pages), QStringLiteral("pageModels"));
    QTest::keyClick(&window, Qt::Key_6, Qt::ControlModifier);
    QCOMPARE(shownPage(pages), QStringLiteral("pageRuns"));
    QCOMPARE(navigation->currentRow(), 5);
  }

  // A long status (a failure message, a run followed in another process) wraps: the window keeps its width on a
  // laptop screen instead of growing past it and pushing Stop and Resume off-screen.
  void theWindowKeepsItsWidthWhileStatusTextsGrow() {
    MainWindow window;
    window.resize(1100, 700);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const QString longText = QStringLiteral("failed: ") + QString(QStringLiteral("a very long message naming a file and what to do ")).repeated(12);
    const auto labels = window.findChildren<QLabel*>();
    int changed = 0;
    for (QLabel* label : labels) {
      if (label->objectName() == QLatin1String("runStatus") || label->objectName() == QLatin1String("runSpeed") ||
          label->objectName() == QLatin1String("chatStatus")) {
        label->setText(longText);
        ++changed;
      }
    }
    QVERIFY(changed >= 3);
    auto* navigation = window.findChild<QListWidget*>(QStringLiteral("navigation"));
    for (int page = 0; page < navigation->count(); ++page) {
      navigation->setCurrentRow(page);
      QTest::qWait(20);
      QCOMPARE(window.width(), 1100);
    }
  }

  // At 1366×768, the common laptop screen, every page fits under the title bar with its bottom row (the chat's
  // message box, the dashboard's log, the status bar) in view, also with two-line statuses.
  void everyPageFitsALaptopScreen() {
    MainWindow window;
    window.resize(1366, 740);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    for (QLabel* label : window.findChildren<QLabel*>()) {
      if (label->objectName().startsWith(QLatin1String("chatModelStatus")) || label->objectName() == QLatin1String("runStatus")) {
        label->setText(QStringLiteral("Ready: /a/model + /an/adapter · template: Alpaca\nlast answer: 60 tokens in 1.2 s, 50.0 tokens/s"));
      }
    }
    auto* navigation = window.findChild<QListWidget*>(QStringLiteral("navigation"));
    for (int page = 0; page < navigation->count(); ++page) {
      navigation->setCurrentRow(page);
      QTest::qWait(20);
      QVERIFY2(window.minimumSizeHint().height() <= 740, qPrintable(navigation->item(page)->text()));
      QCOMPARE(window.height(), 740);
    }
    const auto bottomInView = [&](const char* page, const char* widget) {
      QWidget* found = window.findChild<QWidget*>(QLatin1String(page))->findChild<QWidget*>(QLatin1String(widget));
      return found->isVisible() && found->mapTo(&window, QPoint(0, found->height())).y() <= window.height();
    };
    navigation->setCurrentRow(static_cast<int>(MainWindow::pageNames().indexOf("Chat")));
    QVERIFY(bottomInView("pageChat", "chatInput"));
    navigation->setCurrentRow(static_cast<int>(MainWindow::pageNames().indexOf("Runs")));
    QVERIFY(bottomInView("pageRuns", "runLog"));
  }

  // Quitting while a run is going asks first and says what is kept; "Keep running" keeps the window open.
  void quittingDuringARunAsksFirst() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto* dashboard = window.findChild<lowbit::ui::RunDashboard*>();
    QVERIFY(dashboard != nullptr);
    dashboard->setState(lowbit::ui::RunDashboard::State::Running);
    QVERIFY(!window.close());
    QMessageBox* ask = nullptr;
    QTRY_VERIFY((ask = window.findChild<QMessageBox*>("confirmQuit")) != nullptr);
    QVERIFY2(ask->text().contains("checkpoint"), qPrintable(ask->text()));
    QTest::mouseClick(ask->findChild<QPushButton*>("confirmQuitNo"), Qt::LeftButton);
    QTRY_VERIFY(window.findChild<QMessageBox*>("confirmQuit") == nullptr);
    QVERIFY(window.isVisible());
    QVERIFY(!window.close());
    QTRY_VERIFY((ask = window.findChild<QMessageBox*>("confirmQuit")) != nullptr);
    QTest::mouseClick(ask->findChild<QPushButton*>("confirmQuitYes"), Qt::LeftButton);
    QTRY_VERIFY(!window.isVisible());
  }

  // After a restart the app opens on the Runs page when the last run was stopped (by Quit, say) and can be
  // resumed; after a finished run it opens on Models.
  void aRestartOpensOnTheRunThatWasGoing() {
    QSettings().clear();
    QTemporaryDir root;
    const QString run = root.filePath("lrec");
    QVERIFY(QDir().mkpath(run));
    auto write = [](const QString& path, const QByteArray& text) {
      QFile file(path);
      QVERIFY(file.open(QIODevice::WriteOnly));
      file.write(text);
    };
    write(run + "/metrics.jsonl", "{\"step\":1,\"train/kl\":2.0}\n{\"step\":2,\"train/kl\":1.5}\n");
    write(run + "/run_state.json", R"({"state": "stopped", "pid": 1, "message": "", "updated_unix_s": 1})");
    lowbit::ui::RunsPage::remember(run);
    {
      MainWindow window;
      QCOMPARE(shownPage(window.findChild<QStackedWidget*>("pages")), QStringLiteral("pageRuns"));
      QCOMPARE(window.findChild<QListWidget*>("navigation")->currentItem()->text(), QStringLiteral("Runs"));
    }
    write(run + "/run_state.json", R"({"state": "finished", "pid": 1, "message": "", "updated_unix_s": 1})");
    MainWindow window;
    QCOMPARE(shownPage(window.findChild<QStackedWidget*>("pages")), QStringLiteral("pageModels"));
    QSettings().clear();
  }

  void taskPagesOpenTheWizardWithTheirGoal() {
    MainWindow window;
    window.show();
    window.showPage(MainWindow::pageNames().indexOf("Fine-tune"));
    auto* page = window.findChild<QWidget*>(QStringLiteral("pageFinetune"));
    QTest::mouseClick(page->findChild<QPushButton*>(QStringLiteral("openWizard")), Qt::LeftButton);
    RunWizard* wizard = nullptr;
    QTRY_VERIFY((wizard = window.findChild<RunWizard*>(QStringLiteral("runWizard"))) != nullptr);
    QVERIFY(wizard->findChild<QRadioButton*>(QStringLiteral("goalFinetune"))->isChecked());
    wizard->close();
  }

  // A model card's actions lead somewhere: Chat opens the Chat page with the model filled in (and the Chat page's
  // library list holds the same models), Fine-tune opens the wizard on that model, Correct on a quantized model
  // opens the Correct page with it as the model to repair.
  void modelCardsLeadToChatTheWizardAndTheCorrectPage() {
    const std::filesystem::path stories = std::filesystem::path(LOWBIT_TESTDATA_DIR) / "models/stories260K-hf";
    if (!std::filesystem::exists(stories)) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir library;
    QDir(library.path()).mkpath(QStringLiteral("stories"));
    for (const char* file : {"config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json"}) {
      std::filesystem::copy_file(stories / file, library.filePath(QStringLiteral("stories/") + QLatin1String(file)).toStdString());
    }
    QVERIFY(lowbit::testing::quantizeStoriesInt4(stories, library.filePath(QStringLiteral("stories-int4")).toStdString()));
    QSettings().setValue(QStringLiteral("models/folders"), QStringList{library.path()});
    const QString full = library.filePath(QStringLiteral("stories"));
    const QString int4 = library.filePath(QStringLiteral("stories-int4"));

    MainWindow window;
    window.show();
    auto* models = window.findChild<lowbit::ui::ModelsPage*>();
    const auto cardOf = [&](const QString& folder) -> QWidget* {
      for (QWidget* card : models->findChildren<QWidget*>(QStringLiteral("modelCard"))) {
        if (card->findChild<QLabel*>(QStringLiteral("modelTitle"))->text().contains(folder)) return card;
      }
      return nullptr;
    };
    QTRY_VERIFY_WITH_TIMEOUT(cardOf(full) != nullptr && cardOf(int4) != nullptr, 60000);
    auto* chatLibrary = window.findChild<QComboBox*>(QStringLiteral("chatLibrary"));
    QTRY_COMPARE(chatLibrary->count(), 3);  // "Pick a model…", stories, stories-int4

    QTest::mouseClick(cardOf(full)->findChild<QPushButton*>(QStringLiteral("cardChat")), Qt::LeftButton);
    QCOMPARE(shownPage(window.findChild<QStackedWidget*>("pages")), QStringLiteral("pageChat"));
    QCOMPARE(window.findChild<QLineEdit*>(QStringLiteral("chatModel"))->text(), full);
    QCOMPARE(window.findChild<QLineEdit*>(QStringLiteral("chatAdapters"))->text(), QString());
    QCOMPARE(chatLibrary->currentText(), QStringLiteral("stories"));  // the library's entry for it is shown picked

    window.showPage(MainWindow::pageNames().indexOf("Models"));
    QTRY_VERIFY_WITH_TIMEOUT(cardOf(int4) != nullptr, 60000);  // the page scans again when shown
    QTest::mouseClick(cardOf(int4)->findChild<QPushButton*>(QStringLiteral("cardCorrect")), Qt::LeftButton);
    QCOMPARE(shownPage(window.findChild<QStackedWidget*>("pages")), QStringLiteral("pageCorrect"));
    QCOMPARE(window.findChild<QLineEdit*>(QStringLiteral("correctStudent"))->text(), int4);
    QVERIFY(!cardOf(int4)->findChild<QPushButton*>(QStringLiteral("cardQuantize"))->isEnabled());

    window.showPage(MainWindow::pageNames().indexOf("Models"));
    QTRY_VERIFY_WITH_TIMEOUT(cardOf(full) != nullptr, 60000);
    QTest::mouseClick(cardOf(full)->findChild<QPushButton*>(QStringLiteral("cardFineTune")), Qt::LeftButton);
    RunWizard* wizard = nullptr;
    QTRY_VERIFY((wizard = window.findChild<RunWizard*>(QStringLiteral("runWizard"))) != nullptr);
    QVERIFY(wizard->findChild<QRadioButton*>(QStringLiteral("goalFinetune"))->isChecked());
    QCOMPARE(wizard->field(QStringLiteral("model")).toString(), full);
    wizard->close();

    // A finished run's "Chat with the result" (on the Runs and Correct pages' dashboards) opens the Chat page too.
    for (const char* page : {"pageRuns", "pageCorrect"}) {
      window.showPage(MainWindow::pageNames().indexOf("Models"));
      auto* dashboard = window.findChild<QWidget*>(QLatin1String(page))->findChild<lowbit::ui::RunDashboard*>();
      QVERIFY(dashboard != nullptr);
      Q_EMIT dashboard->chatRequested(int4, {full + QStringLiteral("/adapter")});
      QCOMPARE(shownPage(window.findChild<QStackedWidget*>("pages")), QStringLiteral("pageChat"));
      QCOMPARE(window.findChild<QLineEdit*>(QStringLiteral("chatModel"))->text(), int4);
      QCOMPARE(window.findChild<QLineEdit*>(QStringLiteral("chatAdapters"))->text(), full + QStringLiteral("/adapter"));
    }
  }

  void theFirstStartExplainsWhatThisComputerLacksUntilDismissed() {
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_main_window"));
    QSettings().clear();
    QStringList notices;
    {
      MainWindow window;
      window.show();
      QSignalSpy checked(&window, &MainWindow::systemChecked);
      window.checkSystemAtStart();
      QTRY_COMPARE_WITH_TIMEOUT(checked.count(), 1, 30000);
      notices = checked.first().first().toStringList();
      if (notices.isEmpty()) {
        QVERIFY(window.findChild<QDialog*>(QStringLiteral("firstStartNotice")) == nullptr);
        QSKIP("this computer has a usable NVIDIA GPU: nothing to explain");
      }
      QDialog* notice = nullptr;
      QTRY_VERIFY((notice = window.findChild<QDialog*>(QStringLiteral("firstStartNotice"))) != nullptr);
      QTRY_VERIFY(notice->isVisible());
      const QString text = notice->findChild<QLabel*>(QStringLiteral("firstStartText"))->text();
      QVERIFY2(text.contains(notices.first().left(20).toHtmlEscaped().mid(1)), qPrintable(text));
      QVERIFY2(text.contains("on the CPU"), qPrintable(text));
      QTest::keyClick(notice, Qt::Key_Return);  // closed once: not shown at the next start
      QTRY_VERIFY(window.findChild<QDialog*>(QStringLiteral("firstStartNotice")) == nullptr);
    }
    QVERIFY(!FirstStartNotice::shouldShow(notices));
    QVERIFY(FirstStartNotice::shouldShow(notices + QStringList{"the driver changed"}));
    MainWindow again;  // the next start: the same notices stay dismissed
    again.show();
    QSignalSpy checked(&again, &MainWindow::systemChecked);
    again.checkSystemAtStart();
    QTRY_COMPARE_WITH_TIMEOUT(checked.count(), 1, 30000);
    QTest::qWait(50);
    QVERIFY(again.findChild<QDialog*>(QStringLiteral("firstStartNotice")) == nullptr);
    QVERIFY(!FirstStartNotice::shouldShow(QStringList{}));
    // Free memory differs at every start; it is not a change that brings the notice back.
    {
      FirstStartNotice memory(QStringList{"the GPU has 1.2 GiB free: close programs that use it"});
      memory.accept();
    }
    QVERIFY(!FirstStartNotice::shouldShow(QStringList{"the GPU has 0.9 GiB free: close programs that use it"}));
  }

  void systemInformationShowsTheSameFactsAsTheCli() {
    MainWindow window;
    window.show();
    auto* action = window.findChild<QAction*>(QStringLiteral("actionSystemInformation"));
    QVERIFY(action != nullptr);
    action->trigger();
    auto* dialog = window.findChild<AboutDialog*>(QStringLiteral("aboutDialog"));
    QVERIFY(dialog != nullptr);
    QTRY_VERIFY(dialog->isVisible());
    auto* tabs = dialog->findChild<QTabWidget*>(QStringLiteral("aboutTabs"));
    QCOMPARE(tabs->tabText(tabs->currentIndex()), QStringLiteral("System"));
    QTRY_VERIFY_WITH_TIMEOUT(dialog->systemReport().contains(QStringLiteral("LibTorch: 2.11.0")), 30000);
    const QString report = dialog->systemReport();
    QVERIFY2(report.contains(QStringLiteral("NVIDIA driver: ")), qPrintable(report));
    QVERIFY2(report.contains(QStringLiteral("GPU")), qPrintable(report));
    QVERIFY2(report.contains(QStringLiteral("LowBit CUDA kernels: ")), qPrintable(report));
  }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
