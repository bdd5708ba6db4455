// `lowbit bench kernels`: the quantized projection's forward (y = x·W) and input gradient (dx = dy·Wᵀ) beside
// the two things it replaces, timed in one run on one device: the dense weight in the activation dtype (fp16
// cuBLAS on a GPU, fp32 on the CPU) and "dequantize to fp32, cast, then GEMM" (what QuantLinear did before the
// fused kernels). Every configuration is first checked against an fp32 product of the dequantized weight; a
// mismatch stops the run with an InternalError rather than timing a wrong kernel.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <utility>
#include <vector>

#include "core/jobs/job.h"

namespace lowbit::quant {

struct KernelBenchSettings {
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;
  std::vector<std::pair<int64_t, int64_t>> shapes;  // (K, N): LLaMA-7B's 4096×4096, 4096×11008, 11008×4096
  std::vector<int64_t> rows;                        // 1, 4, 16 (decode), 256, 2048 (prefill, training)
  std::vector<int> bits;
  int64_t group_size = 128;
  int64_t repeats = 20;
};

KernelBenchSettings default_kernel_bench_settings(at::Device device);

struct KernelBenchRow {
  int64_t k_in = 0, n_out = 0, rows = 0;
  int bits = 0;
  // Seconds per call.
  double forward_s = 0, input_grad_s = 0;                  // ours
  double dense_forward_s = 0, dense_input_grad_s = 0;      // dense weight in the activation dtype
  double fp32_forward_s = 0, fp32_input_grad_s = 0;        // dequantize to fp32, cast, GEMM
  double forward_bytes = 0;                                // packed weight + x + y: what the forward must read/write
  double forward_error = 0, input_grad_error = 0;          // relative max error vs the fp32 product
  bool decode_kernel = false;                              // whether the forward took the fused decode kernel
};

// Relative max error allowed against the fp32 product of the dequantized weight, per activation dtype.
double kernel_bench_tolerance(at::ScalarType dtype);

// Runs every shape × rows × bits; on_row is called as each finishes (progress). Throws InternalError when a
// result is outside kernel_bench_tolerance.
std::vector<KernelBenchRow> run_kernel_bench(const KernelBenchSettings& settings,
                                             const std::function<void(const KernelBenchRow&, int64_t done,
                                                                      int64_t total)>& on_row,
                                             const jobs::CancelToken& cancel);

}  // namespace lowbit::quant
