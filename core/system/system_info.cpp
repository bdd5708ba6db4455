#include "core/system/system_info.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <cstdio>
#include <sstream>

#include "core/version.h"
#include "core/util/format.h"
#include "kernels/device_query.h"

namespace lowbit::system {

std::vector<std::string> find_system_problems(const SystemInfo& info) {
  std::vector<std::string> problems;
  const int needed_cuda = info.torch_cuda_version;
  if (info.driver.available && needed_cuda > 0 && info.driver.driver_cuda_version > 0 &&
      info.driver.driver_cuda_version < needed_cuda) {
    problems.push_back("the NVIDIA driver " + info.driver.driver_version + " supports CUDA up to " +
                            format_cuda_version(info.driver.driver_cuda_version) + ", but LowBit needs CUDA " +
                            format_cuda_version(needed_cuda) +
                            ": update the NVIDIA driver (version 580 or newer); until then LowBit runs on the CPU");
  }
  for (const GpuStatus& status : info.gpus) {
    const int capability = status.gpu.compute_major * 10 + status.gpu.compute_minor;
    if (capability > 0 && capability < kMinComputeCapability) {
      problems.push_back("GPU " + std::to_string(status.gpu.index) + " (" + status.gpu.name +
                              ") has compute capability " + std::to_string(status.gpu.compute_major) + "." +
                              std::to_string(status.gpu.compute_minor) +
                              "; LowBit needs 7.5 or newer (RTX 20 series and later), so it runs on the CPU");
    } else if (status.kernels_checked && !status.kernels_runnable) {
      problems.push_back("GPU " + std::to_string(status.gpu.index) + ": " + status.kernels_detail);
    }
    if (status.gpu.total_bytes > 0 && status.gpu.free_bytes < kMinFreeVramBytes) {
      problems.push_back("GPU " + std::to_string(status.gpu.index) + " (" + status.gpu.name + ") has only " +
                         format_bytes(static_cast<int64_t>(status.gpu.free_bytes)) + " of " + format_bytes(static_cast<int64_t>(status.gpu.total_bytes)) +
                         " free: close programs that use it (games, browsers with hardware acceleration, other "
                         "AI tools) before quantizing or training");
    }
  }
  return problems;
}

std::vector<std::string> first_start_notices(const SystemInfo& info) {
  std::vector<std::string> notices = find_system_problems(info);
  if (!info.driver.available) {
    // The reason already says what was looked for: "no NVIDIA driver found (libnvidia-ml.so.1 is not installed)".
    const std::string reason = info.driver.unavailable_reason.empty() ? "no NVIDIA driver was found" : info.driver.unavailable_reason;
    notices.insert(notices.begin(), reason + ": LowBit runs everything on the CPU, which is fine for small models and "
                                             "slow for 7B ones; install the NVIDIA driver 580 or newer to use your GPU");
  } else if (info.gpus.empty()) {
    notices.insert(notices.begin(), "the NVIDIA driver " + info.driver.driver_version +
                                        " sees no GPU: LowBit runs everything on the CPU");
  }
  return notices;
}

std::string format_cuda_version(int version) {
  if (version <= 0) return "none";
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

SystemInfo collect_system_info(bool check_kernels) {
  SystemInfo info;
  info.lowbit_version = kLowBitVersion;
  info.torch_version = TORCH_VERSION;
  info.torch_cuda_version = static_cast<int>(at::detail::getCUDAHooks().versionCUDART());
  const kernels::KernelBuildInfo build = kernels::kernel_build_info();
  info.kernels_cuda_compiled = build.cuda_compiled;
  info.kernels_cuda_version = build.cuda_version;
  info.kernels_cuda_archs = build.cuda_archs;
  info.cuda_runtime_version = kernels::cuda_runtime_version();
  info.driver = query_nvidia_driver();
  for (const NvidiaGpu& gpu : info.driver.gpus) {
    GpuStatus status;
    status.gpu = gpu;
    if (check_kernels) {
      status.kernels_checked = true;
      status.kernels_runnable = kernels::check_kernels_on_device(gpu.index, status.kernels_detail) ==
                                kernels::Status::Ok;
    }
    info.gpus.push_back(status);
  }
  info.warnings = find_system_problems(info);
  return info;
}

std::string format_system_report(const SystemInfo& info) {
  std::ostringstream out;
  out << "LowBit: " << info.lowbit_version << "\n";
  out << "LibTorch: " << info.torch_version;
  if (info.torch_cuda_version > 0) {
    out << " (built with CUDA " << format_cuda_version(info.torch_cuda_version) << ")\n";
  } else {
    out << " (CPU-only build)\n";
  }
  if (info.kernels_cuda_compiled) {
    out << "LowBit CUDA kernels: built with CUDA " << format_cuda_version(info.kernels_cuda_version)
        << " for architectures " << info.kernels_cuda_archs << "\n";
    out << "CUDA runtime: " << format_cuda_version(info.cuda_runtime_version) << "\n";
  } else {
    out << "LowBit CUDA kernels: not built (CPU kernels only)\n";
  }
  if (info.driver.available) {
    out << "NVIDIA driver: " << info.driver.driver_version << " (supports CUDA "
        << format_cuda_version(info.driver.driver_cuda_version) << ")\n";
  } else {
    out << "NVIDIA driver: " << info.driver.unavailable_reason << "\n";
  }
  if (info.gpus.empty()) out << "GPU: no CUDA device\n";
  for (const GpuStatus& status : info.gpus) {
    const NvidiaGpu& gpu = status.gpu;
    out << "GPU " << gpu.index << ": " << gpu.name << ", compute capability " << gpu.compute_major << "."
        << gpu.compute_minor << ", " << format_bytes(static_cast<int64_t>(gpu.free_bytes)) << " free of " << format_bytes(static_cast<int64_t>(gpu.total_bytes));
    if (status.kernels_checked) {
      out << ", kernels " << (status.kernels_runnable ? "ok" : "unavailable");
    }
    out << "\n";
  }
  for (const std::string& warning : info.warnings) out << "Warning: " << warning << "\n";
  return out.str();
}

}  // namespace lowbit::system
