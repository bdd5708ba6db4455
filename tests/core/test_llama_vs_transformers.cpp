// The LLaMA forward equals transformers' LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM (q/k/v biases)
// on random tiny configurations (GQA, MHA, tied and untied embeddings, llama3 and linear rope scaling, explicit
// head_dim, Mistral with and without a sliding window shorter than the input, sharded and F16/BF16 checkpoints);
// with and without the KV cache.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "tests/support/fixtures.h"
#include "tests/support/tolerances.h"

namespace lowbit::model {
namespace {

using testing::fixtures_dir;

double relative_max_error(const at::Tensor& actual, const at::Tensor& expected) {
  const double scale = expected.abs().max().item<double>();
  EXPECT_GT(scale, 0.1) << "reference logits are near zero; the comparison would prove nothing";
  return (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>() / scale;
}

class LlamaVsTransformers : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaVsTransformers, LogitsMatchInFp32) {
  const std::string name = GetParam();
  LOWBIT_REQUIRE_FIXTURE("random/" + name + "/reference.safetensors");
  const std::filesystem::path folder = fixtures_dir() / "random" / name;
  c10::InferenceMode inference;
  const auto model = LlamaModel::load(folder, {at::kCPU, at::kFloat});
  const auto reference = SafetensorsFile::open(folder / "reference.safetensors");
  const at::Tensor ids = reference->tensor("input_ids");
  const at::Tensor expected = reference->tensor("logits");
  const at::Tensor logits = model->forward(ids);
  ASSERT_EQ(logits.sizes(), expected.sizes());
  const double error = relative_max_error(logits, expected);
  const double error_fp64 = relative_max_error(logits, reference->tensor("logits_fp64"));
  std::printf("%s: max |ours - transformers fp32| / max |logit| = %.3g, vs fp64 = %.3g\n", name.c_str(), error,
              error_fp64);
  EXPECT_LE(error, testing::kLogitsRelativeTolerance);
  EXPECT_LE(error_fp64, testing::kLogitsRelativeTolerance);
}

TEST_P(LlamaVsTransformers, KvCacheGivesTheSameLogitsAsOnePass) {
  const std::string name = GetParam();
  LOWBIT_REQUIRE_FIXTURE("random/" + name + "/reference.safetensors");
  const std::filesystem::path folder = fixtures_dir() / "random" / name;
  c10::InferenceMode inference;
  const auto model = LlamaModel::load(folder, {at::kCPU, at::kFloat});
  const auto reference = SafetensorsFile::open(folder / "reference.safetensors");
  const at::Tensor ids = reference->tensor("input_ids");
  const at::Tensor expected = reference->tensor("logits");
  const int64_t length = ids.size(1);
  KvCache cache = model->make_cache(ids.size(0), length);
  std::vector<at::Tensor> pieces = {model->forward(ids.narrow(1, 0, 7), &cache),   // prefill
                                    model->forward(ids.narrow(1, 7, 5), &cache)};  // a chunk after a prefix
  for (int64_t t = 12; t < length; ++t) pieces.push_back(model->forward(ids.narrow(1, t, 1), &cache));
  EXPECT_EQ(cache.length, length);
  EXPECT_LE(relative_max_error(at::cat(pieces, 1), expected), testing::kLogitsRelativeTolerance);
}

INSTANTIATE_TEST_SUITE_P(RandomConfigs, LlamaVsTransformers,
                         ::testing::Values("llama_gqa_untied", "llama_mha_tied", "llama3_rope", "llama_linear_rope",
                                           "llama_head_dim", "mistral_gqa", "mistral_sliding_window", "llama_sharded", "llama_gqa_f16",
                                           "llama_gqa_bf16", "qwen2_gqa_tied", "qwen2_mha_untied"));

TEST(RopeFrequencies, Llama3ScalingChangesOnlyLongWavelengths) {
  LlamaConfig config;
  config.head_dim = 64;
  config.rope_theta = 500000;
  const at::Tensor plain = rope_inverse_frequencies(config);
  config.rope_scaling = {RopeScalingType::Llama3, 8.0, 1.0, 4.0, 8192};
  const at::Tensor scaled = rope_inverse_frequencies(config);
  EXPECT_FLOAT_EQ(scaled[0].item<float>(), plain[0].item<float>());             // short wavelength: kept
  EXPECT_FLOAT_EQ(scaled[-1].item<float>(), plain[-1].item<float>() / 8.0f);    // long wavelength: divided
}

}  // namespace
}  // namespace lowbit::model
