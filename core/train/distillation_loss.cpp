#include "core/train/distillation_loss.h"

#include <limits>

#include "core/util/errors.h"

namespace lowbit::train {
namespace {

// Losses are computed in float32 at least (fp16/bf16 activations are widened); float64 inputs stay float64.
at::ScalarType loss_dtype(const at::Tensor& t) { return at::promote_types(t.scalar_type(), at::kFloat); }

at::Tensor normalise(const at::Tensor& kl_sum, int64_t batch, int64_t steps, KlNormalisation normalisation) {
  const double divisor = normalisation == KlNormalisation::PerSequence ? static_cast<double>(batch)
                                                                       : static_cast<double>(batch * steps);
  return kl_sum / divisor;
}

DistillationLoss combine(at::Tensor kl, at::Tensor ce, const DistillationWeights& weights) {
  DistillationLoss loss;
  loss.total = weights.kl * kl + weights.ce * ce;
  loss.kl = kl.detach();
  loss.ce = ce.detach();
  return loss;
}

}  // namespace

at::Tensor next_token_cross_entropy(const at::Tensor& logits, const at::Tensor& input_ids) {
  const int64_t steps = logits.size(1);
  const at::Tensor predictions = logits.narrow(1, 0, steps - 1).to(loss_dtype(logits));
  const at::Tensor targets = input_ids.narrow(1, 1, steps - 1).to(logits.device());
  return at::cross_entropy_loss(predictions.reshape({-1, predictions.size(-1)}), targets.reshape({-1}));
}

TeacherTopK teacher_top_k(const at::Tensor& teacher_logits, int64_t k) {
  const at::Tensor log_probs = teacher_logits.to(at::kFloat).log_softmax(-1);
  k = std::min<int64_t>(k, log_probs.size(-1));
  auto [values, indices] = log_probs.topk(k, -1);
  // log(1 − Σ p) computed as log1p(−Σ p), clamped so that a fully covered distribution gives −inf, not NaN.
  const at::Tensor covered = values.exp().sum(-1).clamp_max(1.0);
  return {values, indices, at::log1p(-covered)};
}

DistillationLoss distillation_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                                   const at::Tensor& input_ids, const DistillationWeights& weights) {
  if (student_logits.sizes() != teacher_logits.sizes()) {
    throw InternalError("student and teacher logits differ in shape");
  }
  const at::Tensor log_s = student_logits.to(at::kFloat).log_softmax(-1);
  const at::Tensor log_t = teacher_logits.to(at::kFloat).log_softmax(-1).detach();
  const at::Tensor kl_sum = weights.direction == KlDirection::TeacherStudent ? (log_t.exp() * (log_t - log_s)).sum()
                                                                             : (log_s.exp() * (log_s - log_t)).sum();
  const at::Tensor kl = normalise(kl_sum, student_logits.size(0), student_logits.size(1), weights.normalisation);
  return combine(kl, next_token_cross_entropy(student_logits, input_ids), weights);
}

DistillationLoss hidden_state_loss(const at::Tensor& student_hidden, const at::Tensor& teacher_hidden,
                                   const at::Tensor& student_logits, const at::Tensor& input_ids,
                                   const DistillationWeights& weights) {
  if (student_hidden.sizes() != teacher_hidden.sizes()) {
    throw InternalError("student and teacher hidden states differ in shape");
  }
  const at::ScalarType dtype = loss_dtype(student_hidden);
  const at::Tensor target = teacher_hidden.to(student_hidden.device(), dtype).detach();
  const at::Tensor mse = (student_hidden.to(dtype) - target).pow(2).mean();
  const at::Tensor ce = next_token_cross_entropy(student_logits, input_ids);
  DistillationLoss loss;
  loss.total = weights.mse * mse + weights.ce * ce;
  loss.mse = mse.detach();
  loss.ce = ce.detach();
  return loss;
}

DistillationLoss distillation_loss(const at::Tensor& student_logits, const TeacherTopK& teacher,
                                   const at::Tensor& input_ids, const DistillationWeights& weights) {
  if (weights.direction != KlDirection::TeacherStudent) {
    throw InputError("", "the reverse KL needs the full teacher distribution, not a top-k cache",
                     "compute the teacher online, or use the forward KL (the paper's)");
  }
  const at::Tensor log_s = student_logits.to(at::kFloat).log_softmax(-1);
  const at::Tensor log_t = teacher.log_probs.to(log_s.device(), at::kFloat).detach();
  const at::Tensor log_s_top = log_s.gather(-1, teacher.indices.to(log_s.device()));
  const at::Tensor head = (log_t.exp() * (log_t - log_s_top)).sum(-1);  // [B, T]
  // The tail bucket: p_T(tail) log p_T(tail) − p_T(tail) log(1 − Σ_top p_S); 0 · log 0 is taken as 0.
  const at::Tensor tail_t = teacher.tail_log_mass.to(log_s.device(), at::kFloat).detach();
  const at::Tensor p_tail_t = tail_t.exp();
  const at::Tensor log_tail_s = at::log1p(-log_s_top.exp().sum(-1).clamp_max(1.0 - 1e-7));
  const at::Tensor tail = at::where(p_tail_t > 0, p_tail_t * (tail_t - log_tail_s), at::zeros_like(p_tail_t));
  const at::Tensor kl = normalise((head + tail).sum(), student_logits.size(0), student_logits.size(1),
                                  weights.normalisation);
  return combine(kl, next_token_cross_entropy(student_logits, input_ids), weights);
}

}  // namespace lowbit::train
