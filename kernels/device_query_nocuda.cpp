// The device query of a build without CUDA kernels (LOWBIT_CUDA=OFF or no nvcc): nothing can run on a GPU.
#include "kernels/device_query.h"

namespace lowbit::kernels {

KernelBuildInfo kernel_build_info() { return KernelBuildInfo{false, 0, ""}; }

int cuda_runtime_version() { return 0; }

Status check_kernels_on_device(int, std::string& detail) {
  detail = "this build of LowBit has no CUDA kernels (configured without CUDA); GPU work is unavailable";
  return Status::NoCudaSupport;
}

double peak_memory_bandwidth(int) { return 0.0; }

}  // namespace lowbit::kernels
