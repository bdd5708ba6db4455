#include <algorithm>
#include <vector>

#include "kernels/cpu_parallel.h"
#include "kernels/gptq_cpu_rows.h"
#include "kernels/gptq_dequantize.h"

namespace lowbit::kernels {
namespace {

// Rows [begin, end) of W; a group's scales refilled when the group changes (rarely, once rows are in group order).
LOWBIT_AVX2_CLONE void dequantize_rows(const GptqLayerView& layer, int64_t begin, int64_t end, float* out) {
  std::vector<float> scale(static_cast<size_t>(layer.n_out)), zero(static_cast<size_t>(layer.n_out));
  int64_t current_group = -1;
  for (int64_t k = begin; k < end; ++k) {
    const int64_t group = layer.g_idx[k];
    if (group != current_group) {
      cpu::group_scales(layer, group, 0, layer.n_out, scale.data(), zero.data());
      current_group = group;
    }
    cpu::weight_row(layer, k, 0, layer.n_out, scale.data(), zero.data(), out + k * layer.n_out);
  }
}

}  // namespace

Status validate(const GptqLayerView& layer) {
  if (!gptq::supported_bits(layer.bits)) return Status::NoKernelForConfig;
  if (layer.k_in <= 0 || layer.n_out <= 0 || layer.groups <= 0) return Status::UnsupportedShape;
  if ((layer.k_in * layer.bits) % 32 != 0 || (layer.n_out * layer.bits) % 32 != 0) return Status::UnsupportedShape;
  return Status::Ok;
}

Status gptq_dequantize_cpu(const GptqLayerView& layer, float* out) {
  if (const Status status = validate(layer); status != Status::Ok) return status;
  for (int64_t k = 0; k < layer.k_in; ++k) {
    if (layer.g_idx[k] < 0 || layer.g_idx[k] >= layer.groups) return Status::UnsupportedShape;
  }
  parallel_for(layer.k_in, std::max<int64_t>(1, (1 << 16) / layer.n_out),
               [&](int64_t begin, int64_t end) { dequantize_rows(layer, begin, end, out); });
  return Status::Ok;
}

}  // namespace lowbit::kernels
