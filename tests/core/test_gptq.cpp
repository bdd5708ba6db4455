// GPTQ and RTN on real layers of stories260K and on synthetic weights; packing round trips; the quantize job's
// output folder, its errors and its cancellation.
#include <gtest/gtest.h>

#include <c10/core/GradMode.h>

#include <fstream>

#include "core/data/calibration.h"
#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "core/quant/gptq.h"
#include "core/quant/gptq_pack.h"
#include "core/quant/quant_linear.h"
#include "core/quant/quantize_job.h"
#include "core/util/errors.h"
#include "tests/support/cancel_at.h"
#include "tests/support/fixtures.h"
#include "tests/support/testdata.h"

namespace lowbit::quant {
namespace {

namespace fs = std::filesystem;
using testing::testdata_path;

constexpr const char* kModel = "models/stories260K-hf";
constexpr const char* kText = "train_text/tinystories_val_sample.txt";

// Records the inputs a projection sees.
class RecordingLinear : public model::Linear {
 public:
  RecordingLinear(const model::Linear* inner, at::Tensor* hessian) : inner_(inner), hessian_(hessian) {}
  at::Tensor forward(const at::Tensor& x) const override {
    const at::Tensor rows = x.reshape({-1, x.size(-1)}).to(at::kFloat);
    if (!hessian_->defined()) *hessian_ = at::zeros({rows.size(1), rows.size(1)});
    hessian_->addmm_(rows.t(), rows);
    return inner_->forward(x);
  }
  int64_t in_features() const override { return inner_->in_features(); }
  int64_t out_features() const override { return inner_->out_features(); }
  int64_t weight_bytes() const override { return 0; }
  std::string describe() const override { return "recording"; }

 private:
  const model::Linear* inner_;
  at::Tensor* hessian_;
};

struct LayerInputs {
  std::map<std::string, at::Tensor> weights;   // projection → [N, K]
  std::map<std::string, at::Tensor> hessians;  // projection → [K, K]
};

// Hessians of every projection of `layer_index` from the full-precision model on 16 calibration windows.
LayerInputs capture_layer(int64_t layer_index) {
  c10::NoGradGuard no_grad;
  const auto model = model::LlamaModel::load(testdata_path(kModel), {at::kCPU, at::kFloat});
  const auto tokenizer = tokenizer::Tokenizer::load(testdata_path(kModel), model->config());
  const at::Tensor windows =
      data::calibration_windows(data::load_text_corpus(testdata_path(kText)), tokenizer, 16, 256, 1);
  model::LlamaLayer& layer = model->layers()[static_cast<size_t>(layer_index)];
  LayerInputs inputs;
  std::vector<std::unique_ptr<model::Linear>> originals;
  for (const model::LlamaProjection& projection : model::llama_projections()) {
    const std::string name = projection.name;
    const auto member = projection.member;
    inputs.weights[name] = static_cast<const model::DenseLinear&>(*(layer.*member)).weight().clone();
    originals.push_back(std::move(layer.*member));
    layer.*member = std::make_unique<RecordingLinear>(originals.back().get(), &inputs.hessians[name]);
  }
  model->forward(windows);
  for (auto& [name, hessian] : inputs.hessians) hessian = hessian * (2.0 / windows.size(0));
  return inputs;
}

struct Case {
  int bits;
  int64_t group_size;
  bool act_order;
};

TEST(GptqQuality, LayerErrorIsBelowRtnOnRealLayersAtEveryBitWidth) {
  LOWBIT_REQUIRE_TESTDATA(kModel);
  c10::NoGradGuard no_grad;
  for (const int64_t layer_index : {0, 3}) {
    const LayerInputs inputs = capture_layer(layer_index);
    for (const Case& c : {Case{8, 32, false}, Case{4, 32, false}, Case{4, -1, true}, Case{3, 32, true},
                          Case{3, -1, false}, Case{2, 32, false}, Case{2, -1, true}, Case{2, 32, true}}) {
      for (const auto& [name, weight] : inputs.weights) {
        if (name == "gate_proj" || name == "up_proj" || name == "down_proj") {
          if (c.group_size > 0 && weight.size(1) % c.group_size != 0) continue;  // down_proj: K = 172
        }
        QuantConfig config;
        config.bits = c.bits;
        config.group_size = c.group_size;
        config.desc_act = c.act_order;
        const at::Tensor& hessian = inputs.hessians.at(name);
        const double gptq = relative_output_error(weight, dequantize(gptq_quantize(weight, hessian, config)), hessian);
        QuantConfig rtn_config = config;
        rtn_config.desc_act = false;
        const double rtn = relative_output_error(weight, dequantize(rtn_quantize(weight, rtn_config)), hessian);
        EXPECT_LT(gptq, rtn) << "layer " << layer_index << " " << name << " bits " << c.bits << " group "
                             << c.group_size << (c.act_order ? " act-order" : "");
        EXPECT_GT(gptq, 0.0);
        if (layer_index == 0 && name == "q_proj") {
          std::printf("layer 0 q_proj, %d-bit group %lld%s: ‖ΔWX‖²/‖WX‖² GPTQ %.3e, RTN %.3e\n", c.bits,
                      static_cast<long long>(c.group_size), c.act_order ? " act-order" : "", gptq, rtn);
        }
      }
    }
  }
}

TEST(Gptq, PackingRoundTripsEveryBitWidthAndBothFormats) {
  at::manual_seed(3);
  for (const int bits : {2, 3, 4, 8}) {
    for (const int zero_offset : {0, 1}) {
      QuantizedWeight q;
      q.bits = bits;
      const int64_t maxq = (1 << bits) - 1;
      q.q = at::randint(0, maxq + 1, {96, 64}, at::kInt);
      q.zeros = at::randint(zero_offset, maxq + 1, {3, 64}, at::kInt);
      q.scales = at::rand({3, 64}).add(0.01).to(at::kHalf).to(at::kFloat);
      q.g_idx = at::randperm(96, at::kLong).div(32, "floor").to(at::kInt);
      const QuantizedWeight back = unpack_gptq(pack_gptq(q, zero_offset), bits, zero_offset);
      EXPECT_TRUE(at::equal(back.q, q.q)) << bits << "-bit";
      EXPECT_TRUE(at::equal(back.zeros, q.zeros)) << bits << "-bit, offset " << zero_offset;
      EXPECT_TRUE(at::equal(back.g_idx, q.g_idx));
      // The kernel's dequantization of the packed tensors equals the formula on the unpacked ones.
      const QuantLinear linear(pack_gptq(q, zero_offset), bits, zero_offset, at::Tensor(), at::kCPU);
      EXPECT_TRUE(at::equal(linear.dequantized_weight(), dequantize(q))) << bits << "-bit";
    }
  }
}

TEST(Gptq, V1CannotHoldAZeroPointOfZero) {
  QuantizedWeight q;
  q.bits = 4;
  q.q = at::zeros({32, 32}, at::kInt);
  q.zeros = at::zeros({1, 32}, at::kInt);
  q.scales = at::ones({1, 32});
  q.g_idx = at::zeros({32}, at::kInt);
  EXPECT_THROW(pack_gptq(q, /*zero_offset=*/1), InternalError);
  EXPECT_NO_THROW(pack_gptq(q, /*zero_offset=*/0));
}

TEST(Gptq, SymmetricGridAndDeadColumns) {
  // A weight whose inputs never fire in column 5: GPTQ quantizes that column to exactly zero.
  at::manual_seed(9);
  const at::Tensor weight = at::randn({64, 64});
  at::Tensor x = at::randn({512, 64});
  x.select(1, 5).zero_();
  const at::Tensor hessian = x.t().matmul(x) * (2.0 / 512);
  QuantConfig config;
  config.bits = 4;
  config.group_size = 32;
  const QuantizedWeight q = gptq_quantize(weight, hessian, config);
  EXPECT_TRUE((dequantize(q).select(1, 5) == 0).all().item<bool>());
  EXPECT_TRUE((q.zeros == 8).all().item<bool>()) << "symmetric 4-bit grids have zero point 8";
  EXPECT_TRUE(at::equal(q.scales, q.scales.to(at::kHalf).to(at::kFloat))) << "scales are stored as fp16";
}

// SmolLM2's 576 inputs at group size 128: four full groups and a last one of 64 columns, as AutoGPTQ lays it out
// (ceil(K / group) rows of scales and qzeros); with and without act-order, the grid of each column is its group's.
TEST(Gptq, ALastGroupNarrowerThanTheOthers) {
  at::manual_seed(11);
  const at::Tensor weight = at::randn({64, 96});
  const at::Tensor x = at::randn({512, 96});
  const at::Tensor hessian = x.t().matmul(x) * (2.0 / 512);
  for (const bool act_order : {false, true}) {
    QuantConfig config;
    config.bits = 4;
    config.group_size = 64;
    config.desc_act = act_order;
    const QuantizedWeight q = gptq_quantize(weight, hessian, config);
    ASSERT_EQ(q.scales.size(0), 2) << "96 columns in groups of 64: 2 groups";
    const at::Tensor columns_per_group = at::bincount(q.g_idx.to(at::kLong));
    EXPECT_EQ(columns_per_group[0].item<int64_t>(), 64);
    EXPECT_EQ(columns_per_group[1].item<int64_t>(), 32);
    const double error = relative_output_error(weight, dequantize(q), hessian);
    const double rtn = relative_output_error(weight, dequantize(rtn_quantize(weight, config)), hessian);
    EXPECT_LT(error, rtn) << "act-order " << act_order;
    EXPECT_LT(error, 0.05);
    const QuantLinear linear(pack_gptq(q, 0), 4, 0, at::Tensor(), at::kCPU);
    EXPECT_TRUE(at::equal(linear.dequantized_weight(), dequantize(q)));
  }
  QuantConfig config;
  config.bits = 4;
  config.group_size = 64;
  EXPECT_EQ(rtn_quantize(weight, config).scales.size(0), 2);
}

class QuantizeJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LOWBIT_REQUIRE_TESTDATA(kModel);
    dir = fs::temp_directory_path() / ("lowbit-quantize-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  QuantizeSettings params(const std::string& name) {
    QuantizeSettings p;
    p.device = "cpu";
    p.model_dir = testdata_path(kModel);
    p.out_dir = dir / name;
    p.calibration = testdata_path(kText);
    p.nsamples = 8;
    p.seqlen = 128;
    p.config.bits = 4;
    p.config.group_size = 32;
    return p;
  }
  fs::path dir;
};

TEST_F(QuantizeJobTest, WritesALoadableCheckpointWhoseLogitsStayClose) {
  jobs::IgnoreEvents events;
  QuantizeSettings p = params("q4");
  p.config.bits = 8;
  QuantizeJob job(p);
  job.run(events, jobs::CancelToken());
  for (const char* file : {"config.json", "quantize_config.json", "model.safetensors", "tokenizer.model"}) {
    EXPECT_TRUE(fs::exists(p.out_dir / file)) << file;
  }
  EXPECT_FALSE(fs::exists(dir / "q4.partial"));
  c10::NoGradGuard no_grad;
  const auto quantized = model::LlamaModel::load(p.out_dir, {at::kCPU, at::kFloat});
  const auto original = model::LlamaModel::load(p.model_dir, {at::kCPU, at::kFloat});
  ASSERT_TRUE(quantized->quantization().has_value());
  EXPECT_EQ(quantized->config().intermediate_size, 192) << "172 padded to a multiple of 32";
  at::manual_seed(0);
  const at::Tensor ids = at::randint(3, 512, {4, 64}, at::kLong);
  const at::Tensor a = original->forward(ids), b = quantized->forward(ids);
  // 8-bit weights (and the fp16 embeddings GPTQ checkpoints carry) move the logits by well under 1 % in RMS;
  // the largest single logit may move ~2 %.
  const double relative = (a - b).norm().item<double>() / a.norm().item<double>();
  std::printf("8-bit GPTQ vs FP32 logits: relative RMS difference %.3e\n", relative);
  EXPECT_LT(relative, 0.01);
  EXPECT_GT(relative, 0.0);
}

TEST_F(QuantizeJobTest, AnExistingOutputFolderIsNeverOverwritten) {
  fs::create_directories(dir / "taken");
  std::ofstream(dir / "taken" / "keep.txt") << "mine";
  jobs::IgnoreEvents events;
  QuantizeJob job(params("taken"));
  EXPECT_THROW(job.run(events, jobs::CancelToken()), InputError);
  EXPECT_TRUE(fs::exists(dir / "taken" / "keep.txt"));
}

TEST_F(QuantizeJobTest, CancellingHalfwayLeavesNoOutput) {
  jobs::CancelToken cancel;
  testing::CancelAtProgress events(cancel, /*done=*/2);
  QuantizeJob job(params("cancelled"));
  EXPECT_THROW(job.run(events, cancel), Cancelled);
  EXPECT_FALSE(fs::exists(dir / "cancelled"));
  EXPECT_FALSE(fs::exists(dir / "cancelled.partial"));
}

TEST_F(QuantizeJobTest, GptqWithoutCalibrationTextIsAnInputError) {
  QuantizeSettings p = params("nocalib");
  p.calibration.reset();
  jobs::IgnoreEvents events;
  QuantizeJob job(p);
  EXPECT_THROW(job.run(events, jobs::CancelToken()), InputError);
}

TEST_F(QuantizeJobTest, AllZeroBiasAsInTheBlokeEraFilesIsAccepted) {
  jobs::IgnoreEvents events;
  QuantizeSettings p = params("with-bias");
  p.config.desc_act = true;
  p.config.bits = 3;
  QuantizeJob job(p);
  job.run(events, jobs::CancelToken());
  c10::NoGradGuard no_grad;
  const auto before = model::LlamaModel::load(p.out_dir, {at::kCPU, at::kFloat});
  // Rewrite the checkpoint with a zero fp16 bias per quantized projection.
  const auto file = model::SafetensorsFile::open(p.out_dir / "model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, info] : file->tensors()) {
    tensors.emplace_back(name, file->tensor(name).clone());
    if (name.size() > 8 && name.compare(name.size() - 8, 8, ".qweight") == 0) {
      tensors.emplace_back(name.substr(0, name.size() - 8) + ".bias", at::zeros({info.shape[1]}, at::kHalf));
    }
  }
  model::save_safetensors(p.out_dir / "model.safetensors", tensors);
  const auto after = model::LlamaModel::load(p.out_dir, {at::kCPU, at::kFloat});
  const at::Tensor ids = at::randint(3, 512, {1, 32}, at::kLong);
  EXPECT_TRUE(at::equal(before->forward(ids), after->forward(ids)));
}

// Qwen2's q/k/v biases survive quantization: written beside qweight as GPTQ loaders expect, and applied again.
TEST(QuantizeQwen2, BiasesAreKeptAndTheLogitsStayClose) {
  LOWBIT_REQUIRE_FIXTURE("random/qwen2_mha_untied/config.json");
  const fs::path source = testing::fixtures_dir() / "random" / "qwen2_mha_untied";
  const fs::path out = fs::temp_directory_path() / ("lowbit-qwen2-" + std::to_string(::getpid()));
  fs::remove_all(out);
  QuantizeSettings p;
  p.device = "cpu";
  p.model_dir = source;
  p.out_dir = out;
  p.config.method = QuantMethod::Rtn;
  p.config.bits = 8;
  p.config.group_size = 32;
  jobs::IgnoreEvents events;
  QuantizeJob(p).run(events, jobs::CancelToken());
  const auto file = model::SafetensorsFile::open(out / "model.safetensors");
  for (const char* name : {"model.layers.0.self_attn.q_proj.bias", "model.layers.1.self_attn.v_proj.bias"}) {
    EXPECT_TRUE(file->contains(name)) << name;
  }
  EXPECT_FALSE(file->contains("model.layers.0.self_attn.o_proj.bias")) << "Qwen2's o_proj has no bias";
  c10::NoGradGuard no_grad;
  const auto quantized = model::LlamaModel::load(out, {at::kCPU, at::kFloat});
  const auto original = model::LlamaModel::load(source, {at::kCPU, at::kFloat});
  at::manual_seed(0);
  const at::Tensor ids = at::randint(0, original->config().vocab_size, {2, 16}, at::kLong);
  const at::Tensor a = original->forward(ids), b = quantized->forward(ids);
  const double relative = (a - b).norm().item<double>() / a.norm().item<double>();
  // Random N(0, 0.25²) weights through two layers amplify the 8-bit rounding more than a trained model does.
  EXPECT_LT(relative, 0.05);
  // The same checkpoint with the biases zeroed is far off: the biases are really applied.
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, info] : file->tensors()) {
    const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    tensors.emplace_back(name, is_bias ? at::zeros_like(file->tensor(name)) : file->tensor(name).clone());
  }
  model::save_safetensors(out / "model.safetensors", tensors);
  const double without_bias =
      (a - model::LlamaModel::load(out, {at::kCPU, at::kFloat})->forward(ids)).norm().item<double>() /
      a.norm().item<double>();
  std::printf("Qwen2 8-bit RTN vs FP32 logits: relative RMS difference %.3e (%.3e with the biases zeroed)\n",
              relative, without_bias);
  EXPECT_GT(without_bias, 5 * relative);
  fs::remove_all(out);
}

TEST(QuantizeQwen2, AMissingBiasIsNamed) {
  LOWBIT_REQUIRE_FIXTURE("random/qwen2_mha_untied/config.json");
  const fs::path source = testing::fixtures_dir() / "random" / "qwen2_mha_untied";
  const fs::path copy = fs::temp_directory_path() / ("lowbit-qwen2-nobias-" + std::to_string(::getpid()));
  fs::remove_all(copy);
  fs::create_directories(copy);
  fs::copy_file(source / "config.json", copy / "config.json");
  const auto file = model::SafetensorsFile::open(source / "model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, info] : file->tensors()) {
    if (name != "model.layers.1.self_attn.k_proj.bias") tensors.emplace_back(name, file->tensor(name));
  }
  model::save_safetensors(copy / "model.safetensors", tensors);
  try {
    model::LlamaModel::load(copy, {at::kCPU, at::kFloat});
    ADD_FAILURE() << "a Qwen2 checkpoint without k_proj.bias loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.self_attn.k_proj.bias' is missing"), std::string::npos)
        << e.what();
  }
  fs::remove_all(copy);
}

}  // namespace
}  // namespace lowbit::quant

namespace lowbit::quant {
namespace {

namespace fs = std::filesystem;

// scripts/make_gptq_fixtures.py packs random codes with its own numpy implementation of the format.
TEST(GptqFormat, PackingEqualsTheIndependentNumpyImplementation) {
  const fs::path folder(LOWBIT_GPTQ_FIXTURES_DIR);
  if (!fs::exists(folder / "done.json")) GTEST_SKIP() << "numpy GPTQ fixtures not made (scripts/make_gptq_fixtures.py)";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("pack_", 0) != 0 || entry.path().extension() != ".safetensors") continue;
    const auto file = model::SafetensorsFile::open(entry.path());
    const int bits = std::stoi(name.substr(5));
    auto expect_layout = [&](const char* zeros_name, const char* qzeros_name, const char* dequant_name, int offset) {
      if (!file->contains(zeros_name)) return;
      QuantizedWeight q;
      q.bits = bits;
      q.q = file->tensor("q");
      q.zeros = file->tensor(zeros_name);
      q.scales = file->tensor("scales").to(at::kFloat);
      q.g_idx = file->tensor("g_idx");
      const GptqTensors packed = pack_gptq(q, offset);
      EXPECT_TRUE(at::equal(packed.qweight, file->tensor("qweight"))) << name << " qweight";
      EXPECT_TRUE(at::equal(packed.qzeros, file->tensor(qzeros_name))) << name << " " << qzeros_name;
      GptqTensors theirs{file->tensor("qweight"), file->tensor(qzeros_name), file->tensor("scales"), q.g_idx};
      const QuantizedWeight back = unpack_gptq(theirs, bits, offset);
      EXPECT_TRUE(at::equal(back.q, q.q)) << name;
      EXPECT_TRUE(at::equal(back.zeros, q.zeros)) << name;
      const QuantLinear linear(theirs, bits, offset, at::Tensor(), at::kCPU);
      EXPECT_TRUE(at::equal(linear.dequantized_weight().t(), file->tensor(dequant_name))) << name << " " << dequant_name;
    };
    expect_layout("zeros", "qzeros_v2", "dequant", 0);
    expect_layout("zeros_v1", "qzeros_v1", "dequant_v1", 1);
    ++files;
  }
  EXPECT_GE(files, 20) << "expected the fixture files of every bit width, shape, group size and g_idx variant";
}

// A checkpoint we write, read by an outside consumer: scripts/check_gptq_checkpoint.py dequantizes it with its
// own numpy code and compares with the weights LowBit's loader produces, bit for bit.
TEST(GptqCheckpoint, PythonReadsTheWeightsLowBitReads) {
  LOWBIT_REQUIRE_TESTDATA(kModel);
  const fs::path checker = fs::path(LOWBIT_SOURCE_DIR) / "scripts/check_gptq_checkpoint.py";
  if (std::system((std::string("'") + LOWBIT_PYTHON + "' -c 'import numpy, safetensors' 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << LOWBIT_PYTHON << " has no numpy/safetensors (run scripts/setup.sh)";
  }
  const fs::path dir = fs::temp_directory_path() / ("lowbit-interop-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  struct Variant { const char* name; int bits; int64_t group; bool act_order; bool sym; };
  for (const Variant& v : {Variant{"b3-g32-act-sym", 3, 32, true, true}, Variant{"b2-pc-asym", 2, -1, false, false},
                           Variant{"b4-g64", 4, 64, false, true}, Variant{"b8-g32-act-asym", 8, 32, true, false}}) {
    QuantizeSettings p;
    p.device = "cpu";
    p.model_dir = testdata_path(kModel);
    p.out_dir = dir / v.name;
    p.calibration = testdata_path(kText);
    p.nsamples = 8;
    p.seqlen = 128;
    p.config.bits = v.bits;
    p.config.group_size = v.group;
    p.config.desc_act = v.act_order;
    p.config.sym = v.sym;
    jobs::IgnoreEvents events;
    QuantizeJob job(p);
    job.run(events, jobs::CancelToken());
    const auto model = model::LlamaModel::load(p.out_dir, {at::kCPU, at::kFloat});
    std::vector<std::pair<std::string, at::Tensor>> reference;
    for (size_t layer = 0; layer < model->layers().size(); ++layer) {
      for (const model::LlamaProjection& projection : model::llama_projections()) {
        const auto& linear = dynamic_cast<const QuantLinear&>(*(model->layers()[layer].*projection.member));
        const model::LlamaTensorSpec* spec = nullptr;
        for (const auto& s : model::llama_tensor_names(model->config().architecture)) {
          if (s.tensor == projection.tensor) spec = &s;
        }
        reference.emplace_back(model::hf_tensor_name(*spec, static_cast<int64_t>(layer)),
                               linear.dequantized_weight().contiguous());
      }
    }
    model::save_safetensors(dir / (std::string(v.name) + "-reference.safetensors"), reference);
    const std::string command = std::string("'") + LOWBIT_PYTHON + "' '" + checker.string() + "' '" +
                                p.out_dir.string() + "' --reference '" +
                                (dir / (std::string(v.name) + "-reference.safetensors")).string() + "'";
    EXPECT_EQ(std::system(command.c_str()), 0) << v.name << ": " << command;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lowbit::quant
