// One test body run on the CPU in float32 and on CUDA in each activation dtype (the CUDA cases skip without a GPU,
// and fail under LOWBIT_REQUIRE_GPU=1), each with the tolerance its dtype allows.
//
//   INSTANTIATE_TEST_SUITE_P(Devices, MyTest, every_device(kFloat32, kFloat16, kBFloat16), device_case_name);
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace lowbit::testing {

struct Precision {
  at::ScalarType dtype;
  double relative_tolerance;  // of the reference's largest magnitude
};

struct DeviceCase {
  bool cuda;
  Precision precision;
  at::Device device() const { return cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU); }
};

inline void PrintTo(const DeviceCase& c, std::ostream* out) {
  *out << (c.cuda ? "cuda " : "cpu ") << c10::toString(c.precision.dtype);
}

inline std::string device_case_name(const ::testing::TestParamInfo<DeviceCase>& param_info) {
  return std::string(param_info.param.cuda ? "Cuda" : "Cpu") + "_" + c10::toString(param_info.param.precision.dtype);
}

// The CPU in float32, then CUDA in float32, float16 and bfloat16.
inline auto every_device(const Precision& float32, const Precision& float16, const Precision& bfloat16) {
  return ::testing::Values(DeviceCase{false, float32}, DeviceCase{true, float32}, DeviceCase{true, float16},
                           DeviceCase{true, bfloat16});
}

}  // namespace lowbit::testing
