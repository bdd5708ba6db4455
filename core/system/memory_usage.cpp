#include "core/system/memory_usage.h"

#include <ATen/Context.h>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define LOWBIT_HAS_TORCH_CUDA 1
#endif

#ifndef _WIN32
#include <sys/resource.h>
#endif

namespace lowbit::system {

int64_t peak_ram_bytes() {
#ifndef _WIN32
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
#endif
  return 0;
}

int64_t peak_vram_bytes(int device) {
#ifdef LOWBIT_HAS_TORCH_CUDA
  if (at::hasCUDA()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
    return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
  }
#endif
  (void)device;
  return 0;
}

void reset_peak_vram(int device) {
#ifdef LOWBIT_HAS_TORCH_CUDA
  if (at::hasCUDA()) c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
#endif
  (void)device;
}

void release_cached_vram() {
#ifdef LOWBIT_HAS_TORCH_CUDA
  if (at::hasCUDA()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

}  // namespace lowbit::system
