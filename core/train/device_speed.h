// Measuring a device's speed for the run plan's time estimates (core/train/run_plan.h).
#pragma once

#include <ATen/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>

#include "core/train/run_plan.h"

namespace lowbit::train {

// Matmul, elementwise and per-operation speed on `device` in `dtype` (a fraction of a second; synchronises CUDA).
DeviceSpeed measure_device_speed(at::Device device, at::ScalarType dtype, int64_t hidden_size);

}  // namespace lowbit::train
