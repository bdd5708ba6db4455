// The Runs page: runs are remembered across restarts with their state read from the folder, the most recent one
// is shown again when the app starts (re-attached), a folder that is not a run is explained in a dialog, and a
// New run pipeline stopped live or found stopped after a restart resumes from the dashboard to its end.
#include <QFile>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <QMenu>
#include <QPushButton>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "tests/support/tiny_pipeline.h"
#include "ui/jobs/JobRunner.h"
#include "ui/runs/RunDashboard.h"
#include "ui/runs/RunsPage.h"

using lowbit::ui::RunDashboard;
using lowbit::ui::RunsPage;

namespace {

void writeRun(const QString& dir, const QByteArray& state, int steps) {
  QVERIFY(QDir().mkpath(dir));
  QFile metrics(dir + "/metrics.jsonl");
  QVERIFY(metrics.open(QIODevice::WriteOnly));
  for (int step = 1; step <= steps; ++step) {
    metrics.write(QStringLiteral("{\"kl\":%1,\"ce\":2.0,\"total\":3.0,\"step\":%2}\n").arg(10.0 / step).arg(step).toUtf8());
  }
  QFile status(dir + "/run_state.json");
  QVERIFY(status.open(QIODevice::WriteOnly));
  status.write(state);
}

}  // namespace

class TestRunsPage : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_runs_page"));
  }
  void init() { QSettings().clear(); }

  void aRestartShowsTheRunsAgainWithTheirStates() {
    QTemporaryDir root;
    QProcess gone;
    gone.start(QStringLiteral("true"), QStringList{});
    QVERIFY(gone.waitForFinished());
    const QString finished = root.filePath("lrec-int4"), crashed = root.filePath("lrec-int2"), stopped = root.filePath("emef");
    writeRun(finished, R"({"state": "finished", "pid": 1})", 30);
    writeRun(crashed, QStringLiteral(R"({"state": "running", "pid": %1})").arg(gone.processId()).toUtf8(), 12);
    writeRun(stopped, R"({"state": "stopped", "pid": 1})", 7);
    {
      RunsPage before;
      QVERIFY(before.open(finished));
      QVERIFY(before.open(stopped));
      QVERIFY(before.open(crashed));  // the last one looked at
    }

    RunsPage page;  // the app started again
    page.show();
    auto* list = page.findChild<QListWidget*>("runsList");
    QCOMPARE(list->count(), 3);
    QCOMPARE(list->item(0)->text(), QStringLiteral("lrec-int2 — crashed"));
    QCOMPARE(list->item(1)->text(), QStringLiteral("emef — stopped"));
    QCOMPARE(list->item(2)->text(), QStringLiteral("lrec-int4 — finished"));
    // Re-attached to the most recent run without a click: its curves and that it crashed.
    QCOMPARE(page.dashboard()->runDirectory(), crashed);
    QCOMPARE(page.dashboard()->seriesValues("train/kl").size(), 12);
    QCOMPARE(page.dashboard()->state(), RunDashboard::State::Failed);
    QVERIFY(page.dashboard()->statusText().contains("ended without a word"));

    QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, list->visualItemRect(list->item(2)).center());
    QCOMPARE(page.dashboard()->runDirectory(), finished);
    QCOMPARE(page.dashboard()->state(), RunDashboard::State::Finished);
    QCOMPARE(page.dashboard()->seriesValues("train/kl").size(), 30);
    QCOMPARE(RunsPage::recentRuns().front(), finished);
  }

  void aFolderThatIsNotARunIsExplainedInADialog() {
    QTemporaryDir root;
    RunsPage page;
    page.show();
    auto* field = page.findChild<QLineEdit*>("runsDir");
    QTest::keyClicks(field, root.path());
    QTest::keyClick(field, Qt::Key_Return);
    QMessageBox* dialog = nullptr;
    QTRY_VERIFY((dialog = page.findChild<QMessageBox*>("errorDialog")) != nullptr);
    QVERIFY2(dialog->text().contains("has no metrics.jsonl"), qPrintable(dialog->text()));
    QVERIFY(dialog->text().contains(root.path()));
    QVERIFY(RunsPage::recentRuns().isEmpty());  // nothing remembered for a folder that is not a run
  }

  // The wizard's pipeline stopped in each of its three steps, then resumed as a user would: live, with Stop & save
  // and Resume on the dashboard; or after a restart, from the one entry the Runs page lists for the pipeline. It runs
  // to its end and fine-tunes on top of the correction adapter; a step resumed from a checkpoint shows its curves
  // from step 1, not only the steps after the checkpoint.
  void aStoppedPipelineResumesToItsEnd_data() {
    QTest::addColumn<QString>("step");
    QTest::addColumn<QString>("phase");
    QTest::addColumn<int>("done");
    QTest::addColumn<bool>("afterRestart");
    for (const bool afterRestart : {false, true}) {
      const char* how = afterRestart ? "after a restart, from the Runs page" : "live, from the dashboard";
      QTest::addRow("quantize, %s", how) << "Quantize" << "layers" << 2 << afterRestart;
      QTest::addRow("correct, %s", how) << "Correct (LREC)" << "steps" << 3 << afterRestart;
      QTest::addRow("fine-tune, %s", how) << "Fine-tune (EMEF)" << "steps" << 3 << afterRestart;
    }
  }

  void aStoppedPipelineResumesToItsEnd() {
    namespace fs = std::filesystem;
    QFETCH(QString, step);
    QFETCH(QString, phase);
    QFETCH(int, done);
    QFETCH(bool, afterRestart);
    if (!fs::exists(lowbit::testing::testdata_path(lowbit::testing::kPipelineModel))) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir root;
    const QString out = root.filePath("pipeline");
    const auto plan = lowbit::testing::tiny_pipeline(out.toStdString());
    std::unique_ptr<RunsPage> page;
    lowbit::ui::JobRunner runner;
    if (afterRestart) {
      lowbit::jobs::CancelToken cancel;
      lowbit::testing::StopInStep stopper(cancel, step.toStdString(), phase.toStdString(), done);
      QVERIFY_EXCEPTION_THROWN(lowbit::train::RunPlanJob(plan).run(stopper, cancel), lowbit::Cancelled);
      RunsPage::remember(out);
      page = std::make_unique<RunsPage>();  // the app started again
      page->show();
      auto* list = page->findChild<QListWidget*>("runsList");
      QCOMPARE(list->count(), 1);
      QCOMPARE(list->item(0)->text(), QStringLiteral("pipeline — stopped"));
    } else {
      page = std::make_unique<RunsPage>();
      page->show();
      RunsPage::remember(out);
      page->showLive(&runner, out);
      // Stop & save is clicked when the step reports `done`. The job is held there first (on its own thread, at
      // that event), so that the click lands in that step and not in a later one on a fast machine.
      QString current;
      std::atomic<bool> stopped{false};
      connect(&runner, &lowbit::ui::JobRunner::artifactProduced, this, [&](const lowbit::jobs::Artifact& artifact) {
        if (artifact.kind == "pipeline_step") current = QString::fromStdString(artifact.path);
      }, Qt::DirectConnection);
      auto* stop = page->dashboard()->findChild<QPushButton*>("stopAndSave");
      connect(&runner, &lowbit::ui::JobRunner::progressed, this, [&](const lowbit::jobs::Progress& progress) {
        if (!stopped && current == step && progress.phase == phase.toStdString() && progress.done >= done) {
          stopped = true;
          runner.setPaused(true);
          QMetaObject::invokeMethod(stop, [stop] { QTest::mouseClick(stop, Qt::LeftButton); }, Qt::QueuedConnection);
        }
      }, Qt::DirectConnection);
      QVERIFY(runner.start(std::make_shared<lowbit::train::RunPlanJob>(plan)));
      QTRY_COMPARE_WITH_TIMEOUT(page->dashboard()->state(), RunDashboard::State::Cancelled, 300000);
      QVERIFY(stopped);
      disconnect(&runner, nullptr, this, nullptr);
    }
    RunDashboard* dashboard = page->dashboard();
    QCOMPARE(dashboard->state(), RunDashboard::State::Cancelled);
    QVERIFY(!fs::exists(plan.finetune->run_dir / "adapter"));
    auto* chatWithResult = dashboard->findChild<QPushButton*>("chatWithResult");
    QVERIFY(!chatWithResult->isVisible());  // a stopped run has made nothing to chat with yet
    // The first step that goes on from a checkpoint shows the steps it kept as soon as its first live step comes.
    const bool fromCheckpoint = step != QLatin1String("Quantize");
    int pointsAtFirstLiveStep = -1;
    connect(page->findChild<lowbit::ui::JobRunner*>(), &lowbit::ui::JobRunner::progressed, this,
            [&](const lowbit::jobs::Progress& progress) {
              if (pointsAtFirstLiveStep < 0 && progress.phase == "steps" && progress.done > 0) {
                pointsAtFirstLiveStep = static_cast<int>(dashboard->seriesValues("train/total").size());
              }
            });
    QTest::mouseClick(dashboard->findChild<QPushButton*>("resumeRun"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(page->findChild<QListWidget*>("runsList")->item(0)->text().endsWith(QStringLiteral("running")), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(dashboard->state(), RunDashboard::State::Finished, 300000);
    QVERIFY(fs::exists(plan.finetune->run_dir / "adapter" / "adapter_model.safetensors"));
    QVERIFY(fs::exists(plan.correct->run_dir / "adapter" / "adapter_model.safetensors"));
    std::ifstream config(plan.finetune->run_dir / "config.json");
    const auto emef = nlohmann::json::parse(config);
    QCOMPARE(QString::fromStdString(emef["base_adapters"][0].get<std::string>()),
             QString::fromStdString((plan.correct->run_dir / "adapter").string()));
    QCOMPARE(page->findChild<QListWidget*>("runsList")->item(0)->text(), QStringLiteral("pipeline — finished"));
    if (fromCheckpoint) {
      // Stopped after step 3, it saved a checkpoint there: steps 1 to 3 stay on the curve when step 4 comes in
      // (the dashboard used to start its curves afresh, with step 4 alone).
      QVERIFY2(pointsAtFirstLiveStep >= 3, qPrintable(QString::number(pointsAtFirstLiveStep)));
    }
    // The fine-tune curves of the whole run: steps 0 (evaluation) to 4.
    QCOMPARE(dashboard->seriesValues("train/total").size(), 4);
    // Finished, it leads on to chatting with what it made: the quantized model, the correction, the fine-tune.
    QVERIFY(chatWithResult->isVisible());
    QSignalSpy chat(dashboard, &RunDashboard::chatRequested);
    QTest::mouseClick(chatWithResult, Qt::LeftButton);
    QCOMPARE(chat.count(), 1);
    QCOMPARE(chat.at(0).at(0).toString(), QString::fromStdString(plan.quantize->out_dir.string()));
    QCOMPARE(chat.at(0).at(1).toStringList(), (QStringList{QString::fromStdString((plan.correct->run_dir / "adapter").string()),
                                                           QString::fromStdString((plan.finetune->run_dir / "adapter").string())}));
    // And to exporting it: the same stack, in each of the three formats.
    auto* exportResult = dashboard->findChild<QPushButton*>("exportResult");
    QVERIFY(exportResult->isVisible());
    auto* exportMenu = dashboard->findChild<QMenu*>("exportResultMenu");
    QCOMPARE(exportMenu->actions().size(), 3);
    QSignalSpy exportRequests(dashboard, &RunDashboard::exportRequested);
    exportMenu->actions()[1]->trigger();
    QCOMPARE(exportRequests.count(), 1);
    const auto result = exportRequests.at(0).at(0).value<lowbit::ui::ChatChoice>();
    QCOMPARE(result.model, QString::fromStdString(plan.quantize->out_dir.string()));
    QCOMPARE(result.adapters, chat.at(0).at(1).toStringList());
    QCOMPARE(exportRequests.at(0).at(1).value<lowbit::ui::ExportFormat>(), lowbit::ui::ExportFormat::GgufQ8_0);
  }
};

QTEST_MAIN(TestRunsPage)
#include "test_runs_page.moc"
