// How `lowbit` shows a job's events in a terminal: a progress bar with ETA and the latest metric on stderr
// (a line per 10 % when stderr is not a terminal), log lines on stderr, streamed tokens on stdout.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "core/jobs/job.h"

namespace lowbit::cli {

class CliEvents : public jobs::JobEvents {
 public:
  explicit CliEvents(bool verbose = false);
  ~CliEvents() override;

  void progress(const jobs::Progress& progress) override;
  void metric(const jobs::Metric& metric) override;
  void log(const jobs::LogLine& line) override;
  void artifact(const jobs::Artifact& artifact) override;
  void token(const jobs::Token& token) override;

  // Ends the progress line, so that later output starts on a fresh line.
  void finish_line();

 private:
  bool verbose_;
  bool terminal_;
  bool bar_open_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
  std::map<std::string, double> latest_metrics_;
};

}  // namespace lowbit::cli
