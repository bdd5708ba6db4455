// The weights and options of the LREC loss (core/train/distillation_loss.h), apart from the loss itself: what a
// job's settings hold.
#pragma once

#include <tuple>

namespace lowbit::train {

enum class KlDirection { TeacherStudent, StudentTeacher };
enum class KlNormalisation { PerSequence, PerToken };

struct DistillationWeights {
  double kl = 1.0;
  double ce = 10.0;
  KlDirection direction = KlDirection::TeacherStudent;
  KlNormalisation normalisation = KlNormalisation::PerSequence;
};

inline bool operator==(const DistillationWeights& a, const DistillationWeights& b) {
  return std::tie(a.kl, a.ce, a.direction, a.normalisation) == std::tie(b.kl, b.ce, b.direction, b.normalisation);
}

}  // namespace lowbit::train
