// The jobs API: the one way front ends (the `lowbit` CLI, the Qt app) run work in core.
//
// A job is a plain object with its inputs set before run(). run() executes on the caller's thread (the GUI calls
// it on a worker thread), reports through JobEvents, polls the CancelToken at step boundaries and throws
// lowbit::Cancelled when asked to stop. Events are values and must not block: the GUI queues them to its thread.
//
//   class MyJob : public Job { void run(JobEvents& events, const CancelToken& cancel) override {
//     for (int64_t step = 0; step < n; ++step) { cancel.throw_if_cancelled(); ...;
//       events.progress({"train", step + 1, n, eta.seconds_left(step + 1)}); } } };
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "core/util/errors.h"

namespace lowbit::jobs {

// How a front end steers a running job: stop (keeping the work done: the trainer saves a checkpoint at the step
// reached), stop without saving anything new (the app's Cancel: the last periodic checkpoint stays), and pause.
// Jobs poll it at step boundaries through throw_if_cancelled(), which also waits there while paused; every member
// is an atomic (request() is called from the CLI's signal handler), and waiting polls rather than sleeping on a
// condition variable for the same reason.
class CancelToken {
 public:
  void request() { requested_.store(true, std::memory_order_relaxed); }
  void request_without_saving() {
    save_on_stop_.store(false, std::memory_order_relaxed);
    requested_.store(true, std::memory_order_relaxed);
  }
  bool is_requested() const { return requested_.load(std::memory_order_relaxed); }
  // False after request_without_saving(): a stopping job writes no new checkpoint.
  bool save_on_stop() const { return save_on_stop_.load(std::memory_order_relaxed); }
  void set_paused(bool paused) { paused_.store(paused, std::memory_order_relaxed); }
  bool is_paused() const { return paused_.load(std::memory_order_relaxed); }
  // For tokens that outlive one job, such as the CLI chat's (Ctrl-C stops one answer, not the chat).
  void reset() {
    requested_.store(false, std::memory_order_relaxed);
    save_on_stop_.store(true, std::memory_order_relaxed);
    paused_.store(false, std::memory_order_relaxed);
  }
  // Returns when not paused (at once), when resumed, or when a stop is requested; the seconds it waited.
  double wait_while_paused() const {
    if (!is_paused()) return 0;
    const auto started = std::chrono::steady_clock::now();
    while (is_paused() && !is_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(kPausePollMs));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  void throw_if_cancelled() const {
    wait_while_paused();
    if (is_requested()) throw Cancelled();
  }

 private:
  static constexpr int kPausePollMs = 20;  // a resumed job goes on within a frame of the click
  std::atomic<bool> requested_{false};
  std::atomic<bool> save_on_stop_{true};
  std::atomic<bool> paused_{false};
};

struct Progress {
  std::string phase;   // what is being counted: "layers", "steps", "windows", "tokens"
  int64_t done = 0;
  int64_t total = 0;   // 0 when unknown
  double eta_s = -1;   // seconds left, < 0 when not yet known
};

// Metric names come from one list (core/train/metric_names.h), the same in events and in metrics.jsonl.
struct Metric {
  std::string name;
  int64_t step = 0;
  double value = 0;
};

enum class LogLevel { Debug, Info, Warning, Error };

struct LogLine {
  LogLevel level = LogLevel::Info;
  std::string text;
};

// A file or folder the job produced: kind is "model", "adapter", "checkpoint", "report", ...; also "run_dir": a
// training run's folder, announced before its first step, and "pipeline_step" (core/jobs/pipeline_job.h).
struct Artifact {
  std::string kind;
  std::string path;
};

// One piece of streamed generated text.
struct Token {
  std::string text;
};

class JobEvents {
 public:
  virtual ~JobEvents() = default;
  virtual void progress(const Progress& progress) = 0;
  virtual void metric(const Metric& metric) = 0;
  virtual void log(const LogLine& line) = 0;
  virtual void artifact(const Artifact& artifact) = 0;
  virtual void token(const Token& token) = 0;
};

// For callers that want only some of the events.
class IgnoreEvents : public JobEvents {
 public:
  void progress(const Progress&) override {}
  void metric(const Metric&) override {}
  void log(const LogLine&) override {}
  void artifact(const Artifact&) override {}
  void token(const Token&) override {}
};

class Job {
 public:
  virtual ~Job() = default;
  // Short human name for titles and logs: "Quantize", "System check".
  virtual std::string title() const = 0;
  virtual void run(JobEvents& events, const CancelToken& cancel) = 0;
};

}  // namespace lowbit::jobs
