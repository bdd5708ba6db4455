#include "ui/jobs/JobRunner.h"

#include <QThread>

#include "core/jobs/error_report.h"

namespace lowbit::ui {
namespace {

// Emits the runner's signals from the worker thread; Qt queues them to the receivers' (GUI) thread.
class SignalEvents : public jobs::JobEvents {
 public:
  explicit SignalEvents(JobRunner* runner) : m_runner(runner) {}
  void progress(const jobs::Progress& progress) override { Q_EMIT m_runner->progressed(progress); }
  void metric(const jobs::Metric& metric) override { Q_EMIT m_runner->metricReported(metric); }
  void log(const jobs::LogLine& line) override { Q_EMIT m_runner->lineLogged(line); }
  void artifact(const jobs::Artifact& artifact) override { Q_EMIT m_runner->artifactProduced(artifact); }
  void token(const jobs::Token& token) override { Q_EMIT m_runner->tokenStreamed(token); }

 private:
  JobRunner* m_runner;
};

}  // namespace

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
  qRegisterMetaType<jobs::Progress>();
  qRegisterMetaType<jobs::Metric>();
  qRegisterMetaType<jobs::LogLine>();
  qRegisterMetaType<jobs::Artifact>();
  qRegisterMetaType<jobs::Token>();
}

JobRunner::~JobRunner() {
  if (m_thread != nullptr) {
    cancel();
    m_thread->wait();
  }
}

bool JobRunner::isRunning() const { return m_active; }

bool JobRunner::start(std::shared_ptr<jobs::Job> job, std::function<void()> onFinished) {
  if (isRunning() || job == nullptr) return false;
  if (m_thread != nullptr) {
    m_thread->wait();
    delete m_thread;
  }
  m_job = std::move(job);
  m_cancel = std::make_shared<jobs::CancelToken>();
  m_active = true;
  // The worker owns copies of the shared pointers, so the job outlives the thread even if start() is called
  // again right after this one finished.
  m_thread = QThread::create([this, job = m_job, cancel = m_cancel, onFinished = std::move(onFinished)] {
    SignalEvents events(this);
    // The final signal is emitted on the GUI thread, after every event the job queued before it, and only
    // then does isRunning() turn false: a job started from a handler of that signal can never receive it.
    auto finish = [this](auto emitFinal) {
      QMetaObject::invokeMethod(this, [this, emitFinal] {
        m_active = false;
        emitFinal();
      }, Qt::QueuedConnection);
    };
    try {
      job->run(events, *cancel);
      finish([this, onFinished] {
        if (onFinished) onFinished();
        Q_EMIT jobFinished();
      });
    } catch (...) {
      const jobs::ErrorReport report = jobs::describe_current_exception();
      if (report.kind == jobs::ErrorKind::Cancelled) {
        finish([this] { Q_EMIT jobCancelled(); });
      } else {
        Q_EMIT lineLogged({jobs::LogLevel::Error, report.log_detail});
        const QString message = QString::fromStdString(report.user_message);
        finish([this, message] { Q_EMIT jobFailed(message); });
      }
    }
  });
  m_thread->setObjectName(QString::fromStdString(m_job->title()));
  m_thread->start();
  return true;
}

void JobRunner::cancel() {
  if (m_cancel != nullptr) m_cancel->request();
}

void JobRunner::cancelWithoutSaving() {
  if (m_cancel != nullptr) m_cancel->request_without_saving();
}

void JobRunner::setPaused(bool paused) {
  if (m_cancel != nullptr) m_cancel->set_paused(paused);
}

bool JobRunner::isPaused() const { return m_cancel != nullptr && m_cancel->is_paused(); }

}  // namespace lowbit::ui
