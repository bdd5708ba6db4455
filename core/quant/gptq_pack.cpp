#include "core/quant/gptq_pack.h"

#include <ATen/Parallel.h>

#include "core/util/errors.h"
#include "kernels/gptq_format.h"

namespace lowbit::quant {

namespace gptq = kernels::gptq;

GptqTensors pack_gptq(const QuantizedWeight& quantized, int zero_offset) {
  const int bits = quantized.bits;
  const at::Tensor q = quantized.q.to(at::kCPU, at::kInt).contiguous();          // [K, N]
  const at::Tensor zeros = quantized.zeros.to(at::kCPU, at::kInt).contiguous();  // [G, N]
  const int64_t k_in = q.size(0), n_out = q.size(1), groups = zeros.size(0);
  if ((k_in * bits) % 32 != 0 || (n_out * bits) % 32 != 0) {
    throw InputError("", "a layer of shape [" + std::to_string(n_out) + ", " + std::to_string(k_in) +
                             "] cannot be stored at " + std::to_string(bits) +
                             " bits: the GPTQ format needs both sizes times bits to be multiples of 32",
                     "choose another bit width");
  }
  if (zero_offset == 1 && (zeros == 0).any().item<bool>()) {
    throw InternalError("a zero point of 0 cannot be stored in the v1 (\"gptq\") format; write gptq_v2");
  }
  GptqTensors out;
  out.qweight = at::zeros({gptq::packed_words(k_in, bits), n_out}, at::kInt);
  out.qzeros = at::zeros({groups, gptq::packed_words(n_out, bits)}, at::kInt);
  const int32_t* q_data = q.data_ptr<int32_t>();
  int32_t* qweight = out.qweight.data_ptr<int32_t>();
  for (int64_t k = 0; k < k_in; ++k) {
    for (int64_t n = 0; n < n_out; ++n) {
      gptq::pack_value(qweight + n, n_out, k, bits, static_cast<uint32_t>(q_data[k * n_out + n]));
    }
  }
  const int32_t* z_data = zeros.data_ptr<int32_t>();
  int32_t* qzeros = out.qzeros.data_ptr<int32_t>();
  const int64_t zero_words = gptq::packed_words(n_out, bits);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t n = 0; n < n_out; ++n) {
      gptq::pack_value(qzeros + g * zero_words, 1, n, bits, static_cast<uint32_t>(z_data[g * n_out + n] - zero_offset));
    }
  }
  out.scales = quantized.scales.to(at::kCPU, at::kHalf).contiguous();
  out.g_idx = quantized.g_idx.to(at::kCPU, at::kInt).contiguous();
  return out;
}

QuantizedWeight unpack_gptq(const GptqTensors& tensors, int bits, int zero_offset) {
  const at::Tensor qweight = tensors.qweight.to(at::kCPU, at::kInt).contiguous();
  const at::Tensor qzeros = tensors.qzeros.to(at::kCPU, at::kInt).contiguous();
  const int64_t n_out = qweight.size(1);
  const int64_t k_in = qweight.size(0) * 32 / bits;
  const int64_t groups = qzeros.size(0);
  QuantizedWeight out;
  out.bits = bits;
  out.q = at::empty({k_in, n_out}, at::kInt);
  out.zeros = at::empty({groups, n_out}, at::kInt);
  int32_t* q = out.q.data_ptr<int32_t>();
  for (int64_t k = 0; k < k_in; ++k) {
    for (int64_t n = 0; n < n_out; ++n) {
      q[k * n_out + n] = static_cast<int32_t>(gptq::unpack_value(qweight.data_ptr<int32_t>() + n, n_out, k, bits));
    }
  }
  int32_t* z = out.zeros.data_ptr<int32_t>();
  const int64_t zero_words = gptq::packed_words(n_out, bits);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t n = 0; n < n_out; ++n) {
      z[g * n_out + n] =
          static_cast<int32_t>(gptq::unpack_value(qzeros.data_ptr<int32_t>() + g * zero_words, 1, n, bits)) + zero_offset;
    }
  }
  out.scales = tensors.scales.to(at::kCPU, at::kFloat).contiguous();
  out.g_idx = tensors.g_idx.to(at::kCPU, at::kInt).contiguous();
  return out;
}

at::Tensor reorder_packed_rows(const at::Tensor& qweight, const at::Tensor& order, int bits) {
  const at::Tensor source = qweight.to(at::kCPU, at::kInt).contiguous();
  const at::Tensor rows = order.to(at::kCPU, at::kLong).contiguous();
  const int64_t n_out = source.size(1);
  const int64_t k_in = rows.size(0);
  at::Tensor out = at::zeros_like(source);
  const int32_t* from = source.data_ptr<int32_t>();
  const int64_t* row = rows.data_ptr<int64_t>();
  int32_t* to = out.data_ptr<int32_t>();
  // Columns are independent bit streams, so threads split them.
  at::parallel_for(0, n_out, 64, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t k = 0; k < k_in; ++k) {
        gptq::pack_value(to + n, n_out, k, bits, gptq::unpack_value(from + n, n_out, row[k], bits));
      }
    }
  });
  return out;
}

}  // namespace lowbit::quant
