#include "training_output.h"

#include <cstdio>
#include <sstream>

#include "core/model/model_summary.h"

namespace lowbit::cli {

std::vector<std::string> parse_target_modules(const std::string& list) {
  std::vector<std::string> names;
  std::stringstream stream(list);
  for (std::string name; std::getline(stream, name, ',');) names.push_back(name);
  return names;
}

at::Device planned_device(const std::string& device_name) {
  return device_name == "cpu" ? at::Device(at::kCPU) : at::Device(at::kCUDA);
}

void print_memory_estimate(const at::Device& device, const train::MemoryEstimate& estimate) {
  std::printf("memory estimate for training on %s: %s\n%lld trainable adapter parameters; add about 0.5 GiB for "
              "the CUDA context\n",
              device.str().c_str(), estimate.describe().c_str(), static_cast<long long>(estimate.adapter_parameters));
}

void print_memory_outcome(const at::Device& device, int64_t estimated_bytes, int64_t peak_vram_bytes,
                          int64_t peak_ram_bytes) {
  if (device.is_cuda()) {
    std::printf("VRAM: estimated %s, measured peak %s\n", model::format_bytes(estimated_bytes).c_str(),
                model::format_bytes(peak_vram_bytes).c_str());
  } else {
    std::printf("memory: estimated %s for training on this device; peak RAM of the process %s (data, teacher "
                "caching and the mapped checkpoints included)\n",
                model::format_bytes(estimated_bytes).c_str(), model::format_bytes(peak_ram_bytes).c_str());
  }
}

}  // namespace lowbit::cli
