#include "core/system/nvidia_driver.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace lowbit::system {
namespace {

// The few NVML entry points we use, declared here so that no NVML header or import library is needed at build
// time; signatures from nvml.h (stable since NVML 10).
using NvmlReturn = int;
using NvmlDevice = struct NvmlDeviceOpaque*;
struct NvmlMemory {
  unsigned long long total, free, used;
};
constexpr NvmlReturn kNvmlSuccess = 0;

struct NvmlApi {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  const char* (*error_string)(NvmlReturn) = nullptr;
  NvmlReturn (*driver_version)(char*, unsigned) = nullptr;
  NvmlReturn (*cuda_driver_version)(int*) = nullptr;
  NvmlReturn (*device_count)(unsigned*) = nullptr;
  NvmlReturn (*device_by_index)(unsigned, NvmlDevice*) = nullptr;
  NvmlReturn (*device_name)(NvmlDevice, char*, unsigned) = nullptr;
  NvmlReturn (*device_memory)(NvmlDevice, NvmlMemory*) = nullptr;
  NvmlReturn (*device_compute_capability)(NvmlDevice, int*, int*) = nullptr;
};

#ifdef _WIN32
constexpr const char* kNvmlLibrary = "nvml.dll";
void* open_library(const char* name) { return reinterpret_cast<void*>(LoadLibraryA(name)); }
void* find_symbol(void* library, const char* name) {
  return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(library), name));
}
#else
constexpr const char* kNvmlLibrary = "libnvidia-ml.so.1";
void* open_library(const char* name) { return dlopen(name, RTLD_NOW | RTLD_LOCAL); }
void* find_symbol(void* library, const char* name) { return dlsym(library, name); }
#endif

template <typename Fn>
bool bind(void* library, const char* symbol, Fn& fn) {
  fn = reinterpret_cast<Fn>(find_symbol(library, symbol));
  return fn != nullptr;
}

}  // namespace

NvidiaDriverInfo query_nvidia_driver() {
  NvidiaDriverInfo info;
  // Deliberately never closed: NVML does not support being unloaded and reloaded within one process.
  static void* library = open_library(kNvmlLibrary);
  if (library == nullptr) {
    info.unavailable_reason = std::string("no NVIDIA driver found (") + kNvmlLibrary + " is not installed)";
    return info;
  }
  NvmlApi api;
  const bool bound = bind(library, "nvmlInit_v2", api.init) && bind(library, "nvmlShutdown", api.shutdown) &&
                     bind(library, "nvmlErrorString", api.error_string) &&
                     bind(library, "nvmlSystemGetDriverVersion", api.driver_version) &&
                     bind(library, "nvmlSystemGetCudaDriverVersion_v2", api.cuda_driver_version) &&
                     bind(library, "nvmlDeviceGetCount_v2", api.device_count) &&
                     bind(library, "nvmlDeviceGetHandleByIndex_v2", api.device_by_index) &&
                     bind(library, "nvmlDeviceGetName", api.device_name) &&
                     bind(library, "nvmlDeviceGetMemoryInfo", api.device_memory) &&
                     bind(library, "nvmlDeviceGetCudaComputeCapability", api.device_compute_capability);
  if (!bound) {
    info.unavailable_reason = std::string(kNvmlLibrary) + " is too old (missing functions); update the NVIDIA driver";
    return info;
  }
  if (const NvmlReturn rc = api.init(); rc != kNvmlSuccess) {
    info.unavailable_reason = std::string("the NVIDIA driver did not start: ") + api.error_string(rc);
    return info;
  }
  info.available = true;
  char text[96] = {};
  if (api.driver_version(text, sizeof(text)) == kNvmlSuccess) info.driver_version = text;
  api.cuda_driver_version(&info.driver_cuda_version);
  unsigned count = 0;
  if (api.device_count(&count) == kNvmlSuccess) {
    for (unsigned i = 0; i < count; ++i) {
      NvmlDevice device = nullptr;
      if (api.device_by_index(i, &device) != kNvmlSuccess) continue;
      NvidiaGpu gpu;
      gpu.index = static_cast<int>(i);
      char name[96] = {};
      if (api.device_name(device, name, sizeof(name)) == kNvmlSuccess) gpu.name = name;
      NvmlMemory memory{};
      if (api.device_memory(device, &memory) == kNvmlSuccess) {
        gpu.free_bytes = memory.free;
        gpu.total_bytes = memory.total;
      }
      api.device_compute_capability(device, &gpu.compute_major, &gpu.compute_minor);
      info.gpus.push_back(gpu);
    }
  }
  api.shutdown();
  return info;
}

}  // namespace lowbit::system
