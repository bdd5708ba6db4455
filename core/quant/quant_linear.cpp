#include "core/quant/quant_linear.h"

#include <torch/csrc/autograd/custom_function.h>

#include "core/util/errors.h"
#include "kernels/gptq_dequantize.h"

namespace lowbit::quant {

QuantLinear::QuantLinear(GptqTensors tensors, int bits, int zero_offset, at::Tensor bias, at::Device device)
    : bits_(bits), zero_offset_(zero_offset) {
  tensors_.qweight = tensors.qweight.to(device, at::kInt).contiguous();
  tensors_.qzeros = tensors.qzeros.to(device, at::kInt).contiguous();
  tensors_.scales = tensors.scales.to(device, at::kFloat).contiguous();
  tensors_.g_idx = tensors.g_idx.to(device, at::kInt).contiguous();
  n_out_ = tensors_.qweight.size(1);
  k_in_ = tensors_.qweight.size(0) * 32 / bits;
  groups_ = tensors_.scales.size(0);
  if (bias.defined() && bias.abs().max().item<double>() != 0) bias_ = bias.to(device);
}

int64_t QuantLinear::weight_bytes() const {
  int64_t bytes = static_cast<int64_t>(tensors_.qweight.nbytes() + tensors_.qzeros.nbytes() + tensors_.g_idx.nbytes());
  bytes += groups_ * n_out_ * 2;  // scales as stored (fp16)
  if (bias_.defined()) bytes += static_cast<int64_t>(bias_.nbytes());
  return bytes;
}

std::string QuantLinear::describe() const {
  return "GPTQ " + std::to_string(bits_) + "-bit, " + std::to_string(groups_) + " group(s)";
}

at::Tensor QuantLinear::dequantized_weight() const {
  at::Tensor out = at::empty({k_in_, n_out_}, tensors_.qweight.options().dtype(at::kFloat));
  const kernels::GptqLayerView view{tensors_.qweight.data_ptr<int32_t>(), tensors_.qzeros.data_ptr<int32_t>(),
                                    tensors_.scales.data_ptr<float>(),   tensors_.g_idx.data_ptr<int32_t>(),
                                    k_in_, n_out_, groups_, bits_, zero_offset_};
  const kernels::Status status = out.is_cuda() ? kernels::gptq_dequantize_cuda(view, out.data_ptr<float>(), nullptr)
                                               : kernels::gptq_dequantize_cpu(view, out.data_ptr<float>());
  if (status != kernels::Status::Ok) {
    throw InternalError(std::string("GPTQ dequantize (") + std::to_string(bits_) + "-bit, K=" + std::to_string(k_in_) +
                        ", N=" + std::to_string(n_out_) + ") failed: " + kernels::to_string(status));
  }
  return out.t();
}

namespace {

// y = x·Wᵀ with W frozen and packed: the backward pass recomputes W from the packed tensors instead of keeping a
// dense copy alive between forward and backward (which would cost the full-precision model's memory during
// training), and returns no weight gradient.
class QuantMatmul : public torch::autograd::Function<QuantMatmul> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const QuantLinear* layer) {
    ctx->saved_data["layer"] = reinterpret_cast<int64_t>(layer);
    return at::linear(x, layer->dequantized_weight().to(x.scalar_type()));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto* layer = reinterpret_cast<const QuantLinear*>(ctx->saved_data["layer"].toInt());
    const at::Tensor& dy = grad_outputs[0];
    return {dy.matmul(layer->dequantized_weight().to(dy.scalar_type())), at::Tensor()};
  }
};

}  // namespace

at::Tensor QuantLinear::forward(const at::Tensor& x) const {
  at::Tensor y = QuantMatmul::apply(x, this);
  if (bias_.defined()) y = y + bias_.to(x.scalar_type());
  return y;
}

}  // namespace lowbit::quant
