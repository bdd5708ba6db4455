#include "core/util/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lowbit {

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::string format_shape(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string format_duration(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "?";
  char text[48];
  // Something left is never "0 s".
  const long long total = std::max(seconds > 0 ? 1LL : 0LL, static_cast<long long>(std::llround(seconds)));
  if (total < 60) {
    std::snprintf(text, sizeof(text), "%lld s", total);
  } else if (total < 3600) {
    std::snprintf(text, sizeof(text), "%lld min %02lld s", total / 60, total % 60);
  } else if (total < 72 * 3600) {
    const long long minutes = std::llround(seconds / 60);
    std::snprintf(text, sizeof(text), "%lld h %02lld min", minutes / 60, minutes % 60);
  } else {
    std::snprintf(text, sizeof(text), "%.1f days", seconds / 86400);
  }
  return text;
}

}  // namespace lowbit
