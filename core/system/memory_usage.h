// Peak memory of this process, for the reports of long jobs ("quantizing needed 3.1 GiB RAM, 5.2 GiB VRAM").
#pragma once

#include <cstdint>

namespace lowbit::system {

// Peak resident set size so far, in bytes (0 where the platform does not say).
int64_t peak_ram_bytes();

// Peak bytes LibTorch's CUDA allocator has handed out on `device` since the last reset; 0 without CUDA.
int64_t peak_vram_bytes(int device);
void reset_peak_vram(int device);
// Returns the CUDA memory LibTorch keeps cached but unused to the driver (after a model is dropped).
void release_cached_vram();

}  // namespace lowbit::system
