// Continuing a stopped or crashed run from its folder alone: the run's config.json holds every setting of the
// LREC or EMEF job that made it (written by its settings schema), so the app's Runs page (and `lowbit resume
// RUN_DIR`) can rebuild that job with resume on, and the trainer goes on from the last checkpoint exactly as the
// uninterrupted run would have.
//
//   ResumeRunJob job("runs/lrec-int2", "auto");   // InputError when the folder cannot be resumed
//   job.run(events, cancel);
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/jobs/job.h"

namespace lowbit::train {

// The job that continues the run in `run_dir` on `device` ("auto", "cpu", "cuda", "cuda:1"; resolved when it runs):
// an LREC or EMEF run from its config.json, or a whole pipeline from its pipeline.json (the New run wizard's output
// folder: the steps not done yet). InputError when the folder cannot be resumed (finished, no checkpoint yet, not a
// run).
std::shared_ptr<jobs::Job> make_resume_job(const std::filesystem::path& run_dir, const std::string& device);

// Picks the device ("auto", "cpu", "cuda", "cuda:1") when it runs, so that a front end never touches LibTorch on
// its own thread; it replaces the one the run was started on (a run stopped on a GPU can go on on the CPU).
class ResumeRunJob : public jobs::Job {
 public:
  ResumeRunJob(std::filesystem::path run_dir, std::string device_name)
      : run_dir_(std::move(run_dir)), device_name_(std::move(device_name)) {}
  std::string title() const override { return "Resume " + run_dir_.filename().string(); }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;

 private:
  std::filesystem::path run_dir_;
  std::string device_name_;
};

}  // namespace lowbit::train
