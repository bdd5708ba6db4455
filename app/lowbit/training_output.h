// What `lowbit correct` and `lowbit finetune` share: the --estimate report, and the memory line printed after a
// run (estimate beside the measured peak).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "core/train/memory_estimate.h"

namespace lowbit::cli {

// The device an --estimate is for: a plan may be for a GPU this machine does not have, so "auto" means a GPU.
at::Device planned_device(const std::string& device_name);

// The --estimate output: the estimate, the trainable parameters and the CUDA context it leaves out.
void print_memory_estimate(const at::Device& device, const train::MemoryEstimate& estimate);

// After a run: "VRAM: estimated X, measured peak Y" on CUDA, the process's peak RAM beside the estimate on the CPU.
void print_memory_outcome(const std::string& device, int64_t estimated_bytes, int64_t peak_vram_bytes,
                          int64_t peak_ram_bytes);

}  // namespace lowbit::cli
