// The correction losses against their formulas, computed independently in float64: LREC's (lrec.py's scaling)
// and RILQ's hidden-state MSE + CE; gradients against finite differences.
#include <gtest/gtest.h>

#include "core/train/distillation_loss.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace {

struct Batch {
  at::Tensor student, teacher, ids;
};

Batch make_batch(int64_t b, int64_t t, int64_t v, uint64_t seed) {
  at::manual_seed(seed);
  return {at::randn({b, t, v}) * 2, at::randn({b, t, v}) * 2, at::randint(0, v, {b, t}, at::kLong)};
}

// Σ_b Σ_t Σ_v p(log p − log q) in float64, then / divisor.
double kl_reference(const at::Tensor& from_logits, const at::Tensor& to_logits, double divisor) {
  const at::Tensor log_p = from_logits.to(at::kDouble).log_softmax(-1);
  const at::Tensor log_q = to_logits.to(at::kDouble).log_softmax(-1);
  return (log_p.exp() * (log_p - log_q)).sum().item<double>() / divisor;
}

double ce_reference(const at::Tensor& logits, const at::Tensor& ids) {
  const int64_t b = logits.size(0), t = logits.size(1);
  const at::Tensor log_p = logits.to(at::kDouble).log_softmax(-1);
  double total = 0;
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t j = 0; j + 1 < t; ++j) total -= log_p[i][j][ids[i][j + 1].item<int64_t>()].item<double>();
  }
  return total / static_cast<double>(b * (t - 1));
}

TEST(DistillationLoss, MatchesThePapersScaling) {
  const Batch x = make_batch(3, 7, 50, 1);
  DistillationWeights weights{1.0, 120.0};
  const DistillationLoss loss = distillation_loss(x.student, x.teacher, x.ids, weights);
  const double kl = kl_reference(x.teacher, x.student, 3.0);  // forward KL(T‖S), summed, per sequence
  const double ce = ce_reference(x.student, x.ids);
  EXPECT_NEAR(loss.kl.item<double>(), kl, 1e-5 * kl);
  EXPECT_NEAR(loss.ce.item<double>(), ce, 1e-5 * ce);
  EXPECT_NEAR(loss.total.item<double>(), kl + 120.0 * ce, 1e-5 * (kl + 120 * ce));
}

TEST(DistillationLoss, NamedOptionsChangeWhatTheyName) {
  const Batch x = make_batch(2, 5, 40, 2);
  DistillationWeights per_token{1.0, 0.0, KlDirection::TeacherStudent, KlNormalisation::PerToken};
  EXPECT_NEAR(distillation_loss(x.student, x.teacher, x.ids, per_token).kl.item<double>(),
              kl_reference(x.teacher, x.student, 10.0), 1e-5);
  DistillationWeights reverse{1.0, 0.0, KlDirection::StudentTeacher, KlNormalisation::PerSequence};
  EXPECT_NEAR(distillation_loss(x.student, x.teacher, x.ids, reverse).kl.item<double>(),
              kl_reference(x.student, x.teacher, 2.0), 1e-4);
}

TEST(DistillationLoss, IdenticalModelsHaveZeroKl) {
  const Batch x = make_batch(2, 4, 30, 3);
  EXPECT_NEAR(distillation_loss(x.student, x.student, x.ids, {}).kl.item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(distillation_loss(x.student, teacher_top_k(x.student, 5), x.ids, {}).kl.item<double>(), 0.0, 1e-5);
}

TEST(DistillationLoss, TopKCacheIsExactAtFullVocabularyAndConvergesBelowIt) {
  const Batch x = make_batch(2, 6, 64, 4);
  const double exact = distillation_loss(x.student, x.teacher, x.ids, {}).kl.item<double>();
  EXPECT_NEAR(distillation_loss(x.student, teacher_top_k(x.teacher, 64), x.ids, {}).kl.item<double>(), exact,
              1e-4 * exact);
  double previous_gap = std::numeric_limits<double>::infinity();
  for (const int64_t k : {4, 16, 48}) {
    const double approximate = distillation_loss(x.student, teacher_top_k(x.teacher, k), x.ids, {}).kl.item<double>();
    const double gap = std::abs(approximate - exact);
    EXPECT_GE(approximate, -1e-6) << "a KL (of the bucketed distributions) is never negative";
    EXPECT_LT(gap, previous_gap) << "k = " << k;
    previous_gap = gap;
  }
}

TEST(DistillationLoss, GradientsOfTheTopKLossMatchFiniteDifferences) {
  const Batch x = make_batch(1, 3, 12, 5);
  const TeacherTopK teacher = teacher_top_k(x.teacher, 5);
  at::Tensor student = x.student.to(at::kDouble).set_requires_grad(true);
  DistillationWeights weights{1.0, 2.0};
  distillation_loss(student, teacher, x.ids, weights).total.backward();
  const at::Tensor analytic = student.grad();
  const double h = 1e-3;
  for (const int64_t v : {0, 3, 7, 11}) {
    at::Tensor plus = x.student.clone(), minus = x.student.clone();
    plus[0][1][v] += h;
    minus[0][1][v] -= h;
    const double numeric = (distillation_loss(plus, teacher, x.ids, weights).total.item<double>() -
                            distillation_loss(minus, teacher, x.ids, weights).total.item<double>()) / (2 * h);
    EXPECT_NEAR(analytic[0][1][v].item<double>(), numeric, 2e-3) << "vocab entry " << v;
  }
}

TEST(DistillationLoss, ReverseKlNeedsTheFullTeacher) {
  const Batch x = make_batch(1, 3, 10, 6);
  DistillationWeights reverse{1.0, 1.0, KlDirection::StudentTeacher};
  EXPECT_THROW(distillation_loss(x.student, teacher_top_k(x.teacher, 3), x.ids, reverse), InputError);
}

// RILQ: λ_MSE · mean((h_S − h_T)²) + λ_CE · CE, the mean over batch, positions and the hidden dimension.
TEST(HiddenStateLoss, MatchesRilqsFormulaInFloat64) {
  at::manual_seed(7);
  const int64_t b = 2, t = 5, hidden = 16, vocab = 30;
  const at::Tensor student_hidden = at::randn({b, t, hidden}), teacher_hidden = at::randn({b, t, hidden});
  const at::Tensor logits = at::randn({b, t, vocab}) * 2, ids = at::randint(0, vocab, {b, t}, at::kLong);
  DistillationWeights weights;
  weights.kind = CorrectionLoss::HiddenMseCe;
  weights.mse = 0.5;
  weights.ce = 0.5;
  const DistillationLoss loss = hidden_state_loss(student_hidden, teacher_hidden, logits, ids, weights);
  const at::Tensor s64 = student_hidden.to(at::kDouble), t64 = teacher_hidden.to(at::kDouble);
  double squares = 0;
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t j = 0; j < t; ++j) {
      for (int64_t k = 0; k < hidden; ++k) {
        const double d = s64[i][j][k].item<double>() - t64[i][j][k].item<double>();
        squares += d * d;
      }
    }
  }
  const double mse = squares / static_cast<double>(b * t * hidden);
  const double ce = ce_reference(logits, ids);
  EXPECT_NEAR(loss.mse.item<double>(), mse, 1e-6 * mse);
  EXPECT_NEAR(loss.ce.item<double>(), ce, 1e-6 * ce);
  EXPECT_NEAR(loss.total.item<double>(), 0.5 * mse + 0.5 * ce, 1e-6 * (mse + ce));
  EXPECT_FALSE(loss.kl.defined());
  EXPECT_NEAR(hidden_state_loss(teacher_hidden, teacher_hidden, logits, ids, weights).mse.item<double>(), 0.0, 1e-12);
  weights.mse = 2.0;
  weights.ce = 0.0;
  EXPECT_NEAR(hidden_state_loss(student_hidden, teacher_hidden, logits, ids, weights).total.item<double>(), 2 * mse, 1e-6 * mse);
}

TEST(HiddenStateLoss, GradientsMatchFiniteDifferences) {
  at::manual_seed(8);
  const int64_t b = 1, t = 3, hidden = 6, vocab = 9;
  const at::Tensor teacher = at::randn({b, t, hidden}, at::kDouble);
  const at::Tensor projection = at::randn({vocab, hidden}, at::kDouble);  // the student's logits come from its hidden state
  const at::Tensor ids = at::randint(0, vocab, {b, t}, at::kLong);
  DistillationWeights weights;
  weights.kind = CorrectionLoss::HiddenMseCe;
  weights.mse = 0.7;
  weights.ce = 0.3;
  const auto total = [&](const at::Tensor& hidden_state) {
    return hidden_state_loss(hidden_state, teacher, at::linear(hidden_state, projection), ids, weights).total;
  };
  const at::Tensor start = at::randn({b, t, hidden}, at::kDouble);
  at::Tensor student = start.clone().set_requires_grad(true);
  total(student).backward();
  const at::Tensor analytic = student.grad();
  const double h = 1e-6;
  for (const int64_t position : {0, 1, 2}) {
    for (const int64_t k : {0, 3, 5}) {
      at::Tensor plus = start.clone(), minus = start.clone();
      plus[0][position][k] += h;
      minus[0][position][k] -= h;
      const double numeric = (total(plus).item<double>() - total(minus).item<double>()) / (2 * h);
      EXPECT_NEAR(analytic[0][position][k].item<double>(), numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
          << "position " << position << ", hidden " << k;
    }
  }
}

}  // namespace
}  // namespace lowbit::train
