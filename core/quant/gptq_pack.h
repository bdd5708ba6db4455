// QuantizedWeight ↔ the four tensors of a GPTQ checkpoint layer (layout: kernels/gptq_format.h).
#pragma once

#include <ATen/ATen.h>

#include "core/quant/gptq.h"

namespace lowbit::quant {

struct GptqTensors {
  at::Tensor qweight;  // int32 [K·bits/32, N]
  at::Tensor qzeros;   // int32 [groups, N·bits/32]
  at::Tensor scales;   // float16 [groups, N]
  at::Tensor g_idx;    // int32 [K]
};

// zero_offset 1 writes v1 ("gptq": zero − 1 stored), 0 writes v2. v1 cannot hold a zero point of 0
// (it would be stored as −1 and corrupt its word); asking for that is an InternalError.
GptqTensors pack_gptq(const QuantizedWeight& quantized, int zero_offset);

QuantizedWeight unpack_gptq(const GptqTensors& tensors, int bits, int zero_offset);

}  // namespace lowbit::quant

namespace lowbit::quant {

// qweight with its input rows in the order `order` (row i of the result is row order[i] of the input): how an
// act-order layer is put in group order at load. qweight on the CPU; returns a new CPU tensor.
at::Tensor reorder_packed_rows(const at::Tensor& qweight, const at::Tensor& order, int bits);

}  // namespace lowbit::quant
