// Error checking for CUDA runtime calls inside kernels/: turn a failure into Status::CudaError with the
// statement, file and line in `detail`, and return. Kernels never exit() and never throw.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "kernels/status.h"

#define LOWBIT_CUDA_RETURN_IF_ERROR(statement, detail)                                                       \
  do {                                                                                                       \
    const cudaError_t lowbit_cuda_status_ = (statement);                                                     \
    if (lowbit_cuda_status_ != cudaSuccess) {                                                                \
      (detail) = std::string(cudaGetErrorString(lowbit_cuda_status_)) + " in " #statement " at " __FILE__    \
                 ":" + std::to_string(__LINE__);                                                             \
      return ::lowbit::kernels::Status::CudaError;                                                           \
    }                                                                                                        \
  } while (false)
