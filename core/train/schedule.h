// Learning rate per optimizer step: linear warmup from 0, then constant, linear decay or cosine decay to
// min_ratio · base over the remaining steps (the schedules of transformers' get_*_schedule_with_warmup).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

namespace lowbit::train {

enum class ScheduleKind { Constant, Linear, Cosine };

struct Schedule {
  double base_lr = 1e-4;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  ScheduleKind kind = ScheduleKind::Cosine;
  double min_ratio = 0.0;
};

inline bool operator==(const Schedule& a, const Schedule& b) {
  return std::tie(a.base_lr, a.warmup_steps, a.total_steps, a.kind, a.min_ratio) ==
         std::tie(b.base_lr, b.warmup_steps, b.total_steps, b.kind, b.min_ratio);
}

ScheduleKind parse_schedule_kind(const std::string& name);  // "constant" | "linear" | "cosine"
const char* schedule_kind_name(ScheduleKind kind);

// step counts from 0 (the first update).
double learning_rate(const Schedule& schedule, int64_t step);

}  // namespace lowbit::train
