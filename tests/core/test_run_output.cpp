// What a run made, read back from its folder for "Chat with the result": a pipeline's last step's model and
// adapter stack, an LREC run's quantized model and correction, an EMEF run's model with its base adapters under the
// fine-tune; nothing while the last adapter is not on disk, or for a folder that is not a run.
#include "core/train/run_output.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/train/emef_settings.h"
#include "core/train/lrec_settings.h"
#include "core/train/run_plan.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& file, const std::string& text = "{}") {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

class RunOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("lowbit-run-output-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    touch(root_ / "full" / "config.json");
  }
  void TearDown() override { fs::remove_all(root_); }
  LrecSettings lrec(const fs::path& run_dir) const {
    LrecSettings settings;
    settings.student_dir = root_ / "int2";
    settings.teacher_dir = root_ / "full";
    settings.calibration = root_ / "calib.txt";
    settings.run_dir = run_dir;
    return settings;
  }
  fs::path root_;
};

TEST_F(RunOutputTest, APipelineGivesItsQuantizedModelWithTheCorrectionUnderTheFineTune) {
  RunPlan plan;
  plan.model_dir = root_ / "full";
  plan.output_dir = root_ / "pipeline";
  quant::QuantizeSettings quantize;
  quantize.model_dir = plan.model_dir;
  quantize.out_dir = plan.output_dir / "int2";
  plan.quantize = quantize;
  LrecSettings correct = lrec(plan.output_dir / "lrec");
  correct.student_dir = quantize.out_dir;
  plan.correct = correct;
  EmefSettings finetune;
  finetune.model_dir = quantize.out_dir;
  finetune.data = root_ / "alpaca.json";
  finetune.base_adapters = {correct.run_dir / "adapter"};
  finetune.run_dir = plan.output_dir / "emef";
  plan.finetune = finetune;
  touch(plan.output_dir / "pipeline.json", run_plan_to_json(plan).dump());
  touch(quantize.out_dir / "config.json");
  touch(correct.run_dir / "adapter" / "adapter_model.safetensors");
  EXPECT_FALSE(run_output(plan.output_dir)) << "stopped before the fine-tune's adapter: nothing to chat with yet";

  touch(finetune.run_dir / "adapter" / "adapter_model.safetensors");
  const auto output = run_output(plan.output_dir);
  ASSERT_TRUE(output);
  EXPECT_EQ(output->model, quantize.out_dir);
  EXPECT_EQ(output->adapters, (std::vector<fs::path>{correct.run_dir / "adapter", finetune.run_dir / "adapter"}));

  fs::remove_all(quantize.out_dir);
  EXPECT_FALSE(run_output(plan.output_dir)) << "the quantized model is gone";
}

TEST_F(RunOutputTest, AnLrecRunGivesTheQuantizedModelAndItsCorrection) {
  const fs::path run = root_ / "lrec";
  nlohmann::json config = lrec_settings_schema().to_json(lrec(run));
  config.update({{"kind", "lrec"}, {"total_steps", 8}});  // as the job writes it
  touch(run / "config.json", config.dump());
  touch(root_ / "int2" / "config.json");
  EXPECT_FALSE(run_output(run));
  touch(run / "adapter" / "adapter_model.safetensors");
  const auto output = run_output(run);
  ASSERT_TRUE(output);
  EXPECT_EQ(output->model, root_ / "int2");
  EXPECT_EQ(output->adapters, std::vector<fs::path>{run / "adapter"});
}

TEST_F(RunOutputTest, AnEmefRunStacksItsBaseAdaptersUnderItsOwn) {
  const fs::path run = root_ / "emef";
  EmefSettings settings;
  settings.model_dir = root_ / "full";
  settings.data = root_ / "alpaca.json";
  settings.base_adapters = {root_ / "lrec" / "adapter"};
  settings.run_dir = run;
  nlohmann::json config = emef_settings_schema().to_json(settings);
  config.update({{"kind", "emef"}, {"total_steps", 8}});
  touch(run / "config.json", config.dump());
  touch(run / "adapter" / "adapter_model.safetensors");
  EXPECT_FALSE(run_output(run)) << "its base adapter is gone: the fine-tune alone would answer wrongly";
  touch(root_ / "lrec" / "adapter" / "adapter_model.safetensors");
  const auto output = run_output(run);
  ASSERT_TRUE(output);
  EXPECT_EQ(output->model, root_ / "full");
  EXPECT_EQ(output->adapters, (std::vector<fs::path>{root_ / "lrec" / "adapter", run / "adapter"}));
}

TEST_F(RunOutputTest, AFolderThatIsNotARunOrHasABrokenConfigGivesNothing) {
  EXPECT_FALSE(run_output(root_ / "full"));       // a model's config.json
  EXPECT_FALSE(run_output(root_ / "nowhere"));
  touch(root_ / "broken" / "config.json", R"({"kind": "lrec", "student": 3})");
  touch(root_ / "broken" / "adapter" / "adapter_model.safetensors");
  EXPECT_FALSE(run_output(root_ / "broken"));
  touch(root_ / "notjson" / "pipeline.json", "{ not json");
  EXPECT_FALSE(run_output(root_ / "notjson"));
}

}  // namespace
}  // namespace lowbit::train
