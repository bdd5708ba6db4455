// y = x·W for a few rows of activations (decode: one token per sequence, rows ≤ kMaxDecodeRows) read straight from
// the GPTQ packed layout: no dequantized matrix is ever made, so the time is that of reading the packed weight once.
// fp32 accumulation on both devices. Any g_idx is correct; the kernels are fastest when g_idx is non-decreasing
// (QuantLinear reorders act-order layers' rows once at load and permutes x instead).
//
//   Status s = gptq_decode_cpu(layer, x, rows, y);                               // float32 x [rows, K] → y [rows, N]
//   std::vector/at::empty workspace of gptq_decode_workspace_floats(layer, rows) floats (device memory), then
//   Status s = gptq_decode_cuda(layer, x, ElementType::Float16, rows, y, workspace, stream);
#pragma once

#include <cstdint>

#include "kernels/gptq_dequantize.h"

namespace lowbit::kernels {

constexpr int64_t kMaxDecodeRows = 16;

// Multi-threaded over output columns.
Status gptq_decode_cpu(const GptqLayerView& layer, const float* x, int64_t rows, float* y);

// NoKernelForConfig when K is not a multiple of 32 or rows is outside 1…kMaxDecodeRows (the caller then takes the
// dequantize path). x [rows, K] and y [rows, N] are device memory of `type`; workspace device memory of
// gptq_decode_workspace_floats floats, used for the per-slice partial sums (summed in a fixed order, so the result
// does not change from run to run).
Status gptq_decode_cuda(const GptqLayerView& layer, const void* x, ElementType type, int64_t rows, void* y,
                        float* workspace, CUstream_st* stream);
int64_t gptq_decode_workspace_floats(const GptqLayerView& layer, int64_t rows);

}  // namespace lowbit::kernels
