#include <algorithm>
#include <vector>

#include "kernels/cpu_parallel.h"
#include "kernels/gptq_dequantize.h"
#include "kernels/gptq_format.h"

namespace lowbit::kernels {

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
  const int64_t n_out = layer.n_out;
  const int bits = layer.bits;
  const uint32_t mask = gptq::max_q(bits);
  parallel_for(layer.k_in, std::max<int64_t>(1, (1 << 16) / n_out), [&](int64_t begin, int64_t end) {
    // A group's scales and zero points as floats, refilled when the group changes (rarely, once rows are in
    // group order); s·(q − z) with q − z exact in float, so the result equals the float64 value.
    std::vector<float> scale(n_out), zero(n_out);
    int64_t current_group = -1;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t group = layer.g_idx[k];
      if (group != current_group) {
        for (int64_t n = 0; n < n_out; ++n) {
          scale[n] = gptq::half_bits_to_float(layer.scales[group * n_out + n]);
          zero[n] = static_cast<float>(gptq::zero_point(layer.qzeros, n_out, group, n, bits, layer.zero_offset));
        }
        current_group = group;
      }
      const int64_t bit = k * bits;
      const int shift = static_cast<int>(bit & 31);
      const auto* words = reinterpret_cast<const uint32_t*>(layer.qweight) + (bit >> 5) * n_out;
      float* row = out + k * n_out;
      if (shift + bits > 32) {
        const uint32_t* next = words + n_out;
        for (int64_t n = 0; n < n_out; ++n) {
          const uint32_t q = ((words[n] >> shift) | (next[n] << (32 - shift))) & mask;
          row[n] = scale[n] * (static_cast<float>(q) - zero[n]);
        }
      } else {
        for (int64_t n = 0; n < n_out; ++n) {
          row[n] = scale[n] * (static_cast<float>((words[n] >> shift) & mask) - zero[n]);
        }
      }
    }
  });
  return Status::Ok;
}

}  // namespace lowbit::kernels
