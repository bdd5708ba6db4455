// gptq_dequantize_{cpu,cuda} against a float64 reference computed from the unpacked codes, one body per device
// (CUDA skipped without a GPU; a failure under LOWBIT_REQUIRE_GPU=1). Odd shapes, group = K, act-order g_idx,
// v1 and v2 zero points, every output type CUDA has; the output buffer is poisoned with NaN before every run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <ATen/Context.h>

#include "kernels/gptq_format.h"
#include "tests/support/gpu_required.h"
#include "tests/support/random_gptq_layer.h"

namespace lowbit::kernels {
namespace {

enum class Device { Cpu, Cuda };

using testing::LayerShape;

class GptqDequantize : public ::testing::TestWithParam<Device> {};

// K = 96 and 4096/16 are multiples of 32 (the chunked CUDA kernel); K = 80 and 40 are not (the per-element one).
const LayerShape kShapes[] = {{32, 32, 32, false},  {96, 160, 32, true}, {128, 96, 128, false},
                              {4096 / 16, 352, 64, true}, {80, 64, 16, true}, {40, 32, 40, false}};

TEST_P(GptqDequantize, MatchesTheFloat64Reference) {
  const bool cuda = GetParam() == Device::Cuda;
  if (cuda && !at::hasCUDA()) LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU("no CUDA device");
  if (cuda && !LOWBIT_KERNELS_HAVE_CUDA) GTEST_SKIP() << "built without CUDA kernels";
  at::manual_seed(21);
  const at::Device device = cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  for (const int bits : {2, 3, 4, 8}) {
    for (const LayerShape& s : kShapes) {
      if ((s.k_in * bits) % 32 != 0 || (s.n_out * bits) % 32 != 0) continue;
      for (const int zero_offset : {0, 1}) {
        const testing::RandomGptqLayer layer = testing::random_gptq_layer(s, bits, zero_offset, device);
        ASSERT_GT(layer.dense.abs().sum().item<double>(), 0);
        std::vector<at::ScalarType> types = {at::kFloat};
        if (cuda) types = {at::kFloat, at::kHalf, at::kBFloat16};
        for (const at::ScalarType type : types) {
          at::Tensor out = at::full({s.k_in, s.n_out}, NAN, at::TensorOptions().device(device).dtype(type));
          const Status status =
              cuda ? gptq_dequantize_cuda(layer.view(), out.data_ptr(),
                                          type == at::kFloat  ? ElementType::Float32
                                          : type == at::kHalf ? ElementType::Float16
                                                              : ElementType::BFloat16,
                                          nullptr)
                   : gptq_dequantize_cpu(layer.view(), out.data_ptr<float>());
          ASSERT_EQ(status, Status::Ok) << to_string(status) << " " << last_cuda_error_text();
          // fp16 scale × small integer is exact in float32, so float32 equals the float64 value and the 16-bit
          // types equal its rounding (round to nearest even on both sides).
          const at::Tensor expected = layer.dense.to(at::kFloat).to(type).to(at::kDouble);
          const double max_error = (out.cpu().to(at::kDouble) - expected).abs().max().item<double>();
          EXPECT_EQ(max_error, 0.0) << bits << "-bit K=" << s.k_in << " N=" << s.n_out << " group " << s.group
                                    << (s.act_order ? " act-order" : "") << " offset " << zero_offset << " "
                                    << c10::toString(type);
        }
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

TEST(GptqFormat, HalfBitsConvertExactlyAsTorchDoes) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto half_bits = static_cast<uint16_t>(bits);
    at::Half half;
    half.x = half_bits;
    const float expected = static_cast<float>(half);
    const float actual = gptq::half_bits_to_float(half_bits);
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(actual)) << std::hex << bits;
    } else {
      ASSERT_EQ(std::memcmp(&expected, &actual, sizeof actual), 0) << std::hex << bits << " " << expected << " " << actual;
    }
  }
}

template <int Bits>
void expect_chunks_match_values() {
  at::manual_seed(Bits);
  const int64_t n_out = 64, k_in = 96;
  const at::Tensor qweight = at::randint(INT32_MIN, INT32_MAX, {gptq::packed_words(k_in, Bits), n_out}, at::kInt);
  for (int64_t chunk = 0; chunk < k_in / gptq::kChunkValues; ++chunk) {
    for (int64_t n = 0; n < n_out; ++n) {
      uint32_t codes[gptq::kChunkValues];
      gptq::unpack_chunk<Bits>(qweight.data_ptr<int32_t>(), n_out, chunk, n, codes);
      for (int i = 0; i < gptq::kChunkValues; ++i) {
        ASSERT_EQ(codes[i], gptq::unpack_value(qweight.data_ptr<int32_t>() + n, n_out, chunk * 32 + i, Bits))
            << Bits << "-bit chunk " << chunk << " column " << n << " value " << i;
      }
    }
  }
}

TEST(GptqFormat, ChunkUnpackingEqualsValueUnpacking) {
  expect_chunks_match_values<2>();
  expect_chunks_match_values<3>();
  expect_chunks_match_values<4>();
  expect_chunks_match_values<8>();
}

}  // namespace
}  // namespace lowbit::kernels
