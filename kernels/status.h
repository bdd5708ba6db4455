// Status codes returned by every kernels/ entry point. Kernels never throw and never exit: the torch-facing
// adapter in core/ turns a non-Ok status into an exception that names the op and the values involved.
#pragma once

#include <string>

namespace lowbit::kernels {

enum class Status {
  Ok,
  UnsupportedShape,   // the sizes break a documented precondition of the op
  NoKernelForConfig,  // no kernel was compiled for this bits/group/dtype combination or this GPU arch
  CudaError,          // a CUDA runtime call failed; last_cuda_error_text() says which
  NoCudaSupport,      // this build has no CUDA kernels (configured with LOWBIT_CUDA=OFF or without nvcc)
};

inline const char* to_string(Status status) {
  switch (status) {
    case Status::Ok: return "ok";
    case Status::UnsupportedShape: return "unsupported shape";
    case Status::NoKernelForConfig: return "no kernel for this configuration";
    case Status::CudaError: return "CUDA error";
    case Status::NoCudaSupport: return "built without CUDA kernels";
  }
  return "unknown status";
}

// The CUDA runtime's text for the last launch on this thread that returned CudaError ("" before any).
const char* last_cuda_error_text();

// Set by the CUDA launchers in kernels/ (cuda_check.cuh) when a launch fails.
void set_last_cuda_error_text(const std::string& text);

}  // namespace lowbit::kernels
