// The CUDA forward (fp32, fp16, bf16; with and without the KV cache) against the float32 CPU forward of the same
// random checkpoint, dense and GPTQ 4-bit. Runs with `ctest -L gpu`; skipped without a GPU (a failure under
// LOWBIT_REQUIRE_GPU=1).
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <c10/core/InferenceMode.h>

#include "core/jobs/job.h"
#include "core/model/llama_model.h"
#include "core/quant/quantize_job.h"
#include "tests/support/device_case.h"
#include "tests/support/gpu_required.h"
#include "tests/support/random_model.h"

namespace lowbit::model {
namespace {

using testing::Precision;

// fp16 keeps 11 significant bits and bf16 8: over two layers of a random model the rounding of activations
// reaches ~1e-3 (fp16) and ~1e-2 (bf16) of the largest logit; fp32 differs from the CPU only by summation order.
const Precision kPrecisions[] = {{at::kFloat, 1e-4}, {at::kHalf, 1e-2}, {at::kBFloat16, 4e-2}};

// The model in `folder` on CUDA in every dtype, one pass and through the KV cache (20 prompt tokens, then one at a
// time), against its float32 forward on the CPU.
void expect_cuda_logits_match_the_cpu(const std::filesystem::path& folder, const std::string& label) {
  c10::InferenceMode inference;
  const at::Tensor ids = at::randint(0, 320, {2, 33}, at::kLong);
  const auto cpu_model = LlamaModel::load(folder, {at::kCPU, at::kFloat});
  const at::Tensor expected = cpu_model->forward(ids);
  const double scale = expected.abs().max().item<double>();
  ASSERT_GT(scale, 0.1);
  for (const Precision& precision : kPrecisions) {
    const auto gpu_model = LlamaModel::load(folder, {at::Device(at::kCUDA, 0), precision.dtype});
    const at::Tensor full = gpu_model->forward(ids).to(at::kCPU, at::kFloat);
    KvCache cache = gpu_model->make_cache(2, 33);
    std::vector<at::Tensor> pieces = {gpu_model->forward(ids.narrow(1, 0, 20), &cache)};
    for (int64_t t = 20; t < 33; ++t) pieces.push_back(gpu_model->forward(ids.narrow(1, t, 1), &cache));
    const at::Tensor cached = at::cat(pieces, 1).to(at::kCPU, at::kFloat);
    const double error_full = (full - expected).abs().max().item<double>() / scale;
    const double error_cached = (cached - expected).abs().max().item<double>() / scale;
    std::printf("%s %s: relative max error %.3g (one pass), %.3g (KV cache)\n", label.c_str(),
                c10::toString(precision.dtype), error_full, error_cached);
    EXPECT_LE(error_full, precision.relative_tolerance) << label << " " << c10::toString(precision.dtype);
    EXPECT_LE(error_cached, precision.relative_tolerance) << label << " " << c10::toString(precision.dtype);
  }
}

TEST(ModelGpu, CudaLogitsMatchTheCpuInEveryDtype) {
  if (!at::hasCUDA()) LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU("no CUDA device");
  const auto folder = std::filesystem::temp_directory_path() / ("lowbit-gpu-model-" + std::to_string(::getpid()));
  testing::write_random_llama(folder, 17);
  expect_cuda_logits_match_the_cpu(folder, "dense");
  std::filesystem::remove_all(folder);
}

TEST(ModelGpu, QuantizedModelOnCudaMatchesTheCpuInEveryDtype) {
  // A GPTQ 4-bit model (RTN on the random checkpoint): one pass takes the dequantize-and-GEMM path, the KV-cache
  // steps (one row) the fused decode kernel; both against the CPU's float32 forward of the same packed weights.
  if (!at::hasCUDA()) LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU("no CUDA device");
  const auto folder = std::filesystem::temp_directory_path() / ("lowbit-gpu-qmodel-" + std::to_string(::getpid()));
  testing::write_random_llama(folder / "fp32", 18);
  quant::QuantizeSettings settings;
  settings.device = "cpu";
  settings.model_dir = folder / "fp32";
  settings.out_dir = folder / "int4";
  settings.config.bits = 4;
  settings.config.group_size = 32;
  settings.config.method = quant::QuantMethod::Rtn;
  jobs::IgnoreEvents events;
  quant::QuantizeJob(settings).run(events, jobs::CancelToken());
  expect_cuda_logits_match_the_cpu(folder / "int4", "INT4");
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace lowbit::model
