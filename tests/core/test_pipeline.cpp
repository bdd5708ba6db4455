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
#include "tests/support/tiny_pipeline.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;
using testing::kPipelineAlpaca;
using testing::kPipelineModel;
using testing::StopInStep;
using testing::tiny_pipeline;

class Pipeline : public ::testing::TestWithParam<std::tuple<const char*, const char*, int>> {
 protected:
  void SetUp() override {
    LOWBIT_REQUIRE_TESTDATA(kPipelineModel);
    LOWBIT_REQUIRE_TESTDATA(kPipelineAlpaca);
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
