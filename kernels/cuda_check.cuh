// Error checking for CUDA runtime calls inside kernels/: a failure becomes Status::CudaError, its text kept for
// last_cuda_error_text(). Kernels never exit() and never throw.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "kernels/status.h"

namespace lowbit::kernels {

// The status of a launch from cudaGetLastError(), remembering the runtime's text when it failed.
inline Status record_launch(cudaError_t error) {
  if (error == cudaSuccess) return Status::Ok;
  set_last_cuda_error_text(cudaGetErrorString(error));
  return Status::CudaError;
}

}  // namespace lowbit::kernels

#define LOWBIT_CUDA_RETURN_IF_ERROR(statement, detail)                                                       \
  do {                                                                                                       \
    const cudaError_t lowbit_cuda_status_ = (statement);                                                     \
    if (lowbit_cuda_status_ != cudaSuccess) {                                                                \
      (detail) = std::string(cudaGetErrorString(lowbit_cuda_status_)) + " in " #statement " at " __FILE__    \
                 ":" + std::to_string(__LINE__);                                                             \
      return ::lowbit::kernels::Status::CudaError;                                                           \
    }                                                                                                        \
  } while (false)
