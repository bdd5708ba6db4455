// Dequantize a GPTQ layer to a dense [K, N] matrix: the prefill/training path (rows > 16, where tensor-core GEMMs
// on the dense tile win) and the float reference the fused decode kernels are checked against. Layout and formula:
// kernels/gptq_format.h.
//
//   Status s = gptq_dequantize_cpu(layer, out);                           // float32
//   Status s = gptq_dequantize_cuda(layer, out, ElementType::Float16, stream);
#pragma once

#include <cstdint>

#include "kernels/status.h"

struct CUstream_st;

namespace lowbit::kernels {

// Activation element types the kernels read and write.
enum class ElementType { Float32, Float16, BFloat16 };

inline int element_bytes(ElementType type) { return type == ElementType::Float32 ? 4 : 2; }

struct GptqLayerView {
  const int32_t* qweight;  // [K·bits/32, N]
  const int32_t* qzeros;   // [groups, N·bits/32]
  const uint16_t* scales;  // [groups, N] IEEE half, as stored in the checkpoint
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

// The same on the GPU, into `out` [K, N] of `out_type` (the activation dtype, so that the GEMM that follows reads
// half the bytes of a float32 copy). All pointers are device pointers; runs on `stream`.
Status gptq_dequantize_cuda(const GptqLayerView& layer, void* out, ElementType out_type, CUstream_st* stream);

}  // namespace lowbit::kernels
