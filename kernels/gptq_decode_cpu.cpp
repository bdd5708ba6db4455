// The decode product on the CPU: columns in blocks of kBlock, each block's rows·kBlock accumulators in cache; for
// every k the block's weights are dequantized into a small vector (never to memory) and multiplied into every
// row. The loops over the block's columns are the ones the compiler vectorises.
#include <algorithm>
#include <vector>

#include "kernels/cpu_parallel.h"
#include "kernels/gptq_decode.h"
#include "kernels/gptq_format.h"

namespace lowbit::kernels {
namespace {

constexpr int64_t kBlock = 64;

// Builds for x86-64 target the SSE2 baseline every such CPU has; this loop also gets an AVX2 clone that the loader
// picks where the CPU has it (function multiversioning). Each output is the same sum in the same order either way.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define LOWBIT_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define LOWBIT_AVX2_CLONE
#endif

LOWBIT_AVX2_CLONE void decode_block(const GptqLayerView& layer, const float* x, int64_t rows, int64_t n_begin, int64_t width, float* y) {
  const int64_t n_out = layer.n_out;
  const int bits = layer.bits;
  const uint32_t mask = gptq::max_q(bits);
  float scale[kBlock], zero[kBlock], weight[kBlock];
  std::vector<float> accumulators(static_cast<size_t>(rows * kBlock), 0.0f);
  int64_t current_group = -1;
  for (int64_t k = 0; k < layer.k_in; ++k) {
    const int64_t group = layer.g_idx[k];
    if (group != current_group) {
      for (int64_t j = 0; j < width; ++j) {
        const int64_t n = n_begin + j;
        scale[j] = gptq::half_bits_to_float(layer.scales[group * n_out + n]);
        zero[j] = static_cast<float>(gptq::zero_point(layer.qzeros, n_out, group, n, bits, layer.zero_offset));
      }
      current_group = group;
    }
    const int64_t bit = k * bits;
    const int shift = static_cast<int>(bit & 31);
    const auto* words = reinterpret_cast<const uint32_t*>(layer.qweight) + (bit >> 5) * n_out + n_begin;
    if (shift + bits > 32) {
      const uint32_t* next = words + n_out;
      for (int64_t j = 0; j < width; ++j) {
        const uint32_t q = ((words[j] >> shift) | (next[j] << (32 - shift))) & mask;
        weight[j] = scale[j] * (static_cast<float>(q) - zero[j]);
      }
    } else {
      for (int64_t j = 0; j < width; ++j) {
        weight[j] = scale[j] * (static_cast<float>((words[j] >> shift) & mask) - zero[j]);
      }
    }
    for (int64_t m = 0; m < rows; ++m) {
      const float xv = x[m * layer.k_in + k];
      float* accumulator = accumulators.data() + m * kBlock;
      for (int64_t j = 0; j < width; ++j) accumulator[j] += xv * weight[j];
    }
  }
  for (int64_t m = 0; m < rows; ++m) {
    std::copy_n(accumulators.data() + m * kBlock, width, y + m * n_out + n_begin);
  }
}

}  // namespace

Status gptq_decode_cpu(const GptqLayerView& layer, const float* x, int64_t rows, float* y) {
  if (const Status status = validate(layer); status != Status::Ok) return status;
  if (rows < 1 || rows > kMaxDecodeRows) return Status::NoKernelForConfig;
  for (int64_t k = 0; k < layer.k_in; ++k) {
    if (layer.g_idx[k] < 0 || layer.g_idx[k] >= layer.groups) return Status::UnsupportedShape;
  }
  const int64_t blocks = (layer.n_out + kBlock - 1) / kBlock;
  // A task below ~64k weights costs more to hand out than to do.
  const int64_t min_blocks = std::max<int64_t>(1, (1 << 16) / (kBlock * layer.k_in));
  parallel_for(blocks, min_blocks, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t n_begin = b * kBlock;
      decode_block(layer, x, rows, n_begin, std::min(kBlock, layer.n_out - n_begin), y);
    }
  });
  return Status::Ok;
}

}  // namespace lowbit::kernels
