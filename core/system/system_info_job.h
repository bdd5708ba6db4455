// Collects SystemInfo as a job, so the GUI gets it off its own thread (the kernel check creates a CUDA context,
// which can take a second). The result is read after the job has finished.
#pragma once

#include "core/jobs/job.h"
#include "core/system/system_info.h"

namespace lowbit::system {

class SystemInfoJob : public jobs::Job {
 public:
  explicit SystemInfoJob(bool check_kernels) : check_kernels_(check_kernels) {}

  std::string title() const override { return "System check"; }

  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    cancel.throw_if_cancelled();
    events.progress({"checks", 0, 1, -1});
    result_ = collect_system_info(check_kernels_);
    for (const std::string& warning : result_.warnings) events.log({jobs::LogLevel::Warning, warning});
    events.progress({"checks", 1, 1, 0});
  }

  const SystemInfo& result() const { return result_; }

 private:
  bool check_kernels_;
  SystemInfo result_;
};

}  // namespace lowbit::system
