// The teacher's targets for LREC, computed once and kept on disk, so that the full-precision teacher and the
// quantized student are never in memory together (the point of LREC on a consumer GPU: a 7B teacher in fp16 is
// 13.5 GB on its own). For every position of every window the file holds the k largest log-probabilities, their
// token ids and the log of the remaining probability mass (core/train/distillation_loss.h explains how the loss
// uses them), plus the windows themselves, so that a cache is never paired with other text.
//
//   <run>/teacher_cache.safetensors
//     train.input_ids [N, T] I64 · train.log_probs [N, T, k] F32 · train.indices [N, T, k] I32 ·
//     train.tail_log_mass [N, T] F32 · the same for "eval." · metadata: teacher, top_k (as asked; k is at most the vocabulary)
//
// 128 windows × 2048 tokens at k = 64 take 128 MiB, against 32 GiB for full fp16 logits of a 32000-token vocabulary.
//
// RILQ's target is the teacher's final hidden state instead (after the last RMSNorm), kept in the dtype the
// teacher computes in (fp16 or bf16 on a GPU, fp32 on the CPU), so that training on the cache is training on the
// online teacher's exact targets:
//   <run>/teacher_hidden.safetensors
//     train.input_ids [N, T] I64 · train.hidden [N, T, H] · the same for "eval." · metadata: teacher, hidden_size
// 320 windows × 512 tokens of a 4096-wide 7B model take 1.25 GiB in fp16 on disk, read through a memory map.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <string>

#include "core/jobs/job.h"
#include "core/model/llama_model.h"
#include "core/train/distillation_loss.h"

namespace lowbit::train {

// Runs `teacher` over the rows of `train_windows` and `eval_windows` ([N, T] int64 each, one row at a time) and
// writes the cache to `path` atomically. Reports progress as "teacher" rows; throws Cancelled when cancelled.
void write_teacher_cache(const model::LlamaModel& teacher, const at::Tensor& train_windows,
                         const at::Tensor& eval_windows, int64_t top_k, const std::filesystem::path& path,
                         jobs::JobEvents& events, const jobs::CancelToken& cancel);

class TeacherCache {
 public:
  // Opens a cache written for exactly these windows with this k; InputError naming the file otherwise.
  static TeacherCache open(const std::filesystem::path& path, const at::Tensor& train_windows,
                           const at::Tensor& eval_windows, int64_t top_k);

  // Targets of the given rows of the train or eval windows, as CPU tensors ([rows, T, k] …).
  TeacherTopK train_rows(const std::vector<int64_t>& rows) const { return select(train_, rows); }
  TeacherTopK eval_rows(const std::vector<int64_t>& rows) const { return select(eval_, rows); }

 private:
  static TeacherTopK select(const TeacherTopK& all, const std::vector<int64_t>& rows);
  TeacherTopK train_, eval_;
};

// Bytes of the two caches on disk for these many windows (train + eval) of `steps` tokens.
int64_t teacher_cache_bytes(int64_t windows, int64_t steps, int64_t top_k);
int64_t hidden_state_cache_bytes(int64_t windows, int64_t steps, int64_t hidden_size, int64_t element_bytes);

// Runs `teacher` over every row of both window sets and writes their final hidden states to `path`
// atomically. Reports progress as "teacher" rows; throws Cancelled when cancelled.
void write_hidden_state_cache(const model::LlamaModel& teacher, const at::Tensor& train_windows,
                              const at::Tensor& eval_windows, const std::filesystem::path& path,
                              jobs::JobEvents& events, const jobs::CancelToken& cancel);

class HiddenStateCache {
 public:
  // Opens a cache written for exactly these windows by a model `hidden_size` wide; InputError naming the file
  // otherwise.
  static HiddenStateCache open(const std::filesystem::path& path, const at::Tensor& train_windows,
                               const at::Tensor& eval_windows, int64_t hidden_size);

  // The teacher's final hidden states [rows, T, H] (CPU, the teacher's compute dtype) of the given rows.
  at::Tensor train_rows(const std::vector<int64_t>& rows) const { return select(train_, rows); }
  at::Tensor eval_rows(const std::vector<int64_t>& rows) const { return select(eval_, rows); }

 private:
  static at::Tensor select(const at::Tensor& all, const std::vector<int64_t>& rows);
  at::Tensor train_, eval_;
};

}  // namespace lowbit::train
