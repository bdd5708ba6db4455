// The two steps both CPU kernels (dequantize, decode) take over a run of columns [n_begin, n_begin + width): a
// group's scales and zero points as floats, and one input row k of weights, s·(q − z) with q − z exact in float (so
// the value equals the float64 one). Inline, so that each kernel's loops vectorise in its own (and its AVX2 clone's)
// instruction set.
#pragma once

#include <cstdint>

#include "kernels/gptq_dequantize.h"
#include "kernels/gptq_format.h"

namespace lowbit::kernels::cpu {

// x86-64 Linux builds target the SSE2 baseline every such CPU has; a function marked with this also gets an AVX2
// clone that the loader picks where the CPU has it (function multiversioning). Each output is the same sum in the
// same order either way. Not under ThreadSanitizer, whose instrumented ifunc resolver runs before its runtime is
// up and crashes the loader.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__)
#define LOWBIT_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define LOWBIT_AVX2_CLONE
#endif

inline void group_scales(const GptqLayerView& layer, int64_t group, int64_t n_begin, int64_t width, float* scale,
                         float* zero) {
  for (int64_t j = 0; j < width; ++j) {
    const int64_t n = n_begin + j;
    scale[j] = gptq::half_bits_to_float(layer.scales[group * layer.n_out + n]);
    zero[j] = static_cast<float>(gptq::zero_point(layer.qzeros, layer.n_out, group, n, layer.bits, layer.zero_offset));
  }
}

inline void weight_row(const GptqLayerView& layer, int64_t k, int64_t n_begin, int64_t width, const float* scale,
                       const float* zero, float* out) {
  const int bits = layer.bits;
  const uint32_t mask = gptq::max_q(bits);
  const int64_t bit = k * bits;
  const int shift = static_cast<int>(bit & 31);
  const auto* words = reinterpret_cast<const uint32_t*>(layer.qweight) + (bit >> 5) * layer.n_out + n_begin;
  if (shift + bits > 32) {  // a 3-bit value straddling two words
    const uint32_t* next = words + layer.n_out;
    for (int64_t j = 0; j < width; ++j) {
      const uint32_t q = ((words[j] >> shift) | (next[j] << (32 - shift))) & mask;
      out[j] = scale[j] * (static_cast<float>(q) - zero[j]);
    }
  } else {
    for (int64_t j = 0; j < width; ++j) out[j] = scale[j] * (static_cast<float>((words[j] >> shift) & mask) - zero[j]);
  }
}

}  // namespace lowbit::kernels::cpu
