// LoRA layers and PEFT adapters: the math, stacking, save/load, and both directions of interoperability with
// `peft` (LowBit's adapter loaded by PeftModel; peft's adapter loaded by LowBit), on stories260K.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <fstream>

#include "core/lora/peft_adapter.h"
#include "core/model/safetensors.h"
#include "core/quant/quantize_job.h"
#include "core/util/errors.h"
#include "tests/support/relative_error.h"
#include "tests/support/testdata.h"
#include "tests/support/tolerances.h"

namespace lowbit::lora {
namespace {

namespace fs = std::filesystem;
using testing::testdata_path;

constexpr const char* kModel = "models/stories260K-hf";

using testing::relative_max_error;

class Lora : public ::testing::Test {
 protected:
  void SetUp() override {
    LOWBIT_REQUIRE_TESTDATA(kModel);
    dir = fs::temp_directory_path() / ("lowbit-lora-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    ids = at::randint(3, 512, {2, 24}, at::kLong);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::unique_ptr<model::LlamaModel> load() { return model::LlamaModel::load(testdata_path(kModel), {at::kCPU, at::kFloat}); }
  bool python_ready() {
    return std::system((std::string("'") + LOWBIT_PYTHON + "' -c 'import peft, transformers' 2>/dev/null").c_str()) == 0;
  }
  fs::path dir;
  at::Tensor ids;
};

void randomize_b(const std::vector<AdapterLayer>& adapter, uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const AdapterLayer& entry : adapter) entry.layer->lora_b().detach().normal_(0.0, 0.05, generator);
}

TEST_F(Lora, ANewAdapterChangesNothingUntilTrained) {
  c10::NoGradGuard no_grad;
  auto model = load();
  const at::Tensor before = model->forward(ids);
  AdapterConfig config;
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  const auto adapter = attach_new_adapter(*model, config, /*trainable=*/true, 0);
  EXPECT_EQ(adapter.size(), 35u);
  EXPECT_TRUE(at::equal(model->forward(ids), before)) << "B starts at zero";
  const double bound = 1.0 / std::sqrt(64.0);
  EXPECT_LE(adapter[0].layer->lora_a().abs().max().item<double>(), bound);
  EXPECT_GT(adapter[0].layer->lora_a().abs().max().item<double>(), bound * 0.8) << "Kaiming-uniform spans the bound";
}

TEST_F(Lora, ForwardEqualsTheMergedDenseWeightAndStacks) {
  c10::NoGradGuard no_grad;
  auto model = load();
  AdapterConfig config;
  config.shape = {4, 8.0, 0.0};
  config.target_modules = {"q_proj"};
  const auto first = attach_new_adapter(*model, config, false, 1);
  randomize_b(first, 2);
  const auto second = attach_new_adapter(*model, config, true, 3);
  randomize_b(second, 4);
  // q_proj of layer 0 is now base + LoRA₁ + LoRA₂: compare with the merged weight.
  const LoraLinear* top = second[0].layer;
  const auto& below = dynamic_cast<const LoraLinear&>(top->base());
  const auto& dense = dynamic_cast<const model::DenseLinear&>(below.base());
  const at::Tensor merged = dense.weight().to(at::kDouble) +
                            2.0 * below.lora_b().to(at::kDouble).matmul(below.lora_a().to(at::kDouble)) +
                            2.0 * top->lora_b().to(at::kDouble).matmul(top->lora_a().to(at::kDouble));
  const at::Tensor x = at::randn({5, 64});
  EXPECT_LE(relative_max_error(top->forward(x), at::linear(x.to(at::kDouble), merged)), 1e-5);
}

TEST_F(Lora, SavedAdaptersLoadBackExactly) {
  c10::NoGradGuard no_grad;
  auto model = load();
  AdapterConfig config;
  config.shape = {8, 16.0, 0.05};
  config.target_modules = {"q_proj", "v_proj", "down_proj"};
  const auto adapter = attach_new_adapter(*model, config, true, 5);
  randomize_b(adapter, 6);
  save_adapter(adapter, config, dir / "adapter");
  const at::Tensor expected = model->forward(ids);
  auto reloaded = load();
  load_adapter(*reloaded, dir / "adapter", false);
  EXPECT_TRUE(at::equal(reloaded->forward(ids), expected));
  const AdapterConfig read = read_adapter_config(dir / "adapter");
  EXPECT_EQ(read.shape.rank, 8);
  EXPECT_EQ(read.target_modules, config.target_modules);
}

TEST_F(Lora, GradientsReachOnlyTheTrainableAdapter) {
  auto model = load();
  AdapterConfig config;
  config.target_modules = {"q_proj", "up_proj"};
  const auto frozen = attach_new_adapter(*model, config, false, 1);
  randomize_b(frozen, 2);
  const auto trainable = attach_new_adapter(*model, config, true, 3);
  randomize_b(trainable, 4);
  const at::Tensor logits = model->forward(ids);
  at::cross_entropy_loss(logits.reshape({-1, 512}), ids.reshape({-1})).backward();
  for (const AdapterLayer& entry : trainable) {
    ASSERT_TRUE(entry.layer->lora_a().grad().defined()) << entry.module;
    EXPECT_GT(entry.layer->lora_a().grad().abs().sum().item<double>(), 0) << entry.module;
  }
  for (const AdapterLayer& entry : frozen) EXPECT_FALSE(entry.layer->lora_a().grad().defined()) << entry.module;
}

TEST_F(Lora, PeftLoadsLowBitsAdapterAndGivesTheSameLogits) {
  if (!python_ready()) GTEST_SKIP() << LOWBIT_PYTHON << " has no peft/transformers (run scripts/setup.sh)";
  c10::NoGradGuard no_grad;
  auto model = load();
  AdapterConfig config;
  config.shape = {4, 8.0, 0.0};
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  const auto adapter = attach_new_adapter(*model, config, false, 11);
  randomize_b(adapter, 12);
  save_adapter(adapter, config, dir / "ours");
  model::save_safetensors(dir / "ids.safetensors", {{"input_ids", ids}});
  const std::string command = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR +
                              "/scripts/peft_reference.py' logits --base '" + testdata_path(kModel).string() +
                              "' --adapter '" + (dir / "ours").string() + "' --ids '" +
                              (dir / "ids.safetensors").string() + "' --out '" + (dir / "peft.safetensors").string() +
                              "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const at::Tensor theirs = model::SafetensorsFile::open(dir / "peft.safetensors")->tensor("logits");
  const at::Tensor base = load()->forward(ids);
  const at::Tensor ours = model->forward(ids);
  EXPECT_GT((ours - base).abs().max().item<double>(), 1e-2) << "the adapter must change the output";
  const double error = relative_max_error(ours, theirs);
  std::printf("LowBit adapter in peft: relative max logit difference %.3g\n", error);
  EXPECT_LE(error, testing::kLogitsRelativeTolerance);
}

TEST_F(Lora, PeftLoadsAnAdapterOnTheDequantizedBaseWithTheSameLogits) {
  // LowBit: GPTQ model + adapter. peft: the same adapter on the model that scripts/check_gptq_checkpoint.py
  // dequantizes with its own numpy code into an ordinary float32 folder.
  if (!python_ready()) GTEST_SKIP() << LOWBIT_PYTHON << " has no peft/transformers (run scripts/setup.sh)";
  quant::QuantizeSettings q;
  q.device = "cpu";
  q.model_dir = testdata_path(kModel);
  q.out_dir = dir / "int4";
  q.calibration = testdata_path("train_text/tinystories_val_sample.txt");
  q.nsamples = 8;
  q.seqlen = 128;
  q.config.bits = 4;
  q.config.group_size = 32;
  q.config.desc_act = true;
  jobs::IgnoreEvents events;
  quant::QuantizeJob quantize(q);
  quantize.run(events, jobs::CancelToken());
  c10::NoGradGuard no_grad;
  auto model = model::LlamaModel::load(q.out_dir, {at::kCPU, at::kFloat});
  AdapterConfig config;
  config.shape = {4, 8.0, 0.0};
  config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  const auto adapter = attach_new_adapter(*model, config, false, 21);
  randomize_b(adapter, 22);
  save_adapter(adapter, config, dir / "adapter");
  model::save_safetensors(dir / "ids.safetensors", {{"input_ids", ids}});
  const std::string python = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR + "/scripts/";
  const std::string dequantize = python + "check_gptq_checkpoint.py' '" + q.out_dir.string() +
                                 "' --no-transformers --dense-out '" + (dir / "dense").string() + "' > /dev/null";
  ASSERT_EQ(std::system(dequantize.c_str()), 0) << dequantize;
  const std::string logits = python + "peft_reference.py' logits --base '" + (dir / "dense").string() +
                             "' --adapter '" + (dir / "adapter").string() + "' --ids '" +
                             (dir / "ids.safetensors").string() + "' --out '" + (dir / "peft.safetensors").string() +
                             "' 2>&1";
  ASSERT_EQ(std::system(logits.c_str()), 0) << logits;
  const at::Tensor theirs = model::SafetensorsFile::open(dir / "peft.safetensors")->tensor("logits");
  const double error = relative_max_error(model->forward(ids), theirs);
  std::printf("LowBit adapter on the GPTQ model vs peft on the dequantized base: relative max difference %.3g\n", error);
  EXPECT_LE(error, testing::kLogitsRelativeTolerance);
}

TEST_F(Lora, LowBitLoadsPeftsAdapterAndGivesTheSameLogits) {
  if (!python_ready()) GTEST_SKIP() << LOWBIT_PYTHON << " has no peft/transformers (run scripts/setup.sh)";
  c10::NoGradGuard no_grad;
  model::save_safetensors(dir / "ids.safetensors", {{"input_ids", ids}});
  const std::string command = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR +
                              "/scripts/peft_reference.py' make --base '" + testdata_path(kModel).string() +
                              "' --out '" + (dir / "peft").string() + "' --targets q_proj,v_proj,down_proj " +
                              "--rank 4 --alpha 8 --seed 3 --ids '" + (dir / "ids.safetensors").string() + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto model = load();
  load_adapter(*model, dir / "peft", false);
  const at::Tensor theirs = model::SafetensorsFile::open(dir / "peft" / "reference_logits.safetensors")->tensor("logits");
  const double error = relative_max_error(model->forward(ids), theirs);
  std::printf("peft adapter in LowBit: relative max logit difference %.3g\n", error);
  EXPECT_LE(error, testing::kLogitsRelativeTolerance);
}

TEST_F(Lora, BrokenAdaptersAreExplained) {
  auto model = load();
  AdapterConfig config;
  config.target_modules = {"q_proj"};
  save_adapter(attach_new_adapter(*model, config, false, 1), config, dir / "a");
  // A config that claims more modules than the weights hold.
  std::ofstream(dir / "a" / "adapter_config.json")
      << R"({"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]})";
  try {
    load_adapter(*load(), dir / "a", false);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("v_proj.lora_A.weight' is missing"), std::string::npos) << e.what();
  }
  fs::create_directories(dir / "pickled");
  std::ofstream(dir / "pickled" / "adapter_config.json") << R"({"peft_type": "LORA", "r": 8, "target_modules": ["q_proj"]})";
  std::ofstream(dir / "pickled" / "adapter_model.bin") << "not opened";
  try {
    load_adapter(*load(), dir / "pickled", false);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("arbitrary code"), std::string::npos) << e.what();
  }
  fs::create_directories(dir / "pattern");
  std::ofstream(dir / "pattern" / "adapter_config.json") << R"({"peft_type": "LORA", "r": 8, "target_modules": ".*proj"})";
  EXPECT_THROW(read_adapter_config(dir / "pattern"), InputError);
}

}  // namespace
}  // namespace lowbit::lora
