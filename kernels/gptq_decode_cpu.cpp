// The decode product on the CPU: columns in blocks of kBlock, each block's rows·kBlock accumulators in cache; for
// every k the block's weights are dequantized into a small vector (never to memory) and multiplied into every
// row. The loops over the block's columns are the ones the compiler vectorises.
#include <algorithm>
#include <vector>

#include "kernels/cpu_parallel.h"
#include "kernels/gptq_cpu_rows.h"
#include "kernels/gptq_decode.h"

namespace lowbit::kernels {
namespace {

constexpr int64_t kBlock = 64;

LOWBIT_AVX2_CLONE void decode_block(const GptqLayerView& layer, const float* x, int64_t rows, int64_t n_begin,
                                     int64_t width, float* y) {
  const int64_t n_out = layer.n_out;
  float scale[kBlock], zero[kBlock], weight[kBlock];
  std::vector<float> accumulators(static_cast<size_t>(rows * kBlock), 0.0f);
  int64_t current_group = -1;
  for (int64_t k = 0; k < layer.k_in; ++k) {
    const int64_t group = layer.g_idx[k];
    if (group != current_group) {
      cpu::group_scales(layer, group, n_begin, width, scale, zero);
      current_group = group;
    }
    cpu::weight_row(layer, k, n_begin, width, scale, zero, weight);
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
