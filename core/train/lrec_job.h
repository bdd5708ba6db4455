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

#include <ATen/Device.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/jobs/job.h"
#include "core/train/lrec_settings.h"
#include "core/train/memory_estimate.h"

namespace lowbit::train {

struct LrecResult {
  int64_t steps_done = 0;
  int64_t best_step = -1;  // with early stopping: the step whose adapter was kept
  double final_val_ppl = 0;
  double seconds = 0;
  std::filesystem::path adapter_dir;
  int64_t estimated_bytes = 0;   // estimate_training_memory() for the run, made before it started
  int64_t peak_vram_bytes = 0;   // measured while training (CUDA); 0 on the CPU
  int64_t peak_ram_bytes = 0;    // of the whole process
  std::string device;            // where it ran: "cpu", "cuda:0"
};

// The memory estimate of a run with these settings on `device` (core/train/memory_estimate.h), from the config
// files alone.
MemoryEstimate estimate_lrec_memory(const LrecSettings& settings, at::Device device);
// The shape of such a run for estimate_training_memory (for a student that does not exist yet: the wizard's plan).
// `compute_bytes`: of the compute dtype (2 on a GPU, 4 on the CPU).
TrainingShape lrec_training_shape(const LrecSettings& settings, int64_t compute_bytes);

class LrecJob : public jobs::Job {
 public:
  explicit LrecJob(LrecSettings settings) : params_(std::move(settings)) {}
  std::string title() const override { return "Correct (LREC)"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const LrecResult& result() const { return result_; }
  const LrecSettings& settings() const { return params_; }

 private:
  // Everything after the run folder is checked and made, under its run_state.json.
  void train(jobs::JobEvents& events, const jobs::CancelToken& cancel, std::chrono::steady_clock::time_point started,
             at::Device device);
  LrecSettings params_;
  LrecResult result_;
};

}  // namespace lowbit::train
