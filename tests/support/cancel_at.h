// Events that request cancellation once a job reports `done` units of progress (of one phase, e.g. "steps",
// when given): how tests stop a job midway.
#pragma once

#include <cstdint>
#include <string>

#include "core/jobs/job.h"

namespace lowbit::testing {

class CancelAtProgress : public jobs::IgnoreEvents {
 public:
  CancelAtProgress(jobs::CancelToken& token, int64_t done, std::string phase = "")
      : token_(token), done_(done), phase_(std::move(phase)) {}
  void progress(const jobs::Progress& progress) override {
    if (progress.done == done_ && (phase_.empty() || progress.phase == phase_)) token_.request();
  }

 private:
  jobs::CancelToken& token_;
  int64_t done_;
  std::string phase_;
};

}  // namespace lowbit::testing
