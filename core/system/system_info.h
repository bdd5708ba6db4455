// The facts `lowbit --version` and the app's About → System page show: versions of LowBit, LibTorch and CUDA,
// the NVIDIA driver, and each GPU with its compute capability, free memory and whether our kernels run on it.
//
//   SystemInfo info = collect_system_info(/*check_kernels=*/true);   // may take a second (CUDA context)
//   std::cout << format_system_report(info);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/system/nvidia_driver.h"

namespace lowbit::system {

struct GpuStatus {
  NvidiaGpu gpu;
  bool kernels_checked = false;
  bool kernels_runnable = false;
  std::string kernels_detail;
};

struct SystemInfo {
  std::string lowbit_version;
  std::string torch_version;
  int torch_cuda_version = 0;      // CUDA LibTorch was built with, 0 for a CPU-only LibTorch
  bool kernels_cuda_compiled = false;
  int kernels_cuda_version = 0;
  std::string kernels_cuda_archs;
  int cuda_runtime_version = 0;    // libcudart loaded in this process
  NvidiaDriverInfo driver;
  std::vector<GpuStatus> gpus;
  std::vector<std::string> warnings;  // actionable problems found: old driver, GPU too old, ...
};

// Oldest GPU architecture the release build supports (Turing, RTX 20 series).
inline constexpr int kMinComputeCapability = 75;
// Below this much free GPU memory not even a 1B model's chat fits (other programs hold the rest).
inline constexpr uint64_t kMinFreeVramBytes = 1536ull << 20;

SystemInfo collect_system_info(bool check_kernels);

// Actionable problems in `info`: a driver too old for LibTorch's CUDA, a GPU older than sm_75, a GPU this
// build has no kernels for. collect_system_info() stores them in SystemInfo::warnings.
std::vector<std::string> find_system_problems(const SystemInfo& info);

// What the app says at its first start (and until dismissed): find_system_problems(), and that there is no NVIDIA
// driver or GPU at all (then everything runs on the CPU). Works from the driver's facts alone (NVML), before
// LibTorch creates a CUDA context.
std::vector<std::string> first_start_notices(const SystemInfo& info);

// "13.0" from 13000.
std::string format_cuda_version(int version);

// Multi-line human-readable report; every line is "label: value".
std::string format_system_report(const SystemInfo& info);

}  // namespace lowbit::system
