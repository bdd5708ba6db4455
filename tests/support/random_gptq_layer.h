// A random GPTQ layer for kernel tests: codes, zero points and fp16 scales drawn at random, packed with the
// project's writer, with the dense float64 weight computed from the codes before packing (the oracle).
#pragma once

#include <ATen/ATen.h>

#include "core/quant/gptq_pack.h"
#include "kernels/gptq_dequantize.h"

namespace lowbit::testing {

struct LayerShape {
  int64_t k_in, n_out, group;
  bool act_order;  // g_idx a random permutation's groups (not monotone), as desc_act checkpoints have
};

struct RandomGptqLayer {
  quant::QuantizedWeight codes;
  quant::GptqTensors packed;  // on the device asked for
  at::Tensor dense;           // float64 [K, N] on the CPU: scales[g][n] · (q − zero)
  int zero_offset = 1;

  kernels::GptqLayerView view() const {
    return {packed.qweight.data_ptr<int32_t>(), packed.qzeros.data_ptr<int32_t>(),
            reinterpret_cast<const uint16_t*>(packed.scales.data_ptr<at::Half>()), packed.g_idx.data_ptr<int32_t>(),
            codes.q.size(0), codes.q.size(1), codes.zeros.size(0), codes.bits, zero_offset};
  }
};

inline RandomGptqLayer random_gptq_layer(const LayerShape& s, int bits, int zero_offset, at::Device device) {
  RandomGptqLayer layer;
  layer.zero_offset = zero_offset;
  const int64_t groups = (s.k_in + s.group - 1) / s.group;
  const int64_t maxq = (1 << bits) - 1;
  quant::QuantizedWeight& q = layer.codes;
  q.bits = bits;
  q.q = at::randint(0, maxq + 1, {s.k_in, s.n_out}, at::kInt);
  q.zeros = at::randint(zero_offset, maxq + 1, {groups, s.n_out}, at::kInt);
  q.scales = at::rand({groups, s.n_out}).add(0.01).to(at::kHalf).to(at::kFloat);
  const at::Tensor rows = s.act_order ? at::randperm(s.k_in, at::kLong) : at::arange(s.k_in, at::kLong);
  q.g_idx = rows.div(s.group, "floor").to(at::kInt);
  const at::Tensor g = q.g_idx.to(at::kLong);
  layer.dense = q.scales.to(at::kDouble).index_select(0, g) *
                (q.q.to(at::kDouble) - q.zeros.to(at::kDouble).index_select(0, g));
  const quant::GptqTensors packed = quant::pack_gptq(q, zero_offset);
  layer.packed = {packed.qweight.to(device), packed.qzeros.to(device), packed.scales.to(device),
                  packed.g_idx.to(device)};
  return layer;
}

}  // namespace lowbit::testing
