// QuantLinear forward and backward (through the frozen packed weight) against autograd of a float64 dense
// reference built from the same codes, on the CPU and (label gpu) on CUDA in fp32, fp16 and bf16.
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <torch/csrc/autograd/variable.h>

#include "core/quant/gptq_pack.h"
#include "core/quant/quant_linear.h"
#include "tests/support/device_case.h"
#include "tests/support/gpu_required.h"
#include "tests/support/relative_error.h"

namespace lowbit::quant {
namespace {

using testing::DeviceCase;
using testing::Precision;
// fp32 GEMMs over K ≤ 256 against float64: ~1e-6 relative; 1e-5 is the fp32 bound. fp16/bf16: inputs,
// the dequantized weight (prefill path) and outputs each rounded once to the type.
const Precision kFloat32{at::kFloat, 1e-5};
const Precision kFloat16{at::kHalf, 3e-3};
const Precision kBFloat16{at::kBFloat16, 2e-2};
constexpr double kFp32Tolerance = 1e-5;

class QuantLinearOnDevice : public ::testing::TestWithParam<DeviceCase> {};

// A 4-bit [in 64, out 32] layer in two groups of 32 rows: random codes, zero point 8, scale 1/8; groups in row
// order, or (act_order) a random permutation's.
QuantizedWeight small_four_bit_weight(bool act_order) {
  QuantizedWeight q;
  q.bits = 4;
  q.q = at::randint(0, 16, {64, 32}, at::kInt);
  q.zeros = at::full({2, 32}, 8, at::kInt);
  q.scales = at::full({2, 32}, 0.125);
  q.g_idx = (act_order ? at::randperm(64, at::kLong) : at::arange(64, at::kLong)).div(32, "floor").to(at::kInt);
  return q;
}

using testing::relative_max_error;

// Both paths: 1 and 15 rows take the fused decode kernel, 40 rows the dequantize-and-GEMM path; the input
// gradient always the latter. Act-order layers are put in group order at load and x permuted.
TEST_P(QuantLinearOnDevice, ForwardAndInputGradientMatchTheDenseFloat64Reference) {
  const DeviceCase c = GetParam();
  if (c.cuda && !at::hasCUDA()) LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU("no CUDA device");
  const at::Device device = c.device();
  const at::ScalarType dtype = c.precision.dtype;
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
      const QuantLinear layer(pack_gptq(q, 1), bits, 1, at::Tensor(), device);
      EXPECT_EQ(layer.packed().input_order.defined(), act_order);
      EXPECT_TRUE(at::equal(layer.dequantized_weight().cpu(), dequantize(q))) << bits << "-bit";

      for (const std::vector<int64_t>& leading : {std::vector<int64_t>{1, 1}, {3, 5}, {5, 8}}) {
        std::vector<int64_t> x_shape = leading, y_shape = leading;
        x_shape.push_back(k_in);
        y_shape.push_back(n_out);
        const at::Tensor x_values = at::randn(x_shape).to(dtype).to(at::kFloat);  // representable in dtype
        const at::Tensor upstream = at::randn(y_shape).to(dtype).to(at::kFloat);
        at::Tensor x = x_values.to(device, dtype).clone().set_requires_grad(true);
        const at::Tensor y = layer.forward(x);
        ASSERT_EQ(y.scalar_type(), dtype);
        (y * upstream.to(device, dtype)).sum().backward();

        const at::Tensor w_ref = dequantize(q).to(at::kDouble);  // [N, K], computed from the codes
        at::Tensor x_ref = x_values.to(at::kDouble).set_requires_grad(true);
        const at::Tensor y_ref = at::linear(x_ref, w_ref);
        (y_ref * upstream.to(at::kDouble)).sum().backward();

        const std::string what = std::to_string(bits) + "-bit" + (act_order ? " act-order " : " ") +
                                 std::to_string(x_values.numel() / k_in) + " rows " + c10::toString(dtype);
        EXPECT_LE(relative_max_error(y.detach().cpu(), y_ref.detach()), c.precision.relative_tolerance) << what;
        ASSERT_TRUE(x.grad().defined());
        EXPECT_LE(relative_max_error(x.grad().cpu(), x_ref.grad()), c.precision.relative_tolerance) << what;
      }
    }
  }
}

TEST_P(QuantLinearOnDevice, BackwardRunsAfterTheLayerIsGone) {
  // The graph holds the packed tensors, not the layer: a model unloaded (or a layer swapped) between forward and
  // backward must not leave backward reading freed memory.
  const DeviceCase c = GetParam();
  if (c.cuda && !at::hasCUDA()) LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU("no CUDA device");
  const at::Device device = c.device();
  at::manual_seed(7);
  const QuantizedWeight q = small_four_bit_weight(/*act_order=*/true);
  at::Tensor x = at::randn({40, 64}).to(device, c.precision.dtype).set_requires_grad(true);
  at::Tensor y;
  {
    auto layer = std::make_unique<QuantLinear>(pack_gptq(q, 1), 4, 1, at::Tensor(), device);
    y = layer->forward(x);
  }
  y.sum().backward();
  const at::Tensor expected = dequantize(q).to(at::kDouble).sum(0).expand({40, 64});  // d(Σ x·Wᵀ)/dx
  EXPECT_LE(relative_max_error(x.grad().cpu(), expected), c.precision.relative_tolerance);
}

INSTANTIATE_TEST_SUITE_P(Devices, QuantLinearOnDevice, testing::every_device(kFloat32, kFloat16, kBFloat16),
                         testing::device_case_name);

TEST(QuantLinear, GradientsReachParametersBelowTheFrozenLayer) {
  // z = x + (x·Aᵀ)·Bᵀ (an adapter under the quantized layer), y = QuantLinear(z): A and B get gradients only
  // through QuantLinear's backward; the packed tensors get none.
  at::manual_seed(6);
  const QuantizedWeight q = small_four_bit_weight(/*act_order=*/false);
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
  for (const at::Tensor& t : {layer.packed().qweight, layer.packed().scales}) EXPECT_FALSE(t.requires_grad());
}

}  // namespace
}  // namespace lowbit::quant
