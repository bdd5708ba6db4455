// The New run wizard's whole pipeline at toy size on stories260K (GPTQ 2-bit, 4 LREC steps, 4 EMEF steps; about
// 15 s on a CPU), and events that stop it in a chosen step: how tests stop and resume a pipeline.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/jobs/job.h"
#include "core/train/run_plan.h"
#include "tests/support/testdata.h"

namespace lowbit::testing {

constexpr const char* kPipelineModel = "models/stories260K-hf";
constexpr const char* kPipelineText = "train_text/tinystories_val_sample.txt";
constexpr const char* kPipelineAlpaca = "alpaca/alpaca_data_1k.json";

inline train::RunPlan tiny_pipeline(const std::filesystem::path& out) {
  train::RunPlan plan;
  plan.model_dir = testdata_path(kPipelineModel);
  plan.device = "cpu";
  plan.output_dir = out;
  quant::QuantizeSettings q;
  q.model_dir = plan.model_dir;
  q.out_dir = out / "int2";
  q.calibration = testdata_path(kPipelineText);
  q.config.bits = 2;
  q.config.group_size = 32;
  q.nsamples = 8;
  q.seqlen = 128;
  plan.quantize = q;
  train::LrecSettings c;
  c.student_dir = q.out_dir;
  c.teacher_dir = plan.model_dir;
  c.calibration = testdata_path(kPipelineText);
  c.run_dir = out / "lrec";
  train::apply_preset(c, "int2");
  train::set_lrec_rank(c, 4);
  c.schedule.total_steps = 4;
  c.eval_every = c.checkpoint_every = 2;
  c.seqlen = 64;
  c.calibration_windows = 8;
  c.eval_windows = 2;
  c.teacher_top_k = 16;
  plan.correct = c;
  train::EmefSettings f;
  f.model_dir = q.out_dir;
  f.base_adapters = {c.run_dir / "adapter"};
  f.data = testdata_path(kPipelineAlpaca);
  f.run_dir = out / "emef";
  f.examples.cutoff = 128;
  f.batch = 4;
  f.micro_batch = 2;
  f.steps = 4;
  f.eval_every = f.checkpoint_every = 2;
  f.eval_examples = 8;
  plan.finetune = f;
  return plan;
}

// Stops the pipeline when the step titled `step` reports `done` units of `phase`.
class StopInStep : public jobs::IgnoreEvents {
 public:
  StopInStep(jobs::CancelToken& token, std::string step, std::string phase, int64_t done)
      : token_(token), step_(std::move(step)), phase_(std::move(phase)), done_(done) {}
  void artifact(const jobs::Artifact& artifact) override {
    if (artifact.kind == "pipeline_step") current_ = artifact.path;
  }
  void progress(const jobs::Progress& progress) override {
    if (current_ == step_ && progress.phase == phase_ && progress.done == done_) token_.request();
  }

 private:
  jobs::CancelToken& token_;
  std::string step_, phase_, current_;
  int64_t done_;
};

}  // namespace lowbit::testing
