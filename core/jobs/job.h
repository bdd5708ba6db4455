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
#include <cstdint>
#include <string>

#include "core/util/errors.h"

namespace lowbit::jobs {

class CancelToken {
 public:
  void request() { requested_.store(true, std::memory_order_relaxed); }
  bool is_requested() const { return requested_.load(std::memory_order_relaxed); }
  // For tokens that outlive one job, such as the CLI chat's (Ctrl-C stops one answer, not the chat).
  void reset() { requested_.store(false, std::memory_order_relaxed); }
  void throw_if_cancelled() const {
    if (is_requested()) throw Cancelled();
  }

 private:
  std::atomic<bool> requested_{false};
};

struct Progress {
  std::string phase;   // what is being counted: "layers", "steps", "windows", "tokens"
  int64_t done = 0;
  int64_t total = 0;   // 0 when unknown
  double eta_s = -1;   // seconds left, < 0 when not yet known
};

// Metric names come from one list so that CLI, GUI and metrics.jsonl agree: "train/kl", "train/ce", ...
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

// A file or folder the job produced: kind is "model", "adapter", "checkpoint", "run_dir", "report", ...
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
