// The correction losses. LREC's (the INT2.1 paper): λ_KL · KL + λ_CE · CE, with the scaling of the INT2.1 paper's released code (lrec.py), which the
// published λ values (λ_CE = 10 / 40 / 120 for INT4 / INT3 / INT2, λ_KL = 1) assume:
//
//   KL = (1/B) Σ_b Σ_t Σ_v p_T(v | b,t) · (log p_T(v | b,t) − log p_S(v | b,t))     forward KL(teacher ‖ student),
//        summed over every position and the vocabulary, divided by the batch size ("per sequence")
//   CE = mean over b and t < T−1 of −log p_S(x_{b,t+1} | b,t)                        next-token cross-entropy
//
// Options, named as what they are: KlDirection::StudentTeacher (reverse KL), KlNormalisation::PerToken (the sum
// divided by B·T instead of B). The teacher may be given as full log-probabilities or as a top-k cache (the k
// largest log-probs, their ids and the log of the remaining mass); with the cache the tail is one bucket:
//   KL ≈ Σ_{v∈top-k} p_T(v)(log p_T(v) − log p_S(v)) + p_T(tail)(log p_T(tail) − log p_S(tail)),
// p_S(tail) = 1 − Σ_{v∈top-k} p_S(v). With k = vocabulary size this is exact.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "core/train/distillation_weights.h"

namespace lowbit::train {

// Teacher targets in the compact form that is cached on disk.
struct TeacherTopK {
  at::Tensor log_probs;      // [B, T, k] float, the k largest log-probabilities
  at::Tensor indices;        // [B, T, k] int64, their token ids
  at::Tensor tail_log_mass;  // [B, T] float, log(1 − Σ top-k probabilities); −inf when k = vocabulary
};

TeacherTopK teacher_top_k(const at::Tensor& teacher_logits, int64_t k);

struct DistillationLoss {
  at::Tensor total;    // scalar with the gradient
  at::Tensor kl, ce;   // detached scalars; kl is undefined for the hidden-state loss
  at::Tensor mse;      // detached scalar of the hidden-state loss; undefined for the KL loss
};

// student_logits [B, T, V]; input_ids [B, T]. The reverse direction needs the full teacher distribution.
DistillationLoss distillation_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                                   const at::Tensor& input_ids, const DistillationWeights& weights);
DistillationLoss distillation_loss(const at::Tensor& student_logits, const TeacherTopK& teacher,
                                   const at::Tensor& input_ids, const DistillationWeights& weights);

// RILQ's loss: λ_MSE · MSE + λ_CE · CE, with
//   MSE = mean over b, t and the hidden dimension of (h_S − h_T)²     h: the final hidden state (after the last
//                                                                       RMSNorm, the input of lm_head), in float32
//   CE  = next-token cross-entropy of the student's own logits (as above)
// student_hidden, teacher_hidden [B, T, H]; student_logits [B, T, V]; input_ids [B, T].
DistillationLoss hidden_state_loss(const at::Tensor& student_hidden, const at::Tensor& teacher_hidden,
                                   const at::Tensor& student_logits, const at::Tensor& input_ids,
                                   const DistillationWeights& weights);

// Mean next-token cross-entropy of logits[:, :-1] against input_ids[:, 1:].
at::Tensor next_token_cross_entropy(const at::Tensor& logits, const at::Tensor& input_ids);

}  // namespace lowbit::train
