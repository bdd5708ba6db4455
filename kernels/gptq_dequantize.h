// Dequantize a GPTQ layer to a dense [K, N] float matrix: the "dequantize to a buffer" path (and the baseline the
// fused kernels are measured against). Layout and formula: kernels/gptq_format.h.
//
//   Status s = gptq_dequantize_cpu(qweight, qzeros, scales, g_idx, K, N, bits, zero_offset, out);
#pragma once

#include <cstdint>

#include "kernels/status.h"

struct CUstream_st;

namespace lowbit::kernels {

struct GptqLayerView {
  const int32_t* qweight;  // [K·bits/32, N]
  const int32_t* qzeros;   // [groups, N·bits/32]
  const float* scales;     // [groups, N]
  const int32_t* g_idx;    // [K], each in [0, groups)
  int64_t k_in;
  int64_t n_out;
  int64_t groups;
  int bits;
  int zero_offset;         // 1 for checkpoint_format "gptq" (v1), 0 for "gptq_v2"
};

// Checks the sizes the format requires (K·bits and N·bits multiples of 32, supported bits).
Status validate(const GptqLayerView& layer);

// out: [K, N] float32, row-major. Multi-threaded over rows.
Status gptq_dequantize_cpu(const GptqLayerView& layer, float* out);

// The same on the GPU: all pointers are device pointers; out [K, N] float32.
Status gptq_dequantize_cuda(const GptqLayerView& layer, float* out, CUstream_st* stream);

}  // namespace lowbit::kernels
