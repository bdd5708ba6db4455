// A projection whose weight is stored in the GPTQ packed layout. This version dequantizes into a buffer and
// multiplies (the CPU reference kernel on the CPU, the CUDA dequantize kernel on a GPU); the fused kernels
// replace the body of forward() without changing the interface.
#pragma once

#include "core/model/linear.h"
#include "core/quant/gptq_pack.h"
#include "core/quant/quant_config.h"

namespace lowbit::quant {

class QuantLinear : public model::Linear {
 public:
  // tensors on any device; bias may be undefined (an all-zero bias, as TheBloke-era files have, is dropped).
  QuantLinear(GptqTensors tensors, int bits, int zero_offset, at::Tensor bias, at::Device device);

  at::Tensor forward(const at::Tensor& x) const override;
  int64_t in_features() const override { return k_in_; }
  int64_t out_features() const override { return n_out_; }
  int64_t weight_bytes() const override;
  std::string describe() const override;

  // The dense weight [N, K] in float32, as nn.Linear would hold it.
  at::Tensor dequantized_weight() const;
  const GptqTensors& tensors() const { return tensors_; }
  const at::Tensor& bias() const { return bias_; }  // undefined when there is none
  int bits() const { return bits_; }

 private:
  GptqTensors tensors_;        // scales kept as float32 for the kernels
  at::Tensor bias_;
  int bits_;
  int zero_offset_;
  int64_t k_in_, n_out_, groups_;
};

}  // namespace lowbit::quant
