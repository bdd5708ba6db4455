// Events that request cancellation once a job reports `done` units of progress: how tests stop a job midway.
#pragma once

#include <cstdint>

#include "core/jobs/job.h"

namespace lowbit::testing {

class CancelAtProgress : public jobs::IgnoreEvents {
 public:
  CancelAtProgress(jobs::CancelToken& token, int64_t done) : token_(token), done_(done) {}
  void progress(const jobs::Progress& progress) override {
    if (progress.done == done_) token_.request();
  }

 private:
  jobs::CancelToken& token_;
  int64_t done_;
};

}  // namespace lowbit::testing
