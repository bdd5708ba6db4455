#include <cuda_runtime.h>

#include "kernels/device_query.h"
#include "kernels/cuda_check.cuh"

namespace lowbit::kernels {
namespace {

// Never launched: cudaFuncGetAttributes on it fails with cudaErrorNoKernelImageForDevice exactly when the
// build holds neither SASS for the device's architecture nor PTX the driver can JIT for it.
__global__ void kernel_image_probe_kernel() {}

}  // namespace

KernelBuildInfo kernel_build_info() {
  return KernelBuildInfo{true, CUDART_VERSION, LOWBIT_CUDA_ARCHS};
}

int cuda_runtime_version() {
  int version = 0;
  return cudaRuntimeGetVersion(&version) == cudaSuccess ? version : 0;
}

Status check_kernels_on_device(int device_index, std::string& detail) {
  int device_count = 0;
  LOWBIT_CUDA_RETURN_IF_ERROR(cudaGetDeviceCount(&device_count), detail);
  if (device_index < 0 || device_index >= device_count) {
    detail = "no CUDA device " + std::to_string(device_index) + " (" + std::to_string(device_count) + " visible)";
    return Status::UnsupportedShape;
  }
  cudaDeviceProp props{};
  LOWBIT_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&props, device_index), detail);
  LOWBIT_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_index), detail);
  cudaFuncAttributes attributes{};
  const cudaError_t probe = cudaFuncGetAttributes(&attributes, kernel_image_probe_kernel);
  const std::string arch = "sm_" + std::to_string(props.major) + std::to_string(props.minor);
  if (probe == cudaErrorNoKernelImageForDevice || probe == cudaErrorInvalidDeviceFunction) {
    cudaGetLastError();  // clear the sticky-free error so later calls in this thread start clean
    detail = "this build has no kernels for " + arch + " (" + props.name + "); it was compiled for " +
             LOWBIT_CUDA_ARCHS + ". Install a release build, which covers sm_75 to sm_120.";
    return Status::NoKernelForConfig;
  }
  LOWBIT_CUDA_RETURN_IF_ERROR(probe, detail);
  detail = "kernels run on " + arch + " (binary version " + std::to_string(attributes.binaryVersion) +
           ", PTX version " + std::to_string(attributes.ptxVersion) + ")";
  return Status::Ok;
}

double peak_memory_bandwidth(int device_index) {
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device_index) != cudaSuccess ||
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device_index) != cudaSuccess) {
    cudaGetLastError();
    return 0.0;
  }
  return 2.0 * clock_khz * 1e3 * bus_bits / 8.0;
}

}  // namespace lowbit::kernels
