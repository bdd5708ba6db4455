#include "core/quant/quant_linear.h"

#include <torch/csrc/autograd/custom_function.h>

#if __has_include(<c10/cuda/CUDAStream.h>)
#include <c10/cuda/CUDAStream.h>
#define LOWBIT_HAS_TORCH_CUDA 1
#endif

#include "core/util/errors.h"
#include "kernels/gptq_decode.h"
#include "kernels/gptq_dequantize.h"

namespace lowbit::quant {
namespace {

kernels::GptqLayerView view_of(const PackedGptqLayer& layer) {
  return {layer.qweight.data_ptr<int32_t>(),
          layer.qzeros.data_ptr<int32_t>(),
          reinterpret_cast<const uint16_t*>(layer.scales.data_ptr<at::Half>()),
          layer.g_idx.data_ptr<int32_t>(),
          layer.k_in,
          layer.n_out,
          layer.groups,
          layer.bits,
          layer.zero_offset};
}

kernels::ElementType element_type(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return kernels::ElementType::Float32;
    case at::kHalf: return kernels::ElementType::Float16;
    case at::kBFloat16: return kernels::ElementType::BFloat16;
    default: break;
  }
  throw InternalError(std::string("GPTQ kernels: no kernel for activations of type ") + c10::toString(dtype));
}

// LibTorch's current stream on the tensor's device, so the kernels order with the surrounding torch ops.
CUstream_st* current_stream(const at::Tensor& on) {
#ifdef LOWBIT_HAS_TORCH_CUDA
  return c10::cuda::getCurrentCUDAStream(on.device().index()).stream();
#else
  (void)on;
  throw InternalError("GPTQ kernels: a CUDA tensor in a LibTorch without CUDA");
#endif
}

void check(kernels::Status status, const char* op, const PackedGptqLayer& layer, int64_t rows) {
  if (status == kernels::Status::Ok) return;
  std::string message = std::string("GPTQ ") + op + " (" + std::to_string(layer.bits) + "-bit, K=" +
                        std::to_string(layer.k_in) + ", N=" + std::to_string(layer.n_out) + ", " +
                        std::to_string(rows) + " row(s)) failed: " + kernels::to_string(status);
  if (status == kernels::Status::CudaError) message += std::string(": ") + kernels::last_cuda_error_text();
  throw InternalError(message);
}

// x [..., K] as a contiguous [rows, K] in group order.
at::Tensor rows_in_group_order(const PackedGptqLayer& layer, const at::Tensor& x) {
  at::Tensor rows = x.reshape({-1, layer.k_in});
  if (layer.input_order.defined()) rows = rows.index_select(1, layer.input_order);
  return rows.contiguous();
}

std::vector<int64_t> with_last(const at::Tensor& x, int64_t last) {
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  sizes.back() = last;
  return sizes;
}

}  // namespace

at::Tensor dequantize_packed(const PackedGptqLayer& layer, at::ScalarType dtype) {
  const kernels::GptqLayerView view = view_of(layer);
  if (layer.qweight.is_cuda()) {
    at::Tensor out = at::empty({layer.k_in, layer.n_out}, layer.qweight.options().dtype(dtype));
    check(kernels::gptq_dequantize_cuda(view, out.data_ptr(), element_type(dtype), current_stream(out)), "dequantize",
          layer, layer.k_in);
    return out;
  }
  at::Tensor out = at::empty({layer.k_in, layer.n_out}, layer.qweight.options().dtype(at::kFloat));
  check(kernels::gptq_dequantize_cpu(view, out.data_ptr<float>()), "dequantize", layer, layer.k_in);
  return dtype == at::kFloat ? out : out.to(dtype);
}

bool decode_kernel_applies(const PackedGptqLayer& layer, int64_t rows) {
  if (rows < 1 || rows > kernels::kMaxDecodeRows) return false;
  return layer.qweight.is_cpu() || layer.k_in % 32 == 0;
}

at::Tensor packed_matmul(const PackedGptqLayer& layer, const at::Tensor& x) {
  const at::Tensor rows = rows_in_group_order(layer, x);
  const int64_t row_count = rows.size(0);
  at::Tensor y;
  if (decode_kernel_applies(layer, row_count)) {
    const kernels::GptqLayerView view = view_of(layer);
    if (rows.is_cuda()) {
      y = at::empty({row_count, layer.n_out}, rows.options());
      const at::Tensor workspace =
          at::empty({kernels::gptq_decode_workspace_floats(view, row_count)}, rows.options().dtype(at::kFloat));
      check(kernels::gptq_decode_cuda(view, rows.data_ptr(), element_type(rows.scalar_type()), row_count, y.data_ptr(),
                                      workspace.data_ptr<float>(), current_stream(rows)),
            "decode", layer, row_count);
    } else {
      const at::Tensor rows_float = rows.to(at::kFloat).contiguous();
      at::Tensor y_float = at::empty({row_count, layer.n_out}, rows_float.options());
      check(kernels::gptq_decode_cpu(view, rows_float.data_ptr<float>(), row_count, y_float.data_ptr<float>()),
            "decode", layer, row_count);
      y = y_float.to(rows.scalar_type());
    }
  } else {
    // The dense temporary lives only for this product (the caching allocator hands the same block back next call).
    y = at::matmul(rows, dequantize_packed(layer, rows.scalar_type()));
  }
  return y.reshape(with_last(x, layer.n_out));
}

at::Tensor packed_matmul_transposed(const PackedGptqLayer& layer, const at::Tensor& dy) {
  const at::Tensor rows = dy.reshape({-1, layer.n_out});
  at::Tensor dx = at::matmul(rows, dequantize_packed(layer, rows.scalar_type()).t());
  if (layer.inverse_order.defined()) dx = dx.index_select(1, layer.inverse_order);
  return dx.reshape(with_last(dy, layer.k_in));
}

QuantLinear::QuantLinear(GptqTensors tensors, int bits, int zero_offset, at::Tensor bias, at::Device device) {
  layer_.bits = bits;
  layer_.zero_offset = zero_offset;
  layer_.n_out = tensors.qweight.size(1);
  layer_.k_in = tensors.qweight.size(0) * 32 / bits;
  layer_.groups = tensors.scales.size(0);
  at::Tensor g_idx = tensors.g_idx.to(at::kCPU, at::kInt).contiguous();
  at::Tensor qweight = tensors.qweight;
  if (layer_.k_in > 1 && (g_idx.slice(0, 1) < g_idx.slice(0, 0, -1)).any().item<bool>()) {
    const at::Tensor order = std::get<1>(g_idx.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
    qweight = reorder_packed_rows(qweight, order, bits);
    g_idx = g_idx.index_select(0, order);
    layer_.input_order = order.to(device);
    layer_.inverse_order = at::argsort(order).to(device);
  }
  layer_.qweight = qweight.to(device, at::kInt).contiguous();
  layer_.qzeros = tensors.qzeros.to(device, at::kInt).contiguous();
  layer_.scales = tensors.scales.to(device, at::kHalf).contiguous();
  layer_.g_idx = g_idx.to(device).contiguous();
  if (bias.defined() && bias.abs().max().item<double>() != 0) bias_ = bias.to(device);
}

int64_t QuantLinear::weight_bytes() const {
  int64_t bytes = 0;
  for (const at::Tensor* t : {&layer_.qweight, &layer_.qzeros, &layer_.scales, &layer_.g_idx, &layer_.input_order,
                              &layer_.inverse_order, &bias_}) {
    if (t->defined()) bytes += static_cast<int64_t>(t->nbytes());
  }
  return bytes;
}

std::string QuantLinear::describe() const {
  return "GPTQ " + std::to_string(layer_.bits) + "-bit, " + std::to_string(layer_.groups) + " group(s)" +
         (layer_.input_order.defined() ? ", act-order" : "");
}

at::Tensor QuantLinear::dequantized_weight() const {
  at::Tensor w = dequantize_packed(layer_, at::kFloat);  // [K, N], group order
  if (layer_.inverse_order.defined()) w = w.index_select(0, layer_.inverse_order);
  return w.t();
}

namespace {

// y = x·Wᵀ with W frozen and packed. The graph keeps the packed tensors (not a pointer to the layer, which may be
// gone by backward) and no dense copy: backward dequantizes again, which costs far less memory than holding the
// full-precision weight between the passes. No weight gradient.
class QuantMatmul : public torch::autograd::Function<QuantMatmul> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const PackedGptqLayer& layer) {
    ctx->saved_data["qweight"] = layer.qweight;
    ctx->saved_data["qzeros"] = layer.qzeros;
    ctx->saved_data["scales"] = layer.scales;
    ctx->saved_data["g_idx"] = layer.g_idx;
    ctx->saved_data["input_order"] = layer.input_order;
    ctx->saved_data["inverse_order"] = layer.inverse_order;
    ctx->saved_data["bits"] = static_cast<int64_t>(layer.bits);
    ctx->saved_data["zero_offset"] = static_cast<int64_t>(layer.zero_offset);
    return packed_matmul(layer, x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto& saved = ctx->saved_data;
    PackedGptqLayer layer;
    layer.qweight = saved["qweight"].toTensor();
    layer.qzeros = saved["qzeros"].toTensor();
    layer.scales = saved["scales"].toTensor();
    layer.g_idx = saved["g_idx"].toTensor();
    if (saved["input_order"].isTensor()) layer.input_order = saved["input_order"].toTensor();
    if (saved["inverse_order"].isTensor()) layer.inverse_order = saved["inverse_order"].toTensor();
    layer.bits = static_cast<int>(saved["bits"].toInt());
    layer.zero_offset = static_cast<int>(saved["zero_offset"].toInt());
    layer.n_out = layer.qweight.size(1);
    layer.k_in = layer.g_idx.size(0);
    layer.groups = layer.scales.size(0);
    return {packed_matmul_transposed(layer, grad_outputs[0]), at::Tensor()};
  }
};

}  // namespace

at::Tensor QuantLinear::forward(const at::Tensor& x) const {
  at::Tensor y = QuantMatmul::apply(x, layer_);
  if (bias_.defined()) y = y + bias_.to(x.scalar_type());
  return y;
}

}  // namespace lowbit::quant
