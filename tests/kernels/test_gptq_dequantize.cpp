// gptq_dequantize_{cpu,cuda} against a float64 reference computed from the unpacked codes, one body per device
// (CUDA skipped without a GPU; a failure under LOWBIT_REQUIRE_GPU=1). Odd shapes, group = K, act-order g_idx,
// v1 and v2 zero points; the output buffer is poisoned with NaN before every run.
#include <gtest/gtest.h>

#include <ATen/Context.h>

#include "core/quant/gptq_pack.h"
#include "kernels/gptq_dequantize.h"
#include "tests/support/gpu_required.h"

namespace lowbit::kernels {
namespace {

enum class Device { Cpu, Cuda };

struct Shape {
  int64_t k_in, n_out, group;
  bool act_order;
};

class GptqDequantize : public ::testing::TestWithParam<Device> {};

TEST_P(GptqDequantize, MatchesTheFloat64Reference) {
  const bool cuda = GetParam() == Device::Cuda;
  if (cuda && !at::hasCUDA()) LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU("no CUDA device");
  if (cuda && !LOWBIT_KERNELS_HAVE_CUDA) GTEST_SKIP() << "built without CUDA kernels";
  at::manual_seed(21);
  const at::Device device = cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  for (const int bits : {2, 3, 4, 8}) {
    for (const Shape& s : {Shape{32, 32, 32, false}, Shape{96, 160, 32, true}, Shape{128, 96, 128, false},
                           Shape{4096 / 16, 352, 64, true}}) {
      for (const int zero_offset : {0, 1}) {
        const int64_t groups = s.k_in / s.group;
        const int64_t maxq = (1 << bits) - 1;
        quant::QuantizedWeight q;
        q.bits = bits;
        q.q = at::randint(0, maxq + 1, {s.k_in, s.n_out}, at::kInt);
        q.zeros = at::randint(zero_offset, maxq + 1, {groups, s.n_out}, at::kInt);
        q.scales = at::rand({groups, s.n_out}).add(0.01).to(at::kHalf).to(at::kFloat);
        const at::Tensor rows = s.act_order ? at::randperm(s.k_in, at::kLong) : at::arange(s.k_in, at::kLong);
        q.g_idx = rows.div(s.group, "floor").to(at::kInt);
        // Reference: scales[g][n] · (q − zero) in float64, from the codes before packing.
        const at::Tensor g = q.g_idx.to(at::kLong);
        const at::Tensor expected = q.scales.to(at::kDouble).index_select(0, g) *
                                    (q.q.to(at::kDouble) - q.zeros.to(at::kDouble).index_select(0, g));
        ASSERT_GT(expected.abs().sum().item<double>(), 0);
        const quant::GptqTensors packed = quant::pack_gptq(q, zero_offset);
        const at::Tensor qweight = packed.qweight.to(device), qzeros = packed.qzeros.to(device);
        const at::Tensor scales = packed.scales.to(device, at::kFloat), g_idx = packed.g_idx.to(device);
        at::Tensor out = at::full({s.k_in, s.n_out}, NAN, at::TensorOptions().device(device).dtype(at::kFloat));
        const GptqLayerView view{qweight.data_ptr<int32_t>(), qzeros.data_ptr<int32_t>(), scales.data_ptr<float>(),
                                 g_idx.data_ptr<int32_t>(), s.k_in, s.n_out, groups, bits, zero_offset};
        const Status status = cuda ? gptq_dequantize_cuda(view, out.data_ptr<float>(), nullptr)
                                   : gptq_dequantize_cpu(view, out.data_ptr<float>());
        ASSERT_EQ(status, Status::Ok) << to_string(status);
        const at::Tensor actual = out.cpu().to(at::kDouble);
        // fp16 scale × small integer is exact in float32, so the result must equal the float64 value.
        const double max_error = (actual - expected).abs().max().item<double>();
        EXPECT_EQ(max_error, 0.0) << bits << "-bit K=" << s.k_in << " N=" << s.n_out << " group " << s.group
                                  << (s.act_order ? " act-order" : "") << " offset " << zero_offset;
      }
    }
  }
}

TEST_P(GptqDequantize, RejectsShapesTheFormatCannotHold) {
  const GptqLayerView view{nullptr, nullptr, nullptr, nullptr, 172, 64, 1, 4, 1};
  float out = 0;
  EXPECT_EQ(GetParam() == Device::Cpu ? gptq_dequantize_cpu(view, &out) : validate(view), Status::UnsupportedShape);
  const GptqLayerView five_bits{nullptr, nullptr, nullptr, nullptr, 64, 64, 1, 5, 1};
  EXPECT_EQ(validate(five_bits), Status::NoKernelForConfig);
}

INSTANTIATE_TEST_SUITE_P(Devices, GptqDequantize, ::testing::Values(Device::Cpu, Device::Cuda),
                         [](const ::testing::TestParamInfo<Device>& device) {
                           return device.param == Device::Cpu ? "Cpu" : "Cuda";
                         });

}  // namespace
}  // namespace lowbit::kernels
