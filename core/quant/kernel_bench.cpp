#include "core/quant/kernel_bench.h"

#include <chrono>
#include <map>
#include <tuple>

#if __has_include(<c10/cuda/CUDAFunctions.h>)
#include <c10/cuda/CUDAFunctions.h>
#define LOWBIT_HAS_TORCH_CUDA 1
#endif

#include <c10/core/InferenceMode.h>

#include "core/quant/gptq.h"
#include "core/quant/gptq_pack.h"
#include "core/quant/quant_linear.h"
#include "core/util/errors.h"

namespace lowbit::quant {
namespace {

void synchronize(const at::Device& device) {
#ifdef LOWBIT_HAS_TORCH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

// Seconds per call: one warm-up call, then `repeats` calls between two synchronisations (GPU launches are
// asynchronous; timing each alone would measure the synchronisation).
double seconds_per_call(const at::Device& device, int64_t repeats, const std::function<at::Tensor()>& op) {
  op();
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < repeats; ++i) op();
  synchronize(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(repeats);
}

double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  const at::Tensor reference = expected.to(at::kCPU, at::kDouble);
  const double scale = reference.abs().max().item<double>();
  return (actual.to(at::kCPU, at::kDouble) - reference).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

// A random layer of the given shape stored as GPTQ: codes uniform over the bit range, fp16 scales, zero points
// mid-range, groups in order (the layout QuantLinear gives act-order layers too, after its reorder at load).
QuantLinear random_layer(int64_t k_in, int64_t n_out, int bits, int64_t group_size, const at::Device& device) {
  const int64_t groups = (k_in + group_size - 1) / group_size;
  QuantizedWeight q;
  q.bits = bits;
  q.q = at::randint(0, 1 << bits, {k_in, n_out}, at::kInt);
  q.zeros = at::randint(1, 1 << bits, {groups, n_out}, at::kInt);
  q.scales = (at::rand({groups, n_out}) * 0.02 + 0.001).to(at::kHalf).to(at::kFloat);
  q.g_idx = at::arange(k_in, at::kLong).div(group_size, "floor").to(at::kInt);
  return QuantLinear(pack_gptq(q, 1), bits, 1, at::Tensor(), device);
}

}  // namespace

KernelBenchSettings default_kernel_bench_settings(at::Device device) {
  KernelBenchSettings settings;
  settings.device = device;
  settings.dtype = device.is_cuda() ? at::kHalf : at::kFloat;
  settings.shapes = {{4096, 4096}, {4096, 11008}, {11008, 4096}};
  settings.rows = {1, 4, 16, 256, 2048};
  settings.bits = {2, 3, 4, 8};
  settings.repeats = device.is_cuda() ? 20 : 3;
  return settings;
}

double kernel_bench_tolerance(at::ScalarType dtype) {
  // Against an fp32 product: fp32 differs by summation order (K ≤ 11008 terms); fp16 and bf16 round x, the dense
  // tile and y once each.
  return dtype == at::kFloat ? 1e-4 : dtype == at::kHalf ? 5e-3 : 3e-2;
}

std::vector<KernelBenchRow> run_kernel_bench(
    const KernelBenchSettings& settings,
    const std::function<void(const KernelBenchRow&, int64_t done, int64_t total)>& on_row,
    const jobs::CancelToken& cancel) {
  c10::InferenceMode inference;
  const at::Device device = settings.device;
  const at::ScalarType dtype = settings.dtype;
  const at::TensorOptions options = at::TensorOptions().device(device).dtype(dtype);
  const int64_t total = static_cast<int64_t>(settings.shapes.size() * settings.rows.size() * settings.bits.size());
  std::vector<KernelBenchRow> rows_out;
  at::manual_seed(0);
  for (const auto& [k_in, n_out] : settings.shapes) {
    // The dense weight's times depend on the shape and rows only: measured with the first bit width, reused after.
    std::map<int64_t, std::pair<double, double>> dense_seconds;
    for (const int bits : settings.bits) {
      cancel.throw_if_cancelled();
      const QuantLinear layer = random_layer(k_in, n_out, bits, settings.group_size, device);
      const PackedGptqLayer& packed = layer.packed();
      const at::Tensor dense_fp32 = dequantize_packed(packed, at::kFloat);
      const at::Tensor dense = dense_fp32.to(dtype);  // [K, N] in the activation dtype
      const double packed_bytes = static_cast<double>(layer.weight_bytes());
      for (const int64_t row_count : settings.rows) {
        cancel.throw_if_cancelled();
        KernelBenchRow row;
        row.k_in = k_in;
        row.n_out = n_out;
        row.rows = row_count;
        row.bits = bits;
        row.decode_kernel = decode_kernel_applies(packed, row_count);
        const at::Tensor x = at::randn({row_count, k_in}, options);
        const at::Tensor dy = at::randn({row_count, n_out}, options);
        row.forward_error = relative_error(packed_matmul(packed, x), at::matmul(x.to(at::kFloat), dense_fp32));
        row.input_grad_error =
            relative_error(packed_matmul_transposed(packed, dy), at::matmul(dy.to(at::kFloat), dense_fp32.t()));
        const double tolerance = kernel_bench_tolerance(dtype);
        if (!(row.forward_error <= tolerance) || !(row.input_grad_error <= tolerance)) {
          throw InternalError("bench kernels: " + std::to_string(bits) + "-bit " + std::to_string(k_in) + "x" +
                              std::to_string(n_out) + ", " + std::to_string(row_count) +
                              " rows: the result differs from the fp32 reference (forward " +
                              std::to_string(row.forward_error) + ", input gradient " +
                              std::to_string(row.input_grad_error) + ", allowed " + std::to_string(tolerance) +
                              "); nothing was timed");
        }
        const int64_t repeats = settings.repeats;
        row.forward_s = seconds_per_call(device, repeats, [&] { return packed_matmul(packed, x); });
        row.input_grad_s = seconds_per_call(device, repeats, [&] { return packed_matmul_transposed(packed, dy); });
        if (dense_seconds.count(row_count) == 0) {
          dense_seconds[row_count] = {seconds_per_call(device, repeats, [&] { return at::matmul(x, dense); }),
                                      seconds_per_call(device, repeats, [&] { return at::matmul(dy, dense.t()); })};
        }
        std::tie(row.dense_forward_s, row.dense_input_grad_s) = dense_seconds[row_count];
        row.fp32_forward_s = seconds_per_call(
            device, repeats, [&] { return at::matmul(x, dequantize_packed(packed, at::kFloat).to(dtype)); });
        row.fp32_input_grad_s = seconds_per_call(
            device, repeats, [&] { return at::matmul(dy, dequantize_packed(packed, at::kFloat).to(dtype).t()); });
        const double element = static_cast<double>(x.element_size());
        row.forward_bytes = packed_bytes + element * static_cast<double>(row_count * (k_in + n_out));
        rows_out.push_back(row);
        if (on_row) on_row(row, static_cast<int64_t>(rows_out.size()), total);
      }
    }
  }
  return rows_out;
}

}  // namespace lowbit::quant
