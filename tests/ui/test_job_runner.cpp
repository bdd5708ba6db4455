#include <QSignalSpy>
#include <QThread>
#include <QtTest>

#include <atomic>
#include <thread>

#include "core/util/errors.h"
#include "ui/jobs/JobRunner.h"

using lowbit::ui::JobRunner;
namespace jobs = lowbit::jobs;

namespace {

// Reports a fixed sequence of events and records which thread it ran on.
class ScriptedJob : public jobs::Job {
 public:
  std::string title() const override { return "Scripted"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    runThread = QThread::currentThread();
    for (int64_t step = 1; step <= 3; ++step) {
      cancel.throw_if_cancelled();
      events.metric({"train/kl", step, 1.0 / static_cast<double>(step)});
      events.progress({"steps", step, 3, static_cast<double>(3 - step)});
    }
    events.token({"Once"});
    events.log({jobs::LogLevel::Info, "done"});
    events.artifact({"adapter", "/tmp/adapter"});
  }
  QThread* runThread = nullptr;
};

// Spins until cancelled, as a training loop would.
class EndlessJob : public jobs::Job {
 public:
  std::string title() const override { return "Endless"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    for (int64_t step = 0;; ++step) {
      cancel.throw_if_cancelled();
      if (step == 0) events.progress({"steps", 0, 0, -1});
      steps.store(step);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::atomic<int64_t> steps{0};
};

class FailingJob : public jobs::Job {
 public:
  std::string title() const override { return "Failing"; }
  void run(jobs::JobEvents&, const jobs::CancelToken&) override {
    throw lowbit::InputError("/data/alpaca.json", "record 7 has no 'instruction'", "fix or remove the record");
  }
};

}  // namespace

class TestJobRunner : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void eventsArriveAsSignalsOnTheGuiThreadInOrder() {
    JobRunner runner;
    QSignalSpy metrics(&runner, &JobRunner::metricReported);
    QSignalSpy progress(&runner, &JobRunner::progressed);
    QSignalSpy tokens(&runner, &JobRunner::tokenStreamed);
    QSignalSpy artifacts(&runner, &JobRunner::artifactProduced);
    QSignalSpy finished(&runner, &JobRunner::jobFinished);
    QList<double> values;
    connect(&runner, &JobRunner::metricReported, this, [&values](const jobs::Metric& metric) {
      QCOMPARE(QThread::currentThread(), qApp->thread());
      values << metric.value;
    });
    auto job = std::make_shared<ScriptedJob>();
    QVERIFY(runner.start(job));
    QTRY_COMPARE(finished.count(), 1);
    QVERIFY(job->runThread != nullptr);
    QVERIFY(job->runThread != qApp->thread());
    QCOMPARE(metrics.count(), 3);
    QCOMPARE(values, (QList<double>{1.0, 0.5, 1.0 / 3.0}));
    QCOMPARE(progress.last().first().value<jobs::Progress>().done, 3);
    QCOMPARE(QString::fromStdString(tokens.first().first().value<jobs::Token>().text), QStringLiteral("Once"));
    QCOMPARE(QString::fromStdString(artifacts.first().first().value<jobs::Artifact>().kind), QStringLiteral("adapter"));
  }

  void cancelStopsABusyJobAndIsNotAFailure() {
    JobRunner runner;
    QSignalSpy cancelled(&runner, &JobRunner::jobCancelled);
    QSignalSpy failed(&runner, &JobRunner::jobFailed);
    QSignalSpy progress(&runner, &JobRunner::progressed);
    auto job = std::make_shared<EndlessJob>();
    QVERIFY(runner.start(job));
    QTRY_COMPARE(progress.count(), 1);
    QVERIFY(runner.isRunning());
    QVERIFY(!runner.start(std::make_shared<EndlessJob>()));  // one job at a time
    runner.cancel();
    QTRY_COMPARE(cancelled.count(), 1);
    QTRY_VERIFY(!runner.isRunning());
    QCOMPARE(failed.count(), 0);
  }

  void failureArrivesAsAnActionableMessage() {
    JobRunner runner;
    QSignalSpy failed(&runner, &JobRunner::jobFailed);
    QVERIFY(runner.start(std::make_shared<FailingJob>()));
    QTRY_COMPARE(failed.count(), 1);
    const QString message = failed.first().first().toString();
    QVERIFY2(message.contains(QStringLiteral("/data/alpaca.json: record 7 has no 'instruction'")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("fix or remove the record")), qPrintable(message));
  }

  void aCompletionCallbackRunsForItsOwnJobOnlyAndBeforeFinished() {
    JobRunner runner;
    QStringList order;
    connect(&runner, &JobRunner::jobFinished, this, [&order] { order << QStringLiteral("finished"); });
    QVERIFY(runner.start(std::make_shared<ScriptedJob>(), [&] {
      QCOMPARE(QThread::currentThread(), qApp->thread());
      QVERIFY(!runner.isRunning());
      order << QStringLiteral("callback");
      // A job started from the callback never receives the first job's finish.
      QVERIFY(runner.start(std::make_shared<FailingJob>(), [&order] { order << QStringLiteral("not for a failure"); }));
    }));
    QSignalSpy failed(&runner, &JobRunner::jobFailed);
    QTRY_COMPARE(failed.count(), 1);
    QCOMPARE(order, (QStringList{"callback", "finished"}));
    QVERIFY(runner.start(std::make_shared<EndlessJob>(), [&order] { order << QStringLiteral("not for a cancel"); }));
    runner.cancel();
    QTRY_VERIFY(!runner.isRunning());
    QCOMPARE(order, (QStringList{"callback", "finished"}));
  }

  void destroyingTheRunnerCancelsAndWaits() {
    auto job = std::make_shared<EndlessJob>();
    {
      JobRunner runner;
      QSignalSpy progress(&runner, &JobRunner::progressed);
      QVERIFY(runner.start(job));
      QTRY_COMPARE(progress.count(), 1);
    }
    const int64_t stepsAtDestruction = job->steps.load();
    QTest::qWait(50);
    QCOMPARE(job->steps.load(), stepsAtDestruction);
  }
};

QTEST_MAIN(TestJobRunner)
#include "test_job_runner.moc"
