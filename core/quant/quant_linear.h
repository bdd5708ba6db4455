// A projection whose weight is stored in the GPTQ packed layout and never expanded for long: a few rows
// (decode, ≤ kernels::kMaxDecodeRows) are multiplied straight from the packed words; more rows (prefill,
// training) dequantize the layer into a temporary in the activation dtype and use the BLAS / tensor-core GEMM,
// and the backward pass does the same for dx = dy·W. Act-order layers have their input rows put in group order
// once at load (x is permuted instead), which the fused kernels need to read each group's scales once.
#pragma once

#include "core/model/linear.h"
#include "core/quant/gptq_pack.h"
#include "core/quant/quant_config.h"

namespace lowbit::quant {

// The packed layer on its device, in group order. Tensors, so that whoever holds a copy (the autograd graph
// between forward and backward) keeps the storage alive.
struct PackedGptqLayer {
  at::Tensor qweight;      // int32 [K·bits/32, N], rows in group order
  at::Tensor qzeros;       // int32 [groups, N·bits/32]
  at::Tensor scales;       // float16 [groups, N], as stored
  at::Tensor g_idx;        // int32 [K], non-decreasing
  at::Tensor input_order;  // int64 [K]: row i of qweight is input feature input_order[i]; undefined when identity
  at::Tensor inverse_order;
  int bits = 0;
  int zero_offset = 0;
  int64_t k_in = 0, n_out = 0, groups = 0;
};

// y = x·W ([..., K] → [..., N]) and dx = dy·Wᵀ ([..., N] → [..., K]) in the input's dtype, without autograd.
at::Tensor packed_matmul(const PackedGptqLayer& layer, const at::Tensor& x);
at::Tensor packed_matmul_transposed(const PackedGptqLayer& layer, const at::Tensor& dy);
// W [K, N] in group order, `dtype` (float32 on the CPU, any of float32/float16/bfloat16 on CUDA).
at::Tensor dequantize_packed(const PackedGptqLayer& layer, at::ScalarType dtype);
// Whether packed_matmul takes the fused decode kernel for `rows` rows on this layer's device.
bool decode_kernel_applies(const PackedGptqLayer& layer, int64_t rows);

class QuantLinear : public model::Linear {
 public:
  // tensors on any device; bias may be undefined (an all-zero bias, as TheBloke-era files have, is dropped).
  QuantLinear(GptqTensors tensors, int bits, int zero_offset, at::Tensor bias, at::Device device);

  at::Tensor forward(const at::Tensor& x) const override;
  int64_t in_features() const override { return layer_.k_in; }
  int64_t out_features() const override { return layer_.n_out; }
  int64_t weight_bytes() const override;
  std::string describe() const override;

  // The dense weight [N, K] in float32 and the checkpoint's input order, as nn.Linear would hold it.
  at::Tensor dequantized_weight() const;
  const PackedGptqLayer& packed() const { return layer_; }
  const at::Tensor& bias() const { return bias_; }  // undefined when there is none
  int bits() const { return layer_.bits; }

 private:
  PackedGptqLayer layer_;
  at::Tensor bias_;
};

}  // namespace lowbit::quant
