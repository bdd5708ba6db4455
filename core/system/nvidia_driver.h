// Asks the NVIDIA driver (through NVML, loaded at run time) which GPUs exist, without creating a CUDA context
// or loading any CUDA library. This works on machines with no driver at all (it then says so), and it is what
// runs before LibTorch's CUDA part is touched.
//
// Device indices are NVML's (PCI bus order); they match CUDA's on single-GPU machines and whenever
// CUDA_DEVICE_ORDER=PCI_BUS_ID is set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::system {

struct NvidiaGpu {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};

struct NvidiaDriverInfo {
  bool available = false;        // NVML loaded and initialised
  std::string unavailable_reason;
  std::string driver_version;    // e.g. "580.95.05"
  int driver_cuda_version = 0;   // highest CUDA the driver supports, e.g. 13000
  std::vector<NvidiaGpu> gpus;
};

NvidiaDriverInfo query_nvidia_driver();

}  // namespace lowbit::system
