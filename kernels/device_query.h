// What the CUDA part of kernels/ was built for, and whether it can run on a given GPU.
//
// A build compiles SASS/PTX for a fixed list of architectures (CMAKE_CUDA_ARCHITECTURES). A GPU outside that
// list fails at the first launch with "no kernel image is available"; check_kernels_on_device() finds that out
// up front so `lowbit --version` and the About page can say it plainly. GPU enumeration itself (names, memory,
// driver) is done without CUDA in core/system, so it also works before any CUDA library is initialised.
//
//   KernelBuildInfo info = kernel_build_info();            // never touches the GPU
//   std::string why;
//   if (check_kernels_on_device(0, why) != Status::Ok) ... // creates a CUDA context on device 0
#pragma once

#include <string>

#include "kernels/status.h"

namespace lowbit::kernels {

struct KernelBuildInfo {
  bool cuda_compiled = false;
  int cuda_version = 0;      // CUDART_VERSION the kernels were compiled with, e.g. 13000; 0 without CUDA
  std::string cuda_archs;    // CMAKE_CUDA_ARCHITECTURES of the build, e.g. "90" or "75-virtual;86-real"
};

KernelBuildInfo kernel_build_info();

// Version of the CUDA runtime library loaded in this process (e.g. 13000), 0 when not built with CUDA.
int cuda_runtime_version();

// Ok when this build has a kernel image the device can run. Otherwise the status, with `detail` saying why
// (e.g. "this build has no kernels for sm_61; it was compiled for 90").
Status check_kernels_on_device(int device_index, std::string& detail);

// The device's peak memory bandwidth in bytes/s from its memory clock and bus width (double data rate), the
// ceiling a memory-bound kernel is measured against; 0 when unknown (no CUDA, no such device).
double peak_memory_bandwidth(int device_index);

}  // namespace lowbit::kernels
