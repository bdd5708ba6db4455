// The device a job runs on, from the name a user gives ("auto", "cpu", "cuda", "cuda:1"). Jobs resolve it when
// they run, on their worker thread: settings hold only the name.
#pragma once

#include <ATen/Device.h>

#include <string>

namespace lowbit::system {

// "auto" is CUDA when a device is usable, else the CPU. ResourceError with the reason when CUDA is asked for and
// cannot be used; UsageError for a name that is not a device.
at::Device resolve_device(const std::string& name);

}  // namespace lowbit::system
