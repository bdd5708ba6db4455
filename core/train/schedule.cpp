#include "core/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/util/errors.h"

namespace lowbit::train {

const char* schedule_kind_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Constant: return "constant";
    case ScheduleKind::Linear: return "linear";
    case ScheduleKind::Cosine: return "cosine";
  }
  return "cosine";
}

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::Constant;
  if (name == "linear") return ScheduleKind::Linear;
  if (name == "cosine") return ScheduleKind::Cosine;
  throw InputError("", "unknown schedule '" + name + "'", "use constant, linear or cosine");
}

double learning_rate(const Schedule& s, int64_t step) {
  if (step < s.warmup_steps) return s.base_lr * static_cast<double>(step) / static_cast<double>(s.warmup_steps);
  if (s.kind == ScheduleKind::Constant) return s.base_lr;
  const double span = static_cast<double>(std::max<int64_t>(1, s.total_steps - s.warmup_steps));
  const double progress = std::clamp(static_cast<double>(step - s.warmup_steps) / span, 0.0, 1.0);
  const double factor = s.kind == ScheduleKind::Linear ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return s.base_lr * (s.min_ratio + (1.0 - s.min_ratio) * factor);
}

}  // namespace lowbit::train
