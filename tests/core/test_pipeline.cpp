// The New run wizard's whole pipeline (quantize → correct → fine-tune) kept in its folder: stopped in each of its
// three steps and resumed from the folder alone, it runs to the end and fine-tunes on top of the correction
// adapter; a finished pipeline is not resumed again.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/train/resume_run.h"
#include "core/train/run_plan.h"
#include "core/train/run_status.h"
#include "core/util/errors.h"
#include "tests/support/testdata.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;
using testing::testdata_path;

constexpr const char* kModel = "models/stories260K-hf";
constexpr const char* kText = "train_text/tinystories_val_sample.txt";
constexpr const char* kAlpaca = "alpaca/alpaca_data_1k.json";

RunPlan tiny_pipeline(const fs::path& out) {
  RunPlan plan;
  plan.model_dir = testdata_path(kModel);
  plan.device = "cpu";
  plan.output_dir = out;
  quant::QuantizeSettings q;
  q.model_dir = plan.model_dir;
  q.out_dir = out / "int2";
  q.calibration = testdata_path(kText);
  q.config.bits = 2;
  q.config.group_size = 32;
  q.nsamples = 8;
  q.seqlen = 128;
  plan.quantize = q;
  LrecSettings c;
  c.student_dir = q.out_dir;
  c.teacher_dir = plan.model_dir;
  c.calibration = testdata_path(kText);
  c.run_dir = out / "lrec";
  apply_preset(c, "int2");
  set_lrec_rank(c, 4);
  c.schedule.total_steps = 4;
  c.eval_every = c.checkpoint_every = 2;
  c.seqlen = 64;
  c.calibration_windows = 8;
  c.eval_windows = 2;
  c.teacher_top_k = 16;
  plan.correct = c;
  EmefSettings f;
  f.model_dir = q.out_dir;
  f.base_adapters = {c.run_dir / "adapter"};
  f.data = testdata_path(kAlpaca);
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

class Pipeline : public ::testing::TestWithParam<std::tuple<const char*, const char*, int>> {
 protected:
  void SetUp() override {
    LOWBIT_REQUIRE_TESTDATA(kModel);
    LOWBIT_REQUIRE_TESTDATA(kAlpaca);
  }
};

TEST_P(Pipeline, StoppedInAStepItResumesFromItsFolderToTheEnd) {
  const auto [step, phase, done] = GetParam();
  const fs::path out = fs::temp_directory_path() /
                       ("lowbit-pipeline-" + std::to_string(::getpid()) + "-" + phase + "-" + std::to_string(done));
  fs::remove_all(out);
  jobs::CancelToken cancel;
  StopInStep stopper(cancel, step, phase, done);
  EXPECT_THROW(RunPlanJob(tiny_pipeline(out)).run(stopper, cancel), Cancelled);
  ASSERT_TRUE(fs::exists(out / "pipeline.json"));
  EXPECT_EQ(read_run_status(out)->state, RunState::Stopped);
  EXPECT_FALSE(fs::exists(out / "emef" / "adapter"));

  // The plan read back is the plan that ran.
  const std::optional<RunPlan> kept = read_pipeline(out);
  ASSERT_TRUE(kept.has_value());
  const RunPlan planned = tiny_pipeline(out);
  EXPECT_TRUE(kept->quantize == planned.quantize);
  EXPECT_TRUE(kept->correct == planned.correct);
  EXPECT_TRUE(kept->finetune == planned.finetune);

  const auto resumed = make_resume_job(out, "cpu");
  jobs::IgnoreEvents quiet;
  resumed->run(quiet, jobs::CancelToken());
  EXPECT_EQ(read_run_status(out)->state, RunState::Finished);
  EXPECT_EQ(read_run_status(out / "lrec")->state, RunState::Finished);
  ASSERT_TRUE(fs::exists(out / "emef" / "adapter" / "adapter_model.safetensors"));
  // Fine-tuned on top of the correction adapter, as the pipeline planned.
  const nlohmann::json config = nlohmann::json::parse(std::ifstream(out / "emef" / "config.json"));
  EXPECT_EQ(config["base_adapters"], nlohmann::json::array({(out / "lrec" / "adapter").string()}));
  EXPECT_TRUE(fs::exists(out / "lrec" / "adapter" / "adapter_model.safetensors"));
  try {
    make_resume_job(out, "cpu");
    ADD_FAILURE() << "a finished pipeline cannot be resumed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("is finished"), std::string::npos) << e.what();
  }
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(EachStep, Pipeline,
                         ::testing::Values(std::make_tuple("Quantize", "layers", 2),
                                           std::make_tuple("Correct (LREC)", "teacher", 4),  // before its first checkpoint
                                           std::make_tuple("Correct (LREC)", "steps", 3),
                                           std::make_tuple("Fine-tune (EMEF)", "steps", 1)),
                         [](const auto& info) { return std::string(std::get<1>(info.param)) + "_" + std::to_string(std::get<2>(info.param)); });

}  // namespace
}  // namespace lowbit::train
