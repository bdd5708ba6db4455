#include "core/system/device.h"

#include <ATen/Context.h>

#include "core/util/errors.h"

namespace lowbit::system {

at::Device resolve_device(const std::string& name) {
  if (name == "cpu") return at::kCPU;
  const bool cuda_usable = at::hasCUDA();
  if (name == "auto") return cuda_usable ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!cuda_usable) {
      throw ResourceError("no usable CUDA device (see 'lowbit --version' for the driver and GPUs found); "
                          "run with --device cpu");
    }
    try {
      return at::Device(name);
    } catch (const c10::Error&) {
      throw UsageError("invalid device '" + name + "'; use cpu, cuda, cuda:N or auto");
    }
  }
  throw UsageError("invalid device '" + name + "'; use cpu, cuda, cuda:N or auto");
}

}  // namespace lowbit::system
