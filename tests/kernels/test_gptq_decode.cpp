// The fused decode product y = x·W (≤ 16 rows, straight from the packed words) against x·W in float64 from the
// codes, one body per device: fp32 activations on the CPU, fp32/fp16/bf16 on CUDA. Odd shapes, group = K,
// non-monotone (act-order) g_idx, v1 and v2 zero points; y poisoned with NaN before every run.
#include <gtest/gtest.h>

#include <ATen/Context.h>

#include <thread>

#include "kernels/gptq_decode.h"
#include "tests/support/device_case.h"
#include "tests/support/gpu_required.h"
#include "tests/support/random_gptq_layer.h"

namespace lowbit::kernels {
namespace {

using testing::LayerShape;

using testing::DeviceCase;
using testing::Precision;

// Of max |y|. fp32: the kernels and float64 differ in summation order only (K ≤ 4096 terms → ~1e-6). fp16 and bf16:
// x is rounded to the type before the reference sees it, and y once more on the way out (2^-11 and 2^-8).
const Precision kFloat32{at::kFloat, 1e-5};
const Precision kFloat16{at::kHalf, 1.5e-3};
const Precision kBFloat16{at::kBFloat16, 8e-3};

class GptqDecode : public ::testing::TestWithParam<DeviceCase> {};

const LayerShape kShapes[] = {{32, 32, 32, false}, {96, 160, 32, true}, {256, 96, 256, false},
                              {4096 / 8, 352, 128, true}, {544, 64, 32, false}};

ElementType element_type(at::ScalarType dtype) {
  return dtype == at::kFloat ? ElementType::Float32 : dtype == at::kHalf ? ElementType::Float16 : ElementType::BFloat16;
}

// y [rows, N] in the activation dtype, or the status.
Status run_decode(const testing::RandomGptqLayer& layer, const at::Tensor& x, at::Tensor& y) {
  const GptqLayerView view = layer.view();
  const int64_t rows = x.size(0);
  if (!x.is_cuda()) return gptq_decode_cpu(view, x.data_ptr<float>(), rows, y.data_ptr<float>());
  const at::Tensor workspace =
      at::full({gptq_decode_workspace_floats(view, rows)}, NAN, x.options().dtype(at::kFloat));
  return gptq_decode_cuda(view, x.data_ptr(), element_type(x.scalar_type()), rows, y.data_ptr(),
                          workspace.data_ptr<float>(), nullptr);
}

TEST_P(GptqDecode, MatchesTheFloat64Product) {
  const DeviceCase c = GetParam();
  if (c.cuda && !at::hasCUDA()) LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU("no CUDA device");
  if (c.cuda && !LOWBIT_KERNELS_HAVE_CUDA) GTEST_SKIP() << "built without CUDA kernels";
  at::manual_seed(22);
  const at::Device device = c.device();
  const at::ScalarType dtype = c.precision.dtype;
  for (const int bits : {2, 3, 4, 8}) {
    for (const LayerShape& s : kShapes) {
      if ((s.n_out * bits) % 32 != 0) continue;
      for (const int zero_offset : {0, 1}) {
        const testing::RandomGptqLayer layer = testing::random_gptq_layer(s, bits, zero_offset, device);
        for (const int64_t rows : {1, 3, 4, 9, 16}) {
          const at::Tensor x = at::randn({rows, s.k_in}).to(device, dtype);
          at::Tensor y = at::full({rows, s.n_out}, NAN, x.options());
          const Status status = run_decode(layer, x, y);
          ASSERT_EQ(status, Status::Ok) << to_string(status) << " " << last_cuda_error_text();
          const at::Tensor expected = at::matmul(x.cpu().to(at::kDouble), layer.dense);
          const double scale = expected.abs().max().item<double>();
          const double error = (y.cpu().to(at::kDouble) - expected).abs().max().item<double>() / scale;
          EXPECT_LE(error, c.precision.relative_tolerance)
              << bits << "-bit K=" << s.k_in << " N=" << s.n_out << " group " << s.group
              << (s.act_order ? " act-order" : "") << " offset " << zero_offset << " rows " << rows << " "
              << c10::toString(dtype);
        }
      }
    }
  }
}

TEST_P(GptqDecode, RefusesRowCountsOutsideTheDecodeRange) {
  const DeviceCase c = GetParam();
  if (c.cuda && (!at::hasCUDA() || !LOWBIT_KERNELS_HAVE_CUDA)) GTEST_SKIP() << "no CUDA device or kernels";
  const at::Device device = c.device();
  const testing::RandomGptqLayer layer = testing::random_gptq_layer({64, 32, 32, false}, 4, 1, device);
  for (const int64_t rows : {int64_t{0}, kMaxDecodeRows + 1}) {
    const at::Tensor x = at::zeros({std::max<int64_t>(rows, 1), 64}, at::TensorOptions(device).dtype(c.precision.dtype));
    const at::Tensor y = at::zeros({std::max<int64_t>(rows, 1), 32}, x.options());
    const GptqLayerView view = layer.view();
    const Status status = c.cuda ? gptq_decode_cuda(view, x.data_ptr(), element_type(x.scalar_type()), rows,
                                                    y.data_ptr(), nullptr, nullptr)
                                 : gptq_decode_cpu(view, x.data_ptr<float>(), rows, y.data_ptr<float>());
    EXPECT_EQ(status, Status::NoKernelForConfig) << rows << " rows";
  }
  if (c.cuda) {  // K not a multiple of 32: the caller takes the dequantize path
    const testing::RandomGptqLayer odd = testing::random_gptq_layer({40, 32, 40, false}, 4, 1, device);
    const at::Tensor x = at::zeros({1, 40}, at::TensorOptions(device).dtype(c.precision.dtype));
    const at::Tensor y = at::zeros({1, 32}, x.options());
    EXPECT_EQ(gptq_decode_cuda(odd.view(), x.data_ptr(), element_type(x.scalar_type()), 1, y.data_ptr(), nullptr,
                               nullptr),
              Status::NoKernelForConfig);
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, GptqDecode, testing::every_device(kFloat32, kFloat16, kBFloat16),
                         testing::device_case_name);

TEST(GptqDecodeCpu, CallsFromSeveralThreadsAtOnceGiveTheSingleThreadResult) {
  // The CPU kernel shares one thread pool; a call made while another holds it runs on the caller's thread.
  at::manual_seed(23);
  const testing::RandomGptqLayer layer = testing::random_gptq_layer({512, 1024, 128, false}, 4, 1, at::kCPU);
  const at::Tensor x = at::randn({2, 512});
  at::Tensor expected = at::empty({2, 1024});
  ASSERT_EQ(run_decode(layer, x, expected), Status::Ok);
  std::vector<at::Tensor> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      results[t] = at::full({2, 1024}, NAN);
      for (int repeat = 0; repeat < 20; ++repeat) ASSERT_EQ(run_decode(layer, x, results[t]), Status::Ok);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const at::Tensor& result : results) EXPECT_TRUE(at::equal(result, expected));
}

}  // namespace
}  // namespace lowbit::kernels
