// Peak memory of this process, for the reports of long jobs ("quantizing needed 3.1 GiB RAM, 5.2 GiB VRAM").
#pragma once

#include <cstdint>

namespace lowbit::system {

// Peak resident set size so far, in bytes (0 where the platform does not say).
int64_t peak_ram_bytes();

// Resident set size now, and the machine's physical memory (0 where the platform does not say).
int64_t current_ram_bytes();
int64_t total_ram_bytes();

// Bytes LibTorch's CUDA allocator holds on `device` now (allocated and cached: what the driver sees of this
// process, less the CUDA context), and the device's total memory; 0 without CUDA.
int64_t reserved_vram_bytes(int device);
int64_t vram_total_bytes(int device);

// Peak bytes LibTorch's CUDA allocator has handed out on `device` since the last reset; 0 without CUDA.
int64_t peak_vram_bytes(int device);
void reset_peak_vram(int device);
// Returns the CUDA memory LibTorch keeps cached but unused to the driver (after a model is dropped).
void release_cached_vram();

}  // namespace lowbit::system
