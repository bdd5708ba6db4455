// Runs on the GPU machine (ctest -L gpu): the GPU is seen through the driver and our kernels can run on it.
#include <gtest/gtest.h>

#include "core/system/system_info.h"
#include "kernels/device_query.h"
#include "tests/support/gpu_required.h"

namespace lowbit::kernels {
namespace {

TEST(DeviceQueryGpu, KernelsRunOnEveryVisibleGpu) {
  const system::SystemInfo info = system::collect_system_info(/*check_kernels=*/true);
  if (info.gpus.empty()) LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU("no CUDA device is visible: " + info.driver.unavailable_reason);
  ASSERT_TRUE(kernel_build_info().cuda_compiled) << "this build has no CUDA kernels (LOWBIT_CUDA=OFF?)";
  EXPECT_GE(cuda_runtime_version(), 13000);
  for (const system::GpuStatus& status : info.gpus) {
    EXPECT_FALSE(status.gpu.name.empty());
    EXPECT_GE(status.gpu.compute_major * 10 + status.gpu.compute_minor, system::kMinComputeCapability);
    EXPECT_GT(status.gpu.total_bytes, 0u);
    EXPECT_LE(status.gpu.free_bytes, status.gpu.total_bytes);
    EXPECT_TRUE(status.kernels_runnable) << status.kernels_detail;
  }
}

TEST(DeviceQueryGpu, RejectsADeviceIndexThatDoesNotExist) {
  if (!kernel_build_info().cuda_compiled) GTEST_SKIP() << "built without CUDA kernels";
  std::string detail;
  const Status status = check_kernels_on_device(1000, detail);
  EXPECT_NE(status, Status::Ok);
  EXPECT_FALSE(detail.empty());
}

}  // namespace
}  // namespace lowbit::kernels
