#include "core/system/memory_usage.h"

#include "core/system/nvidia_driver.h"

#include <ATen/Context.h>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define LOWBIT_HAS_TORCH_CUDA 1
#endif

#ifdef _WIN32
#include <windows.h>
#include <psapi.h>
#else
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#endif

namespace lowbit::system {

int64_t peak_ram_bytes() {
#ifndef _WIN32
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
#endif
  return 0;
}

int64_t current_ram_bytes() {
#ifdef _WIN32
  PROCESS_MEMORY_COUNTERS counters{};
  if (GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof(counters))) return static_cast<int64_t>(counters.WorkingSetSize);
#else
  std::ifstream statm("/proc/self/statm");  // pages: size resident shared ...
  int64_t size = 0, resident = 0;
  if (statm >> size >> resident) return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
#endif
  return 0;
}

int64_t total_ram_bytes() {
#ifdef _WIN32
  MEMORYSTATUSEX status{};
  status.dwLength = sizeof(status);
  if (GlobalMemoryStatusEx(&status)) return static_cast<int64_t>(status.ullTotalPhys);
  return 0;
#else
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? static_cast<int64_t>(pages) * page_size : 0;
#endif
}

int64_t reserved_vram_bytes(int device) {
#ifdef LOWBIT_HAS_TORCH_CUDA
  if (at::hasCUDA()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
    return stats.reserved_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].current;
  }
#endif
  (void)device;
  return 0;
}

int64_t vram_total_bytes(int device) {
  // Through the driver (NVML): no CUDA header needed here, and it is asked once per run.
  const NvidiaDriverInfo driver = query_nvidia_driver();
  for (const NvidiaGpu& gpu : driver.gpus) {
    if (gpu.index == device) return static_cast<int64_t>(gpu.total_bytes);
  }
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
