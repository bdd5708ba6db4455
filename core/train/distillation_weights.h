// The weights and options of the correction loss (core/train/distillation_loss.h), apart from the loss itself:
// what a job's settings hold. Two recipes: the INT2.1 paper's LREC (KL to the teacher's next-token distribution +
// CE) and RILQ's (MSE to the teacher's final hidden state + CE; Chang et al., AAAI 2025).
#pragma once

#include <tuple>

namespace lowbit::train {

enum class CorrectionLoss { KlCe, HiddenMseCe };
enum class KlDirection { TeacherStudent, StudentTeacher };
enum class KlNormalisation { PerSequence, PerToken };

struct DistillationWeights {
  double kl = 1.0;
  double ce = 10.0;
  KlDirection direction = KlDirection::TeacherStudent;
  KlNormalisation normalisation = KlNormalisation::PerSequence;
  CorrectionLoss kind = CorrectionLoss::KlCe;
  double mse = 0.5;  // RILQ's weight of the hidden-state MSE (HiddenMseCe only; its λ_CE is `ce`)
};

inline bool operator==(const DistillationWeights& a, const DistillationWeights& b) {
  return std::tie(a.kind, a.kl, a.ce, a.mse, a.direction, a.normalisation) ==
         std::tie(b.kind, b.kl, b.ce, b.mse, b.direction, b.normalisation);
}

}  // namespace lowbit::train
