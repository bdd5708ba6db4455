// Runs one core Job on its own QThread and turns the job's events into queued Qt signals.
//
// The GUI thread never runs job code. Cancel requests set the job's atomic CancelToken (a queued slot could
// never reach a worker busy in its loop). Exceptions never leave the worker: they are translated once by
// core/jobs/error_report and arrive as jobFailed(message). Destroying the runner cancels the job and waits.
//
//   auto* runner = new JobRunner(this);
//   connect(runner, &JobRunner::jobFinished, this, [runner] { use(runner->job()); });
//   runner->start(std::make_shared<SystemInfoJob>(true));
#pragma once

#include <QObject>
#include <QString>

#include <functional>
#include <memory>

#include "core/jobs/job.h"

class QThread;

Q_DECLARE_METATYPE(lowbit::jobs::Progress)
Q_DECLARE_METATYPE(lowbit::jobs::Metric)
Q_DECLARE_METATYPE(lowbit::jobs::LogLine)
Q_DECLARE_METATYPE(lowbit::jobs::Artifact)
Q_DECLARE_METATYPE(lowbit::jobs::Token)

namespace lowbit::ui {

class JobRunner : public QObject {
  Q_OBJECT

 public:
  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;

  // Starts the job on a new worker thread. Returns false (and does nothing) while another job is running.
  // `onFinished` runs on the GUI thread when this job finishes (not when it is cancelled or fails), just before
  // jobFinished() is emitted: the place for what a caller does with this job's result.
  bool start(std::shared_ptr<jobs::Job> job, std::function<void()> onFinished = {});
  // True from start() until the job's final signal (finished, cancelled or failed) has been delivered.
  bool isRunning() const;
  bool isPaused() const;
  std::shared_ptr<jobs::Job> job() const { return m_job; }

 public Q_SLOTS:
  // Stops the job at its next step boundary, keeping the work done (a trainer saves a checkpoint there).
  void cancel();
  // Stops it without writing anything new: a trainer keeps only its last periodic checkpoint.
  void cancelWithoutSaving();
  // A paused job waits at its next step boundary until unpaused (or cancelled).
  void setPaused(bool paused);

 Q_SIGNALS:
  void progressed(const lowbit::jobs::Progress& progress);
  void metricReported(const lowbit::jobs::Metric& metric);
  void lineLogged(const lowbit::jobs::LogLine& line);
  void artifactProduced(const lowbit::jobs::Artifact& artifact);
  void tokenStreamed(const lowbit::jobs::Token& token);
  void jobFinished();
  void jobCancelled();
  void jobFailed(const QString& message);

 private:
  std::shared_ptr<jobs::Job> m_job;
  std::shared_ptr<jobs::CancelToken> m_cancel;
  QThread* m_thread = nullptr;
  bool m_active = false;  // read and written on the GUI thread only
};

}  // namespace lowbit::ui
