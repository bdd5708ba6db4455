// How LowBit writes sizes and durations for people, the same in the CLI, the app and the logs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

std::string format_bytes(int64_t bytes);  // "960 B", "960.0 KiB", "1.2 GiB"

std::string format_shape(const std::vector<int64_t>& shape);  // "[32, 4096]"

// "42 s", "3 min 05 s", "2 h 10 min", "3.2 days"; "?" for a negative or infinite time.
std::string format_duration(double seconds);

}  // namespace lowbit
