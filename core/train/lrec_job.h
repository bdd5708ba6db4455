// LREC (low-rank error correction): LoRA adapters on every projection of a quantized model (the student),
// trained to match the full-precision model (the teacher, frozen) on calibration text with
// λ_KL · KL(teacher ‖ student) + λ_CE · CE (core/train/distillation_loss.h), then saved in PEFT's layout.
//
// The teacher either runs beside the student (teacher_top_k = 0) or, by default, first fills a top-k cache on
// disk (core/train/teacher_cache.h) and is dropped before the student is loaded, so the two are never in memory
// together. Decoder layers are gradient-checkpointed by default (core/model/gradient_checkpoint.h).
//
// A run directory holds everything the run made and needs to continue:
//   config.json      the run's settings          metrics.jsonl   one JSON object per step / evaluation
//   teacher_cache.safetensors   the teacher's top-k targets for the calibration and held-out windows
//   checkpoints/step-000N/{adapter/, optimizer.pt, trainer_state.json}   (each written whole, then renamed)
//   adapter/         the final adapter           log.txt         what the CLI printed
// Resuming from the last checkpoint continues with the same data order, dropout masks and optimizer state, so
// the metrics after the checkpoint equal those of an uninterrupted run.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/jobs/job.h"
#include "core/lora/lora_linear.h"
#include "core/train/distillation_loss.h"
#include "core/train/memory_estimate.h"
#include "core/train/schedule.h"

namespace lowbit::train {

struct LrecParams {
  std::filesystem::path student_dir;   // GPTQ checkpoint
  std::filesystem::path teacher_dir;   // full-precision model
  std::filesystem::path calibration;   // text or JSONL
  std::filesystem::path run_dir;
  bool resume = false;

  lora::LoraShape lora{32, 128.0, 0.05};
  std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  DistillationWeights loss{1.0, 10.0};
  Schedule schedule{1e-5, 0, 100, ScheduleKind::Cosine, 0.0};  // total_steps = number of optimizer steps
  double weight_decay = 1e-5;
  double max_grad_norm = 1.0;
  int64_t micro_batch = 1;
  int64_t accumulation = 1;
  int64_t seqlen = 512;
  int64_t calibration_windows = 128;
  double held_out_fraction = 0.2;   // the end of the text, kept for evaluation
  int64_t eval_windows = 16;
  int64_t eval_every = 50;
  int64_t checkpoint_every = 50;
  int64_t teacher_top_k = 64;        // 0: run the teacher online next to the student
  bool gradient_checkpointing = true;
  uint64_t seed = 0;
  at::Device device = at::kCPU;
};

// "int4" | "int3" | "int2": the paper's Table 4 (r 32, all projections, λ_KL 1, λ_CE 10 / 40 / 120,
// lr 1e-5 / 2e-5 / 3e-5, weight decay 1e-5).
void apply_preset(LrecParams& params, const std::string& preset);

struct LrecResult {
  int64_t steps_done = 0;
  double final_val_ppl = 0;
  double seconds = 0;
  std::filesystem::path adapter_dir;
  int64_t estimated_bytes = 0;   // estimate_training_memory() for the run, made before it started
  int64_t peak_vram_bytes = 0;   // measured while training (CUDA); 0 on the CPU
  int64_t peak_ram_bytes = 0;    // of the whole process
};

// The memory estimate of a run with these settings (core/train/memory_estimate.h), from the config files alone.
MemoryEstimate estimate_lrec_memory(const LrecParams& params);
// The shape of such a run for estimate_training_memory (for a student that does not exist yet: the wizard's plan).
TrainingShape lrec_training_shape(const LrecParams& params, const model::LlamaConfig& config);

class LrecJob : public jobs::Job {
 public:
  explicit LrecJob(LrecParams params) : params_(std::move(params)) {}
  std::string title() const override { return "Correct (LREC)"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const LrecResult& result() const { return result_; }

 private:
  // Everything after the run folder is checked and made, under its run_state.json.
  void train(jobs::JobEvents& events, const jobs::CancelToken& cancel, std::chrono::steady_clock::time_point started);
  LrecParams params_;
  LrecResult result_;
};

}  // namespace lowbit::train
