// The Runs page: runs are remembered across restarts with their state read from the folder, the most recent one
// is shown again when the app starts (re-attached), a folder that is not a run is explained in a dialog, and a
// New run pipeline stopped live or found stopped after a restart resumes from the dashboard to its end.
#include <QFile>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

#include <QPushButton>

#include <filesystem>
#include <memory>

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

  // The wizard's pipeline running live on the Runs page: Stop & save during the correction step, then Resume on
  // the dashboard: the pipeline goes on from the checkpoint and fine-tunes on top of the correction adapter.
  void aPipelineStoppedLiveResumesFromTheDashboardToItsEnd() {
    namespace fs = std::filesystem;
    if (!fs::exists(lowbit::testing::testdata_path(lowbit::testing::kPipelineModel))) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir root;
    const QString out = root.filePath("pipeline");
    RunsPage page;
    page.show();
    lowbit::ui::JobRunner runner;
    RunsPage::remember(out);
    page.showLive(&runner, out);
    auto* dashboard = page.findChild<RunDashboard*>();
    auto* stop = dashboard->findChild<QPushButton*>("stopAndSave");
    QString step;
    bool stopped = false;
    connect(&runner, &lowbit::ui::JobRunner::artifactProduced, this, [&](const lowbit::jobs::Artifact& artifact) {
      if (artifact.kind == "pipeline_step") step = QString::fromStdString(artifact.path);
    });
    connect(&runner, &lowbit::ui::JobRunner::progressed, this, [&](const lowbit::jobs::Progress& progress) {
      if (!stopped && step == QStringLiteral("Correct (LREC)") && progress.phase == "steps" && progress.done >= 2) {
        stopped = true;
        QTest::mouseClick(stop, Qt::LeftButton);
      }
    });
    QVERIFY(runner.start(std::make_shared<lowbit::train::RunPlanJob>(lowbit::testing::tiny_pipeline(out.toStdString()))));
    QTRY_COMPARE_WITH_TIMEOUT(dashboard->state(), RunDashboard::State::Cancelled, 120000);
    QVERIFY(stopped);
    QVERIFY(!fs::exists(fs::path(out.toStdString()) / "emef"));
    auto* resume = dashboard->findChild<QPushButton*>("resumeRun");
    QVERIFY(resume->isEnabled());
    QTest::mouseClick(resume, Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(dashboard->state(), RunDashboard::State::Finished, 120000);
    QVERIFY(fs::exists(fs::path(out.toStdString()) / "emef" / "adapter" / "adapter_model.safetensors"));
    QVERIFY2(page.findChild<QListWidget*>("runsList")->item(0)->text().endsWith(QStringLiteral("finished")),
             qPrintable(page.findChild<QListWidget*>("runsList")->item(0)->text()));
  }

  // A pipeline stopped in its fine-tuning step, found after a restart: one entry for the whole pipeline, shown
  // stopped with the fine-tune curves; Resume runs it to its end.
  void aStoppedPipelineFoundAfterARestartResumesToItsEnd() {
    namespace fs = std::filesystem;
    if (!fs::exists(lowbit::testing::testdata_path(lowbit::testing::kPipelineModel))) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir root;
    const QString out = root.filePath("pipeline");
    {
      lowbit::jobs::CancelToken cancel;
      lowbit::testing::StopInStep stopper(cancel, "Fine-tune (EMEF)", "steps", 1);
      QVERIFY_EXCEPTION_THROWN(lowbit::train::RunPlanJob(lowbit::testing::tiny_pipeline(out.toStdString())).run(stopper, cancel),
                               lowbit::Cancelled);
    }
    RunsPage::remember(out);
    RunsPage page;  // the app started again
    page.show();
    auto* list = page.findChild<QListWidget*>("runsList");
    QCOMPARE(list->count(), 1);
    QCOMPARE(list->item(0)->text(), QStringLiteral("pipeline — stopped"));
    auto* dashboard = page.findChild<RunDashboard*>();
    QCOMPARE(dashboard->state(), RunDashboard::State::Cancelled);
    QVERIFY(!dashboard->seriesValues(QStringLiteral("train/ce")).isEmpty());  // the fine-tune step's curve
    QTest::mouseClick(dashboard->findChild<QPushButton*>("resumeRun"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(dashboard->state(), RunDashboard::State::Finished, 120000);
    QVERIFY(fs::exists(fs::path(out.toStdString()) / "emef" / "adapter" / "adapter_model.safetensors"));
    QCOMPARE(list->item(0)->text(), QStringLiteral("pipeline — finished"));
  }
};

QTEST_MAIN(TestRunsPage)
#include "test_runs_page.moc"
