#include "core/quant/gptq.h"

#include <algorithm>

#include "core/util/errors.h"

namespace lowbit::quant {
namespace {

constexpr int64_t kBlockSize = 128;

at::Tensor codes_of(const at::Tensor& w, const at::Tensor& scale, const at::Tensor& zero, int bits) {
  const double maxq = static_cast<double>((1 << bits) - 1);
  return at::clamp(at::round(w / scale) + zero, 0, maxq);
}

void check_weight(const at::Tensor& weight, const QuantConfig& config) {
  validate(config, "quantization settings");
  if (weight.dim() != 2) throw InternalError("quantize expects a [out, in] weight");
}

// ceil(k_in / group): a last group narrower than the others where the group size does not divide the input size
// (SmolLM2's 576 at group 128), as AutoGPTQ and GPTQModel lay out scales, qzeros and g_idx.
int64_t group_count(int64_t k_in, int64_t group) { return (k_in + group - 1) / group; }

}  // namespace

void find_grid(const at::Tensor& block, int bits, bool sym, at::Tensor& scale, at::Tensor& zero) {
  const double maxq = static_cast<double>((1 << bits) - 1);
  const at::Tensor zeros = at::zeros({block.size(0)}, block.options());
  at::Tensor xmin = at::minimum(std::get<0>(block.min(1)), zeros);
  at::Tensor xmax = at::maximum(std::get<0>(block.max(1)), zeros);
  if (sym) {
    xmax = at::maximum(xmin.abs(), xmax);
    xmin = at::where(xmin < 0, -xmax, xmin);
  }
  const at::Tensor both_zero = at::logical_and(xmin == 0, xmax == 0);
  xmin = at::where(both_zero, at::full_like(xmin, -1), xmin);
  xmax = at::where(both_zero, at::full_like(xmax, 1), xmax);
  // Rounded to what the checkpoint stores, so that every later step uses the stored grid.
  scale = ((xmax - xmin) / maxq).to(at::kHalf).to(at::kFloat);
  scale = at::where(scale == 0, at::full_like(scale, 6e-8), scale);  // fp16 underflow of tiny ranges
  zero = sym ? at::full_like(scale, (maxq + 1) / 2) : at::round(-xmin / scale).clamp(0, maxq);
}

QuantizedWeight rtn_quantize(const at::Tensor& weight_in, const QuantConfig& config) {
  check_weight(weight_in, config);
  const at::Tensor weight = weight_in.to(at::kFloat);
  const int64_t n_out = weight.size(0), k_in = weight.size(1);
  const int64_t group = config.columns_per_group(k_in);
  const int64_t groups = group_count(k_in, group);
  QuantizedWeight out;
  out.bits = config.bits;
  out.q = at::empty({k_in, n_out}, at::kInt);
  out.zeros = at::empty({groups, n_out}, at::kInt);
  out.scales = at::empty({groups, n_out}, at::kFloat);
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t width = std::min(group, k_in - g * group);
    const at::Tensor block = weight.narrow(1, g * group, width);
    at::Tensor scale, zero;
    find_grid(block, config.bits, config.sym, scale, zero);
    out.q.narrow(0, g * group, width).copy_(codes_of(block, scale.unsqueeze(1), zero.unsqueeze(1), config.bits).t());
    out.scales[g].copy_(scale);
    out.zeros[g].copy_(zero);
  }
  out.g_idx = at::arange(k_in, at::kInt).div(group, "floor").to(at::kInt);
  return out;
}

QuantizedWeight gptq_quantize(const at::Tensor& weight_in, const at::Tensor& hessian_in, const QuantConfig& config) {
  check_weight(weight_in, config);
  const int64_t n_out = weight_in.size(0), k_in = weight_in.size(1);
  if (hessian_in.size(0) != k_in || hessian_in.size(1) != k_in) throw InternalError("Hessian does not match the weight");
  const int64_t group = config.columns_per_group(k_in);
  const int64_t groups = group_count(k_in, group);
  const int bits = config.bits;
  at::Tensor W = weight_in.to(at::kFloat).clone();
  at::Tensor H = hessian_in.to(W.device(), at::kFloat).clone();

  // Columns that never saw input: quantize them to zero and keep the Cholesky factorisation defined.
  const at::Tensor dead = H.diagonal() == 0;
  H.diagonal().masked_fill_(dead, 1);
  W.index_put_({at::indexing::Slice(), dead}, 0);

  std::vector<at::Tensor> static_scales, static_zeros;
  if (config.static_groups && config.group_size > 0) {
    for (int64_t g = 0; g < groups; ++g) {
      at::Tensor scale, zero;
      find_grid(W.narrow(1, g * group, std::min(group, k_in - g * group)), bits, config.sym, scale, zero);
      static_scales.push_back(scale);
      static_zeros.push_back(zero);
    }
  }
  at::Tensor scale, zero;
  if (config.group_size <= 0) find_grid(W, bits, config.sym, scale, zero);

  at::Tensor perm, invperm;
  if (config.desc_act) {
    perm = at::argsort(H.diagonal(), /*stable=*/true, /*dim=*/0, /*descending=*/true);
    W = W.index_select(1, perm);
    H = H.index_select(0, perm).index_select(1, perm);
    invperm = at::argsort(perm);
  }
  const double damp = config.damp_percent * H.diagonal().mean().item<double>();
  H.diagonal().add_(damp);
  at::Tensor Hinv = at::linalg_cholesky(H);
  Hinv = at::cholesky_inverse(Hinv);
  Hinv = at::linalg_cholesky(Hinv, /*upper=*/true);

  at::Tensor codes = at::zeros({n_out, k_in}, W.options());
  std::vector<at::Tensor> group_scales, group_zeros;  // in processing order (dynamic groups)
  for (int64_t i1 = 0; i1 < k_in; i1 += kBlockSize) {
    const int64_t i2 = std::min(i1 + kBlockSize, k_in);
    const int64_t count = i2 - i1;
    at::Tensor W1 = W.narrow(1, i1, count).clone();
    at::Tensor Err1 = at::zeros_like(W1);
    const at::Tensor Hinv1 = Hinv.narrow(0, i1, count).narrow(1, i1, count);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t column = i1 + i;
      if (config.group_size > 0) {
        if (!static_scales.empty()) {
          const int64_t original = config.desc_act ? perm[column].item<int64_t>() : column;
          scale = static_scales[original / group];
          zero = static_zeros[original / group];
        } else if (column % group == 0) {
          find_grid(W.narrow(1, column, std::min(group, k_in - column)), bits, config.sym, scale, zero);
          group_scales.push_back(scale);
          group_zeros.push_back(zero);
        }
      }
      const at::Tensor w = W1.select(1, i);
      const at::Tensor code = codes_of(w, scale, zero, bits);
      const at::Tensor q = scale * (code - zero);
      codes.select(1, column).copy_(code);
      const at::Tensor err = (w - q) / Hinv1[i][i];
      W1.narrow(1, i, count - i).sub_(at::outer(err, Hinv1[i].narrow(0, i, count - i)));
      Err1.select(1, i).copy_(err);
    }
    if (i2 < k_in) W.narrow(1, i2, k_in - i2).sub_(Err1.matmul(Hinv.narrow(0, i1, count).narrow(1, i2, k_in - i2)));
  }

  QuantizedWeight out;
  out.bits = bits;
  if (config.desc_act) codes = codes.index_select(1, invperm);
  out.q = codes.t().contiguous().to(at::kCPU, at::kInt);
  if (config.group_size <= 0) {
    out.scales = scale.unsqueeze(0).to(at::kCPU);
    out.zeros = zero.unsqueeze(0).to(at::kCPU, at::kInt);
    out.g_idx = at::zeros({k_in}, at::kInt);
  } else if (!static_scales.empty()) {
    out.scales = at::stack(static_scales).to(at::kCPU);
    out.zeros = at::stack(static_zeros).to(at::kCPU, at::kInt);
    out.g_idx = at::arange(k_in, at::kInt).div(group, "floor").to(at::kInt);
  } else {
    out.scales = at::stack(group_scales).to(at::kCPU);
    out.zeros = at::stack(group_zeros).to(at::kCPU, at::kInt);
    // Group j holds the j-th run of `group` columns in processing order.
    at::Tensor processing_group = at::arange(k_in, at::kLong).div(group, "floor");
    if (config.desc_act) processing_group = processing_group.index_select(0, invperm.to(at::kCPU));
    out.g_idx = processing_group.to(at::kInt);
  }
  return out;
}

at::Tensor dequantize(const QuantizedWeight& quantized) {
  const at::Tensor g = quantized.g_idx.to(at::kLong);
  const at::Tensor scales = quantized.scales.index_select(0, g);                    // [K, N]
  const at::Tensor zeros = quantized.zeros.index_select(0, g).to(at::kFloat);      // [K, N]
  return (scales * (quantized.q.to(at::kFloat) - zeros)).t().contiguous();
}

double relative_output_error(const at::Tensor& weight, const at::Tensor& dequantized, const at::Tensor& hessian) {
  const at::Tensor W = weight.to(at::kDouble).cpu();
  const at::Tensor delta = W - dequantized.to(at::kDouble).cpu();
  const at::Tensor H = hessian.to(at::kDouble).cpu();
  const double error = (delta.matmul(H) * delta).sum().item<double>();
  const double signal = (W.matmul(H) * W).sum().item<double>();
  return signal > 0 ? error / signal : 0.0;
}

}  // namespace lowbit::quant
