#include <gtest/gtest.h>

#include "core/system/system_info.h"
#include "kernels/device_query.h"

namespace lowbit::system {
namespace {

SystemInfo info_with_one_gpu(int compute_major, int compute_minor, int driver_cuda_version) {
  SystemInfo info;
  info.lowbit_version = "0.1.0";
  info.torch_version = "2.11.0";
  info.torch_cuda_version = 13000;
  info.driver.available = true;
  info.driver.driver_version = "999.1";
  info.driver.driver_cuda_version = driver_cuda_version;
  GpuStatus status;
  status.gpu = {0, "Test GPU", compute_major, compute_minor, 3ull << 30, 8ull << 30};
  info.gpus.push_back(status);
  return info;
}

TEST(SystemInfo, FormatsCudaVersions) {
  EXPECT_EQ(format_cuda_version(13000), "13.0");
  EXPECT_EQ(format_cuda_version(12040), "12.4");
  EXPECT_EQ(format_cuda_version(0), "none");
}

TEST(SystemInfo, ReportListsEachGpuWithCapabilityAndFreeMemory) {
  const std::string report = format_system_report(info_with_one_gpu(8, 6, 13000));
  EXPECT_NE(report.find("LibTorch: 2.11.0 (built with CUDA 13.0)"), std::string::npos) << report;
  EXPECT_NE(report.find("NVIDIA driver: 999.1 (supports CUDA 13.0)"), std::string::npos) << report;
  EXPECT_NE(report.find("GPU 0: Test GPU, compute capability 8.6, 3.0 GiB free of 8.0 GiB"), std::string::npos)
      << report;
  EXPECT_EQ(report.find("no CUDA device"), std::string::npos) << report;
}

TEST(SystemInfo, ReportSaysWhenThereIsNoGpu) {
  SystemInfo info;
  info.torch_version = "2.11.0";
  info.driver.unavailable_reason = "no NVIDIA driver found";
  const std::string report = format_system_report(info);
  EXPECT_NE(report.find("GPU: no CUDA device"), std::string::npos) << report;
  EXPECT_NE(report.find("NVIDIA driver: no NVIDIA driver found"), std::string::npos) << report;
}

TEST(SystemInfo, FindsNoProblemOnACurrentSetup) {
  EXPECT_TRUE(find_system_problems(info_with_one_gpu(8, 6, 13000)).empty());
}

TEST(SystemInfo, WarnsWhenTheDriverIsTooOldForLibTorchCuda) {
  const std::vector<std::string> problems = find_system_problems(info_with_one_gpu(8, 6, 12040));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("supports CUDA up to 12.4"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("580 or newer"), std::string::npos) << problems[0];
}

TEST(SystemInfo, WarnsWhenTheGpuIsOlderThanTuring) {
  const std::vector<std::string> problems = find_system_problems(info_with_one_gpu(6, 1, 13000));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("compute capability 6.1"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("7.5 or newer"), std::string::npos) << problems[0];
}

TEST(SystemInfo, WarnsWhenTheBuildHasNoKernelsForTheGpu) {
  SystemInfo info = info_with_one_gpu(8, 6, 13000);
  info.gpus[0].kernels_checked = true;
  info.gpus[0].kernels_runnable = false;
  info.gpus[0].kernels_detail = "this build has no kernels for sm_86";
  const std::vector<std::string> problems = find_system_problems(info);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "GPU 0: this build has no kernels for sm_86");
}

TEST(SystemInfo, WarnsWhenOtherProgramsHoldTheGpuMemory) {
  SystemInfo info = info_with_one_gpu(8, 6, 13000);
  info.gpus[0].gpu.free_bytes = 1ull << 30;
  const std::vector<std::string> problems = find_system_problems(info);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("has only 1.0 GiB of 8.0 GiB free"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("close programs"), std::string::npos) << problems[0];
}

TEST(SystemInfo, FirstStartSaysWhenEverythingRunsOnTheCpu) {
  SystemInfo none;
  none.driver.unavailable_reason = "no NVIDIA driver found (libnvidia-ml.so.1 is not installed)";
  const std::vector<std::string> notices = first_start_notices(none);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].rfind("no NVIDIA driver found (libnvidia-ml.so.1 is not installed): LowBit runs", 0), 0u) << notices[0];
  EXPECT_NE(notices[0].find("runs everything on the CPU"), std::string::npos) << notices[0];
  EXPECT_NE(notices[0].find("580 or newer"), std::string::npos) << notices[0];
  EXPECT_TRUE(first_start_notices(info_with_one_gpu(8, 6, 13000)).empty());
  EXPECT_EQ(first_start_notices(info_with_one_gpu(8, 6, 12040)).size(), 1u);  // the old driver
}

TEST(SystemInfo, CollectedFactsAreCoherentOnThisMachine) {
  const SystemInfo info = collect_system_info(/*check_kernels=*/false);
  EXPECT_EQ(info.torch_version.rfind("2.11.0", 0), 0u) << "LibTorch " << info.torch_version
                                                        << " is not the pinned 2.11.0 (scripts/setup.sh)";
  if (!info.driver.available) {
    EXPECT_FALSE(info.driver.unavailable_reason.empty());
    EXPECT_TRUE(info.gpus.empty());
  }
  for (const GpuStatus& status : info.gpus) {
    EXPECT_FALSE(status.gpu.name.empty());
    EXPECT_GT(status.gpu.total_bytes, 0u);
    EXPECT_LE(status.gpu.free_bytes, status.gpu.total_bytes);
  }
  const kernels::KernelBuildInfo build = kernels::kernel_build_info();
  EXPECT_EQ(info.kernels_cuda_compiled, build.cuda_compiled);
#ifdef LOWBIT_HAS_CUDA_KERNELS
  EXPECT_TRUE(build.cuda_compiled);
  EXPECT_GE(build.cuda_version, 13000);
  EXPECT_FALSE(build.cuda_archs.empty());
#else
  EXPECT_FALSE(build.cuda_compiled);
#endif
}

}  // namespace
}  // namespace lowbit::system
