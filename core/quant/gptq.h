// Weight quantization to a min-max integer grid, by round-to-nearest (RTN) or by GPTQ (Frantar et al., 2022):
// columns quantized one at a time, each one's error spread over the not-yet-quantized columns through the
// inverse Hessian H = 2/n · Σ x xᵀ of the layer's inputs, in lazy blocks of 128 columns; optional act-order
// (columns by decreasing diag(H)) with dynamic or static groups. The algorithm follows IST-DASLab/gptq
// `fasterquant` step by step, with one refinement: scales are rounded to fp16 before use, so the error that is
// propagated is the error of the weights as stored.
//
//   QuantizedWeight q = gptq_quantize(linear_weight /*[N, K]*/, hessian /*[K, K]*/, config);
//   at::Tensor w_hat = dequantize(q);        // [N, K], what the checkpoint will give back
#pragma once

#include <ATen/ATen.h>

#include "core/quant/quant_config.h"

namespace lowbit::quant {

struct QuantizedWeight {
  at::Tensor q;       // int32 [K, N]: integer codes in [0, 2^bits − 1], input rows in original order
  at::Tensor zeros;   // int32 [groups, N]: zero points in [0, 2^bits − 1]
  at::Tensor scales;  // float32 [groups, N], each exactly representable in fp16
  at::Tensor g_idx;   // int32 [K]
  int bits = 4;
};

// Scale and zero per output row of `block` ([N, columns]) — GPTQ's Quantizer.find_params with perchannel=True.
void find_grid(const at::Tensor& block, int bits, bool sym, at::Tensor& scale, at::Tensor& zero);

QuantizedWeight rtn_quantize(const at::Tensor& weight, const QuantConfig& config);
QuantizedWeight gptq_quantize(const at::Tensor& weight, const at::Tensor& hessian, const QuantConfig& config);

// [N, K] float32.
at::Tensor dequantize(const QuantizedWeight& quantized);

// ‖(W − Ŵ)X‖²_F / ‖W X‖²_F computed through H ∝ X Xᵀ: tr(ΔHΔᵀ) / tr(WHWᵀ).
double relative_output_error(const at::Tensor& weight, const at::Tensor& dequantized, const at::Tensor& hessian);

}  // namespace lowbit::quant
