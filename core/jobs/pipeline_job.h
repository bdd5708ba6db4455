// Jobs run one after another as one job (the wizard's "quantize → correct → fine-tune"), each step's output
// folder being the next one's input; cancelling stops the current step. Log lines name the step, and an artifact
// of kind "pipeline_step" (path: the step's title) marks where each step begins, so that a dashboard can start
// fresh curves for it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/jobs/job.h"

namespace lowbit::jobs {

class PipelineJob : public Job {
 public:
  explicit PipelineJob(std::vector<std::shared_ptr<Job>> steps) : steps_(std::move(steps)) {}
  std::string title() const override {
    std::string title;
    for (const auto& step : steps_) title += (title.empty() ? "" : " → ") + step->title();
    return title;
  }
  void run(JobEvents& events, const CancelToken& cancel) override {
    for (size_t i = 0; i < steps_.size(); ++i) {
      cancel.throw_if_cancelled();
      events.log({LogLevel::Info, "step " + std::to_string(i + 1) + " of " + std::to_string(steps_.size()) + ": " +
                                      steps_[i]->title()});
      events.artifact({"pipeline_step", steps_[i]->title()});
      steps_[i]->run(events, cancel);
    }
  }
  const std::vector<std::shared_ptr<Job>>& steps() const { return steps_; }

 private:
  std::vector<std::shared_ptr<Job>> steps_;
};

}  // namespace lowbit::jobs
