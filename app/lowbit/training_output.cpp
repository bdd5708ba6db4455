#include "training_output.h"

#include <cstdio>

#include "core/util/format.h"

namespace lowbit::cli {

at::Device planned_device(const std::string& device_name) {
  return device_name == "cpu" ? at::Device(at::kCPU) : at::Device(at::kCUDA);
}

void print_memory_estimate(const at::Device& device, const train::MemoryEstimate& estimate) {
  std::printf("memory estimate for training on %s: %s\n%lld trainable adapter parameters; add about 0.5 GiB for "
              "the CUDA context\n",
              device.str().c_str(), estimate.describe().c_str(), static_cast<long long>(estimate.adapter_parameters));
}

void print_memory_outcome(const std::string& device, int64_t estimated_bytes, int64_t peak_vram_bytes,
                          int64_t peak_ram_bytes) {
  if (device.rfind("cuda", 0) == 0) {
    std::printf("VRAM: estimated %s, measured peak %s\n", format_bytes(estimated_bytes).c_str(),
                format_bytes(peak_vram_bytes).c_str());
  } else {
    std::printf("memory: estimated %s for training on this device; peak RAM of the process %s (data, teacher "
                "caching and the mapped checkpoints included)\n",
                format_bytes(estimated_bytes).c_str(), format_bytes(peak_ram_bytes).c_str());
  }
}

}  // namespace lowbit::cli
