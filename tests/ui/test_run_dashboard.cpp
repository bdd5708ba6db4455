// The run dashboard driven by a fake training job (no model): live curves, throttled redraws, smoothing, log
// scale, Stop & save, and a run directory re-attached from metrics.jsonl (as earlier versions wrote it, and as a
// real LREC run writes it).
#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QMessageBox>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QVBoxLayout>
#include <QtTest>
#include "ui/util/QCustomPlot.h"

#include <atomic>
#include <cmath>
#include <thread>

#include <filesystem>

#include "core/quant/quantize_job.h"
#include "core/train/lrec_job.h"
#include "core/train/metric_names.h"
#include "core/train/metrics_log.h"
#include "core/util/format.h"
#include "ui/jobs/JobRunner.h"
#include "ui/runs/RunDashboard.h"

using lowbit::ui::JobRunner;
using lowbit::ui::RunDashboard;
namespace jobs = lowbit::jobs;

namespace {

// Reports what the trainer reports, for `steps` steps (or until stopped when steps = 0), and remembers whether
// it was asked to save when it stopped.
class FakeTrainingJob : public jobs::Job {
 public:
  explicit FakeTrainingJob(int64_t steps) : m_steps(steps) {}
  std::string title() const override { return "Fake training"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    for (int64_t step = 1; m_steps == 0 || step <= m_steps; ++step) {
      if (cancel.is_requested()) savedOnStop = cancel.save_on_stop();
      cancel.throw_if_cancelled();  // waits here while paused
      events.metric({"ram/used_bytes", step, 512.0 * 1024 * 1024});
      events.metric({"ram/total_bytes", step, 2048.0 * 1024 * 1024});
      events.metric({"train/kl", step, 10.0 / static_cast<double>(step)});
      events.metric({"train/ce", step, 2.0 + 1.0 / static_cast<double>(step)});
      events.metric({"train/total", step, 30.0 / static_cast<double>(step)});
      events.metric({"train/lr", step, 1e-3});
      events.metric({"train/grad_norm", step, 0.5});
      events.metric({"train/tokens_per_s", step, 1234.0});
      if (step % 10 == 0) events.metric({"val/ppl", step, 100.0 / static_cast<double>(step)});
      events.progress({"steps", step, m_steps, m_steps == 0 ? -1.0 : static_cast<double>(m_steps - step)});
      if (step % 25 == 0) events.log({jobs::LogLevel::Info, "step " + std::to_string(step)});
      if (m_steps == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

 public:
  std::atomic<bool> savedOnStop{false};

 private:
  int64_t m_steps;
};

void writeFile(const QString& path, const QByteArray& text, QIODevice::OpenMode mode = QIODevice::WriteOnly) {
  QFile file(path);
  QVERIFY(file.open(mode));
  file.write(text);
}

QByteArray metricLines(int from, int to) {
  QByteArray lines;
  for (int step = from; step <= to; ++step) {
    lines += QStringLiteral("{\"ce\":%1,\"grad_norm\":1.0,\"kl\":%2,\"lr\":0.001,\"step\":%3,\"total\":%4,"
                            "\"vram_peak\":0}\n").arg(3.0 - step * 0.01).arg(9.0 - step * 0.1).arg(step).arg(40.0 - step).toUtf8();
  }
  return lines;
}

QByteArray runState(const char* state, qint64 pid) {
  return QStringLiteral("{\"state\": \"%1\", \"pid\": %2, \"message\": \"\", \"updated_unix_s\": 1}\n")
      .arg(QLatin1String(state)).arg(pid).toUtf8();
}

}  // namespace

class TestRunDashboard : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void plotsALiveRunWithThrottledRedraws() {
    RunDashboard dashboard;
    dashboard.show();
    JobRunner runner;
    dashboard.attach(&runner);
    QCOMPARE(dashboard.state(), RunDashboard::State::Running);
    QVERIFY(runner.start(std::make_shared<FakeTrainingJob>(200)));
    QTRY_COMPARE(dashboard.state(), RunDashboard::State::Finished);
    QCOMPARE(dashboard.seriesValues("train/kl").size(), 200);
    QCOMPARE(dashboard.seriesValues("val/ppl").size(), 20);
    QCOMPARE(dashboard.seriesValues("train/kl").front(), 10.0);
    // Exponential moving average: s₁ = v₁, sₙ = 0.9 sₙ₋₁ + 0.1 vₙ.
    const QVector<double> raw = dashboard.seriesValues("train/kl");
    const QVector<double> smooth = dashboard.seriesValues("train/kl (smoothed)");
    double expected = raw[0];
    for (int i = 1; i < 5; ++i) expected = 0.9 * expected + 0.1 * raw[i];
    QVERIFY(std::abs(smooth[4] - expected) < 1e-12);
    QTRY_VERIFY(dashboard.replotCount() >= 1);
    QVERIFY2(dashboard.replotCount() < 200, "one redraw per metric would be 1200; they are throttled");
    auto* lossPlot = dashboard.findChild<QCustomPlot*>("lossPlot");
    QVERIFY(lossPlot != nullptr);
    QTRY_COMPARE(lossPlot->graphCount(), 6);  // KL, CE, total: raw + smoothed
    QCOMPARE(lossPlot->graph(0)->data()->size(), 200);
    auto* progress = dashboard.findChild<QProgressBar*>("runProgress");
    QCOMPARE(progress->value(), 200);
    QCOMPARE(progress->maximum(), 200);
    QVERIFY(dashboard.findChild<QLabel*>("runSpeed")->text().contains("1234 tokens/s"));
    QVERIFY(dashboard.findChild<QPlainTextEdit*>("runLog")->toPlainText().contains("step 200"));
  }

  void logScaleTogglesEveryPlot() {
    RunDashboard dashboard;
    dashboard.show();
    for (int64_t step = 1; step <= 10; ++step) dashboard.addMetric({"train/kl", step, std::pow(10.0, -static_cast<double>(step))});
    auto* toggle = dashboard.findChild<QCheckBox*>("logScale");
    QTest::mouseClick(toggle, Qt::LeftButton);
    QVERIFY(toggle->isChecked());
    for (const char* name : {"lossPlot", "validationPlot", "optimizerPlot"}) {
      QCOMPARE(dashboard.findChild<QCustomPlot*>(name)->yAxis->scaleType(), QCPAxis::stLogarithmic);
    }
    QTRY_VERIFY(dashboard.findChild<QCustomPlot*>("lossPlot")->yAxis->range().lower > 0);
  }

  void stopAndSaveStopsTheJobAndOffersResume() {
    RunDashboard dashboard;
    dashboard.show();
    JobRunner runner;
    dashboard.attach(&runner);
    QSignalSpy resume(&dashboard, &RunDashboard::resumeRequested);
    QVERIFY(runner.start(std::make_shared<FakeTrainingJob>(0)));
    QTRY_VERIFY(dashboard.seriesValues("train/kl").size() > 5);
    auto* stop = dashboard.findChild<QPushButton*>("stopAndSave");
    auto* resumeButton = dashboard.findChild<QPushButton*>("resumeRun");
    QVERIFY(stop->isEnabled());
    QVERIFY(!resumeButton->isEnabled());
    QTest::mouseClick(stop, Qt::LeftButton);
    QTRY_COMPARE(dashboard.state(), RunDashboard::State::Cancelled);
    QVERIFY(!runner.isRunning());
    QVERIFY(!stop->isEnabled());
    QVERIFY(resumeButton->isEnabled());
    QTest::mouseClick(resumeButton, Qt::LeftButton);
    QCOMPARE(resume.count(), 1);
  }

  // Stop & save and Resume from the keyboard (Ctrl+S, Ctrl+R), as the buttons' tooltips say.
  void stopAndResumeFromTheKeyboard() {
    RunDashboard dashboard;
    dashboard.show();
    QApplication::setActiveWindow(&dashboard);
    QVERIFY(QTest::qWaitForWindowActive(&dashboard));
    JobRunner runner;
    dashboard.attach(&runner);
    QSignalSpy resume(&dashboard, &RunDashboard::resumeRequested);
    QVERIFY(runner.start(std::make_shared<FakeTrainingJob>(0)));
    QTRY_VERIFY(dashboard.seriesValues("train/kl").size() > 5);
    QTest::keyClick(&dashboard, Qt::Key_S, Qt::ControlModifier);
    QTRY_COMPARE(dashboard.state(), RunDashboard::State::Cancelled);
    QTest::keyClick(&dashboard, Qt::Key_R, Qt::ControlModifier);
    QTRY_COMPARE(resume.count(), 1);  // a shortcut clicks the button as a mouse would (animated, ~100 ms)
  }

  void pauseHoldsTheJobContinueGoesOnAndCancelAsksNotToSave() {
    RunDashboard dashboard;
    dashboard.show();
    JobRunner runner;
    dashboard.attach(&runner);
    auto job = std::make_shared<FakeTrainingJob>(0);
    QVERIFY(runner.start(job));
    QTRY_VERIFY(dashboard.seriesValues("train/kl").size() > 5);
    auto* pause = dashboard.findChild<QPushButton*>("pauseRun");
    QVERIFY(pause->isEnabled());
    QTest::mouseClick(pause, Qt::LeftButton);
    QCOMPARE(dashboard.state(), RunDashboard::State::Paused);
    QCOMPARE(pause->text(), QStringLiteral("Continue"));
    QVERIFY(runner.isPaused());
    QTest::qWait(100);  // the step in flight lands
    const int held = dashboard.seriesValues("train/kl").size();
    QTest::qWait(300);
    QCOMPARE(dashboard.seriesValues("train/kl").size(), held);
    QVERIFY(dashboard.statusText().startsWith("Paused"));
    QTest::mouseClick(pause, Qt::LeftButton);
    QCOMPARE(dashboard.state(), RunDashboard::State::Running);
    QTRY_VERIFY(dashboard.seriesValues("train/kl").size() > held + 5);
    // Cancel asks first and says what is kept; "Keep running" leaves the run going.
    QTest::mouseClick(dashboard.findChild<QPushButton*>("cancelRun"), Qt::LeftButton);
    QMessageBox* ask = nullptr;
    QTRY_VERIFY((ask = dashboard.findChild<QMessageBox*>("confirmCancel")) != nullptr);
    QVERIFY2(ask->text().contains("no checkpoint yet"), qPrintable(ask->text()));  // this folder has none
    QTest::mouseClick(ask->findChild<QPushButton*>("confirmCancelNo"), Qt::LeftButton);
    QTest::qWait(200);
    QCOMPARE(dashboard.state(), RunDashboard::State::Running);
    QTest::mouseClick(dashboard.findChild<QPushButton*>("cancelRun"), Qt::LeftButton);
    QTRY_VERIFY((ask = dashboard.findChild<QMessageBox*>("confirmCancel")) != nullptr);
    QTest::mouseClick(ask->findChild<QPushButton*>("confirmCancelYes"), Qt::LeftButton);
    QTRY_COMPARE(dashboard.state(), RunDashboard::State::Cancelled);
    QVERIFY2(!job->savedOnStop, "Cancel stops without saving a checkpoint");
    QVERIFY(!pause->isEnabled());
  }

  // With checkpoints in the run folder, Cancel's question names the one kept and the steps lost after it.
  void cancelSaysWhichCheckpointIsKeptAndWhatIsLost() {
    QTemporaryDir dir;
    QVERIFY(QDir().mkpath(dir.filePath("checkpoints/step-000003")));
    writeFile(dir.filePath("checkpoints/step-000003/trainer_state.json"), "{\"step\": 3}\n");
    QVERIFY(QDir().mkpath(dir.filePath("checkpoints/step-000006.partial")));  // being written: not a checkpoint
    RunDashboard dashboard;
    dashboard.show();
    JobRunner runner;
    dashboard.attach(&runner, dir.path());
    auto job = std::make_shared<FakeTrainingJob>(0);
    QVERIFY(runner.start(job));
    QTRY_VERIFY(dashboard.seriesValues("train/kl").size() > 8);
    QTest::mouseClick(dashboard.findChild<QPushButton*>("pauseRun"), Qt::LeftButton);
    QTest::qWait(100);
    QTest::mouseClick(dashboard.findChild<QPushButton*>("cancelRun"), Qt::LeftButton);
    QMessageBox* ask = nullptr;
    QTRY_VERIFY((ask = dashboard.findChild<QMessageBox*>("confirmCancel")) != nullptr);
    const int reached = dashboard.seriesValues("train/kl").size();
    QVERIFY2(ask->text().contains(QStringLiteral("last checkpoint, at step 3: the %1 steps after it are lost").arg(reached - 3)),
             qPrintable(ask->text()));
    QTest::mouseClick(ask->findChild<QPushButton*>("confirmCancelYes"), Qt::LeftButton);
    QTRY_COMPARE(dashboard.state(), RunDashboard::State::Cancelled);
  }

  void stopAndSaveAsksToSave() {
    RunDashboard dashboard;
    JobRunner runner;
    dashboard.attach(&runner);
    auto job = std::make_shared<FakeTrainingJob>(0);
    QVERIFY(runner.start(job));
    QTRY_VERIFY(dashboard.seriesValues("train/kl").size() > 2);
    QTest::mouseClick(dashboard.findChild<QPushButton*>("stopAndSave"), Qt::LeftButton);
    QTRY_COMPARE(dashboard.state(), RunDashboard::State::Cancelled);
    QVERIFY(job->savedOnStop);
  }

  void showsMemoryAndOpensTheRunFolder() {
    QTemporaryDir dir;
    RunDashboard dashboard;
    dashboard.show();
    QStringList opened;
    dashboard.setFolderOpener([&](const QString& folder) { opened << folder; });
    JobRunner runner;
    dashboard.attach(&runner, dir.path());
    QVERIFY(runner.start(std::make_shared<FakeTrainingJob>(20)));
    QTRY_COMPARE(dashboard.state(), RunDashboard::State::Finished);
    QCOMPARE(dashboard.memoryText(), QStringLiteral("RAM 512.0 MiB / 2.0 GiB"));
    QCOMPARE(dashboard.findChild<QProgressBar*>("memoryGauge")->value(), 250);
    auto* open = dashboard.findChild<QPushButton*>("openRunFolder");
    QVERIFY(open->isEnabled());
    QTest::mouseClick(open, Qt::LeftButton);
    QCOMPARE(opened, QStringList{dir.path()});
  }

  void followsARunGoingOnInAnotherProcessUntilItEnds() {
    QTemporaryDir dir;
    QProcess other;  // stands for `lowbit correct` running in a terminal
    other.start(QStringLiteral("sleep"), {QStringLiteral("60")});
    QVERIFY(other.waitForStarted());
    writeFile(dir.filePath("config.json"), "{\"kind\": \"lrec\", \"steps\": 40}");
    writeFile(dir.filePath("run_state.json"), runState("running", other.processId()));
    writeFile(dir.filePath("metrics.jsonl"), metricLines(1, 10) + "{\"ce\": 2.9, \"kl");  // a line being written

    RunDashboard dashboard;
    dashboard.show();
    QString error;
    QVERIFY2(dashboard.loadRunDirectory(dir.path(), &error), qPrintable(error));
    QCOMPARE(dashboard.state(), RunDashboard::State::Running);
    QVERIFY(dashboard.isFollowing());
    QVERIFY(dashboard.statusText().contains("another process"));
    QCOMPARE(dashboard.seriesValues("train/kl").size(), 10);
    QVERIFY(!dashboard.findChild<QPushButton*>("stopAndSave")->isEnabled());  // not this app's job to stop

    // The other process finishes the half-written line and goes on.
    writeFile(dir.filePath("metrics.jsonl"), "\": 8.0, \"step\": 11, \"total\": 29}\n" + metricLines(12, 25), QIODevice::Append);
    QTRY_COMPARE(dashboard.seriesValues("train/kl").size(), 25);
    QCOMPARE(dashboard.seriesValues("train/kl")[10], 8.0);
    QCOMPARE(dashboard.findChild<QProgressBar*>("runProgress")->value(), 25);
    writeFile(dir.filePath("metrics.jsonl"), metricLines(26, 40), QIODevice::Append);
    writeFile(dir.filePath("run_state.json"), runState("finished", other.processId()));
    QTRY_COMPARE(dashboard.state(), RunDashboard::State::Finished);
    QVERIFY(!dashboard.isFollowing());
    QCOMPARE(dashboard.seriesValues("train/kl").size(), 40);
    other.kill();
    other.waitForFinished();
  }

  void aRunWhoseProcessDiedShowsAsFailed() {
    QTemporaryDir dir;
    QProcess gone;
    gone.start(QStringLiteral("true"), QStringList{});
    QVERIFY(gone.waitForFinished());
    writeFile(dir.filePath("run_state.json"), runState("running", gone.processId()));
    writeFile(dir.filePath("metrics.jsonl"), metricLines(1, 5));
    RunDashboard dashboard;
    QVERIFY(dashboard.loadRunDirectory(dir.path()));
    QCOMPARE(dashboard.state(), RunDashboard::State::Failed);
    QVERIFY(!dashboard.isFollowing());
    QVERIFY2(dashboard.statusText().contains("ended without a word"), qPrintable(dashboard.statusText()));
    QVERIFY(dashboard.findChild<QPushButton*>("resumeRun")->isEnabled());

    writeFile(dir.filePath("run_state.json"), "{\"state\": \"failed\", \"pid\": 1, \"message\": \"training diverged at step 6\"}");
    QVERIFY(dashboard.loadRunDirectory(dir.path()));
    QCOMPARE(dashboard.statusText(), QStringLiteral("Failed: training diverged at step 6"));
    writeFile(dir.filePath("run_state.json"), runState("stopped", 1));
    QVERIFY(dashboard.loadRunDirectory(dir.path()));
    QCOMPARE(dashboard.state(), RunDashboard::State::Cancelled);
  }

  void reattachesARunDirectoryAfterARestart() {
    QTemporaryDir dir;
    QFile metrics(dir.filePath("metrics.jsonl"));
    QVERIFY(metrics.open(QIODevice::WriteOnly));
    metrics.write("{\"step\":0,\"val_ce\":3.0,\"val_kl\":9.0,\"val_ppl\":20.08}\n");
    for (int step = 1; step <= 30; ++step) {
      metrics.write(QStringLiteral("{\"ce\":%1,\"epoch\":0.1,\"grad_norm\":1.0,\"kl\":%2,\"lr\":0.001,\"step\":%3,"
                                   "\"tokens_per_s\":900.0,\"total\":%4,\"vram_peak\":0,\"ram_used\":1073741824,"
                                   "\"ram_total\":8589934592}\n")
                        .arg(3.0 - step * 0.01).arg(9.0 - step * 0.1).arg(step).arg(40.0 - step).toUtf8());
    }
    metrics.write("{\"ce\":2.6,\"kl\":");  // the last line cut short by a crash
    metrics.close();
    QFile config(dir.filePath("config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write("{\"kind\": \"lrec\", \"steps\": 100}");
    config.close();

    RunDashboard dashboard;
    dashboard.show();
    QString error;
    QVERIFY2(dashboard.loadRunDirectory(dir.path(), &error), qPrintable(error));
    QCOMPARE(dashboard.seriesValues("train/kl").size(), 30);
    QCOMPARE(dashboard.seriesValues("train/kl").back(), 6.0);
    QCOMPARE(dashboard.seriesValues("val/ppl").size(), 1);
    QCOMPARE(dashboard.state(), RunDashboard::State::Failed);  // no final adapter: stopped or crashed
    QVERIFY(dashboard.statusText().contains("resume"));
    QCOMPARE(dashboard.findChild<QProgressBar*>("runProgress")->value(), 30);
    QCOMPARE(dashboard.findChild<QProgressBar*>("runProgress")->maximum(), 100);
    QCOMPARE(dashboard.findChild<QProgressBar*>("runProgress")->text(), QStringLiteral("steps 30/100 (30%)"));  // as it read live
    QCOMPARE(dashboard.findChild<QCustomPlot*>("lossPlot")->graphCount(), 6);
    QCOMPARE(dashboard.memoryText(), QStringLiteral("RAM 1.0 GiB / 8.0 GiB"));  // kept in metrics.jsonl

    QVERIFY(!dashboard.loadRunDirectory(dir.filePath("nothing-here"), &error));
    QVERIFY(error.contains("has no metrics.jsonl"));
  }

  // The plots as a fine-tune's first evaluation shows them: one validation point gets an axis around it with ticks
  // that differ (not -2..2 with "242.076" repeated), axes are named after what is on them (no "KL" for a run that has
  // none), and legends sit beside the curves, never over them.
  void plotsReadWellWithOnePointAndNameWhatTheyShow() {
    RunDashboard dashboard;
    dashboard.resize(1000, 700);
    dashboard.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
    dashboard.addMetric({"val/ce", 0, 5.4893});
    dashboard.addMetric({"val/ppl", 0, 242.076});
    for (int64_t step = 1; step <= 5; ++step) {
      dashboard.addMetric({"train/ce", step, 5.0 - 0.1 * static_cast<double>(step)});
      dashboard.addMetric({"train/total", step, 5.0 - 0.1 * static_cast<double>(step)});
    }
    QTRY_VERIFY(dashboard.replotCount() >= 1);
    auto* validation = dashboard.findChild<QCustomPlot*>("validationPlot");
    auto* loss = dashboard.findChild<QCustomPlot*>("lossPlot");
    for (QCustomPlot* plot : {validation, loss}) plot->replot();  // lays out the ticks and the legend now
    const QCPRange ppl = validation->yAxis->range();
    QVERIFY2(ppl.contains(242.076) && ppl.size() > 10 && ppl.size() < 100, qPrintable(QStringLiteral("%1..%2").arg(ppl.lower).arg(ppl.upper)));
    QVERIFY(validation->xAxis->range().contains(0) && validation->xAxis->range().size() >= 2);
    const QVector<QString> ticks = validation->yAxis->tickVectorLabels();
    QVERIFY(ticks.size() >= 2);
    QCOMPARE(QSet<QString>(ticks.begin(), ticks.end()).size(), ticks.size());
    QCOMPARE(validation->yAxis->label(), QStringLiteral("val PPL"));
    QCOMPARE(validation->yAxis2->label(), QStringLiteral("val CE"));
    QCOMPARE(loss->yAxis->label(), QStringLiteral("loss"));
    QCOMPARE(loss->yAxis2->label(), QStringLiteral("CE"));
    QVERIFY(!dashboard.findChild<QCustomPlot*>("optimizerPlot")->yAxis2->visible());  // nothing plotted on it
    for (QCustomPlot* plot : {validation, loss}) {
      QVERIFY(plot->legend->visible());
      QVERIFY2(!plot->legend->outerRect().intersects(plot->axisRect()->rect()),
               qPrintable(plot->objectName() + QStringLiteral(": the legend covers the curves")));
    }
    QCOMPARE(loss->graph(0)->name(), QStringLiteral("loss"));  // the legend says "loss", "CE", not metric keys
  }

  // A RILQ run with early stopping: its MSE curves are drawn and named, and the validation plot marks the step whose
  // adapter the run keeps (it moves when a later evaluation is better).
  void marksTheBestStepAndDrawsTheRilqCurves() {
    RunDashboard dashboard;
    dashboard.resize(1000, 700);
    dashboard.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
    const double val_total[] = {3.0, 2.5, 2.1, 2.4, 2.6};
    for (int64_t step = 0; step <= 4; ++step) {
      if (step > 0) {
        dashboard.addMetric({"train/mse", step, 1.0 / static_cast<double>(step)});
        dashboard.addMetric({"train/ce", step, 3.0});
      }
      dashboard.addMetric({"val/mse", step, val_total[step] / 2});
      dashboard.addMetric({"val/ce", step, 3.0});
      dashboard.addMetric({"val/total", step, val_total[step]});
      dashboard.addMetric({"val/best_step", step, static_cast<double>(step <= 2 ? step : 2)});
    }
    QTRY_VERIFY(dashboard.replotCount() >= 1);
    auto* validation = dashboard.findChild<QCustomPlot*>("validationPlot");
    auto* loss = dashboard.findChild<QCustomPlot*>("lossPlot");
    QTRY_COMPARE(validation->itemCount(), 2);
    auto* line = qobject_cast<QCPItemStraightLine*>(validation->item(0));
    QVERIFY(line != nullptr);
    QCOMPARE(line->point1->coords().x(), 2.0);
    auto* label = qobject_cast<QCPItemText*>(validation->item(1));
    QVERIFY(label != nullptr);
    QCOMPARE(label->text(), QStringLiteral(" best: step 2"));
    QCOMPARE(validation->yAxis->label(), QStringLiteral("val MSE"));
    QCOMPARE(loss->yAxis->label(), QStringLiteral("MSE"));
    QCOMPARE(loss->graph(0)->name(), QStringLiteral("MSE"));
  }

  // A fine-tune's first moments on a laptop screen: no training step yet, one evaluation at step 0. The empty
  // plots keep their full width, the point sits on a short axis around step 0, and nothing makes the dashboard
  // taller than the screen it was given.
  void anEmptyOrOnePointPlotKeepsItsShapeAndTheScreenSize() {
    QWidget window;
    auto* layout = new QVBoxLayout(&window);
    auto* dashboard = new RunDashboard(&window);
    layout->addWidget(dashboard);
    window.resize(1180, 640);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    JobRunner runner;
    dashboard->attach(&runner);
    dashboard->addMetric({"val/ce", 0, 6.2});
    dashboard->addMetric({"val/ppl", 0, 507.0});
    QTRY_VERIFY(dashboard->replotCount() >= 1);
    QTest::qWait(200);
    for (const char* name : {"lossPlot", "validationPlot", "optimizerPlot"}) {
      auto* plot = dashboard->findChild<QCustomPlot*>(name);
      plot->replot();
      QVERIFY2(plot->axisRect()->width() > plot->width() / 2,
               qPrintable(QStringLiteral("%1: axis rect %2 of %3 px").arg(name).arg(plot->axisRect()->width()).arg(plot->width())));
    }
    const QCPRange steps = dashboard->findChild<QCustomPlot*>("validationPlot")->xAxis->range();
    QVERIFY2(steps.contains(0) && steps.size() <= 4, qPrintable(QStringLiteral("%1..%2").arg(steps.lower).arg(steps.upper)));
    QCOMPARE(window.height(), 640);
    QVERIFY2(window.minimumSizeHint().height() <= 640, qPrintable(QString::number(window.minimumSizeHint().height())));
  }

  // A stopped run's speed is its last one, and says so; a live one shows it plainly.
  void aStoppedRunSaysItsSpeedWasItsLast() {
    RunDashboard dashboard;
    JobRunner runner;
    dashboard.attach(&runner);
    dashboard.addMetric({"train/tokens_per_s", 3, 812.4});
    auto* speed = dashboard.findChild<QLabel*>("runSpeed");
    QCOMPARE(speed->text(), QStringLiteral("812 tokens/s"));
    dashboard.setState(RunDashboard::State::Cancelled);
    QCOMPARE(speed->text(), QStringLiteral("last speed 812 tokens/s"));
  }

  // A real short LREC run on stories260K, its folder read three ways — by the dashboard, by the reader the CLI
  // and the tests use, and as the CLI's progress line would show the last values — all agreeing.
  void theDashboardTheCliAndTheTestsReadARealRunAlike() {
    namespace fs = std::filesystem;
    namespace names = lowbit::train::metrics;
    const fs::path model = fs::path(LOWBIT_TESTDATA_DIR) / "models/stories260K-hf";
    const fs::path text = fs::path(LOWBIT_TESTDATA_DIR) / "train_text/tinystories_val_sample.txt";
    if (!fs::exists(model)) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    jobs::IgnoreEvents quiet;
    lowbit::quant::QuantizeSettings quantize;
    quantize.model_dir = model;
    quantize.out_dir = root / "int2";
    quantize.config.bits = 2;
    quantize.config.group_size = 32;
    quantize.config.method = lowbit::quant::QuantMethod::Rtn;
    quantize.device = "cpu";
    lowbit::quant::QuantizeJob(quantize).run(quiet, jobs::CancelToken());
    lowbit::train::LrecSettings lrec;
    lrec.student_dir = quantize.out_dir;
    lrec.teacher_dir = model;
    lrec.calibration = text;
    lrec.run_dir = root / "run";
    lrec.schedule.total_steps = 4;
    lrec.eval_every = lrec.checkpoint_every = 2;
    lrec.seqlen = 64;
    lrec.calibration_windows = 8;
    lrec.eval_windows = 2;
    lrec.teacher_top_k = 16;
    lrec.device = "cpu";
    lowbit::train::LrecJob(lrec).run(quiet, jobs::CancelToken());

    RunDashboard dashboard;
    QString error;
    QVERIFY2(dashboard.loadRunDirectory(QString::fromStdString(lrec.run_dir.string()), &error), qPrintable(error));
    const std::vector<lowbit::train::MetricRecord> records = lowbit::train::read_metrics_log(lrec.run_dir);
    std::map<std::string, double> latest;
    for (const char* name : {names::kTrainKl, names::kTrainCe, names::kTrainTotal, names::kTrainLr, names::kTrainGradNorm,
                             names::kValKl, names::kValCe, names::kValPpl}) {
      QVector<double> expected;
      for (const auto& record : records) {
        if (record.has(name)) expected.push_back(record.at(name));
      }
      QVERIFY2(!expected.isEmpty(), name);
      QCOMPARE(dashboard.seriesValues(QString::fromLatin1(name)), expected);
      latest[name] = expected.back();
    }
    latest[names::kRamUsed] = records.back().has(names::kRamUsed) ? records.back().at(names::kRamUsed)
                                                                   : records[records.size() - 2].at(names::kRamUsed);
    // The CLI's line for these values names each with its label and the dashboard's number.
    const QString line = QString::fromStdString(names::describe_latest(latest));
    for (const char* name : {names::kTrainKl, names::kValPpl, names::kTrainLr}) {
      const auto* info = names::find_metric(name);
      const QString shown = QString::fromLatin1(info->label) + QLatin1Char(' ') +
                            QString::fromStdString(names::format_metric_value(*info, dashboard.seriesValues(QString::fromLatin1(name)).back()));
      QVERIFY2(line.contains(shown), qPrintable(line + " lacks " + shown));
    }
    const QString ram = QString::fromStdString(lowbit::format_bytes(static_cast<int64_t>(latest[names::kRamUsed])));
    QVERIFY2(dashboard.memoryText().contains(ram), qPrintable(dashboard.memoryText() + " lacks " + ram));
    QVERIFY2(line.contains("RAM " + ram), qPrintable(line));
    QCOMPARE(dashboard.state(), RunDashboard::State::Finished);
  }
};

QTEST_MAIN(TestRunDashboard)
#include "test_run_dashboard.moc"
