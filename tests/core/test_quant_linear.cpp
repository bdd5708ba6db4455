// QuantLinear forward and backward (through the frozen packed weight) against autograd of a float64 dense
// reference built from the same codes.
#include <gtest/gtest.h>

#include <torch/csrc/autograd/variable.h>

#include "core/quant/gptq_pack.h"
#include "core/quant/quant_linear.h"
#include "tests/support/relative_error.h"

namespace lowbit::quant {
namespace {

// fp32 GEMMs over K ≤ 256 against float64: ~1e-6 relative; 1e-5 is the fp32 bound.
constexpr double kFp32Tolerance = 1e-5;

using testing::relative_max_error;

TEST(QuantLinear, ForwardAndInputGradientMatchTheDenseFloat64Reference) {
  at::manual_seed(5);
  for (const int bits : {2, 3, 4, 8}) {
    for (const bool act_order : {false, true}) {
      const int64_t k_in = 96, n_out = 64, group = 32, groups = 3;
      QuantizedWeight q;
      q.bits = bits;
      q.q = at::randint(0, 1 << bits, {k_in, n_out}, at::kInt);
      q.zeros = at::randint(1, 1 << bits, {groups, n_out}, at::kInt);
      q.scales = at::rand({groups, n_out}).add(0.01).to(at::kHalf).to(at::kFloat);
      q.g_idx = (act_order ? at::randperm(k_in, at::kLong) : at::arange(k_in, at::kLong)).div(group, "floor").to(at::kInt);
      const QuantLinear layer(pack_gptq(q, 1), bits, 1, at::Tensor(), at::kCPU);

      const at::Tensor x_values = at::randn({3, 5, k_in});
      const at::Tensor upstream = at::randn({3, 5, n_out});
      at::Tensor x = x_values.clone().set_requires_grad(true);
      const at::Tensor y = layer.forward(x);
      (y * upstream).sum().backward();

      const at::Tensor w_ref = dequantize(q).to(at::kDouble);  // [N, K], computed from the codes
      at::Tensor x_ref = x_values.to(at::kDouble).set_requires_grad(true);
      const at::Tensor y_ref = at::linear(x_ref, w_ref);
      (y_ref * upstream.to(at::kDouble)).sum().backward();

      EXPECT_LE(relative_max_error(y.detach(), y_ref.detach()), kFp32Tolerance) << bits << "-bit";
      ASSERT_TRUE(x.grad().defined());
      EXPECT_LE(relative_max_error(x.grad(), x_ref.grad()), kFp32Tolerance) << bits << "-bit";
    }
  }
}

TEST(QuantLinear, GradientsReachParametersBelowTheFrozenLayer) {
  // z = x + (x·Aᵀ)·Bᵀ (an adapter under the quantized layer), y = QuantLinear(z): A and B get gradients only
  // through QuantLinear's backward; the packed tensors get none.
  at::manual_seed(6);
  QuantizedWeight q;
  q.bits = 4;
  q.q = at::randint(0, 16, {64, 32}, at::kInt);
  q.zeros = at::full({2, 32}, 8, at::kInt);
  q.scales = at::full({2, 32}, 0.125);
  q.g_idx = at::arange(64, at::kLong).div(32, "floor").to(at::kInt);
  const QuantLinear layer(pack_gptq(q, 1), 4, 1, at::Tensor(), at::kCPU);
  at::Tensor a = (at::randn({4, 64}) * 0.1).set_requires_grad(true);
  at::Tensor b = (at::randn({64, 4}) * 0.1).set_requires_grad(true);
  const at::Tensor x = at::randn({8, 64});
  layer.forward(x + at::linear(at::linear(x, a), b)).pow(2).sum().backward();
  // The same through the dense float64 weight.
  at::Tensor a_ref = a.detach().to(at::kDouble).set_requires_grad(true);
  at::Tensor b_ref = b.detach().to(at::kDouble).set_requires_grad(true);
  const at::Tensor x64 = x.to(at::kDouble);
  at::linear(x64 + at::linear(at::linear(x64, a_ref), b_ref), dequantize(q).to(at::kDouble)).pow(2).sum().backward();
  EXPECT_LE(relative_max_error(a.grad(), a_ref.grad()), kFp32Tolerance);
  EXPECT_LE(relative_max_error(b.grad(), b_ref.grad()), kFp32Tolerance);
  for (const at::Tensor& t : {layer.tensors().qweight, layer.tensors().scales}) EXPECT_FALSE(t.requires_grad());
}

}  // namespace
}  // namespace lowbit::quant
