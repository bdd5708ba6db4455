// EMEF: instruction fine-tuning of a quantized model. New LoRA adapters (by default r 8, α 16, dropout 0.05 on
// q_proj and v_proj, as alpaca-lora and the paper's EMEF runs) are trained with next-token cross-entropy on
// Alpaca-style data over the frozen, still bit-packed weights — optionally on top of frozen LREC adapters, the
// paper's INT2 + LREC + EMEF stack — in the shared trainer (core/train/trainer.h).
//
// The run directory is the trainer's (config.json, metrics.jsonl, checkpoints/, adapter/) plus data_report.txt:
// every record that was left out and why, and the token-length statistics.
#pragma once

#include <ATen/Device.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/jobs/job.h"
#include "core/train/emef_settings.h"
#include "core/train/memory_estimate.h"

namespace lowbit::train {

struct EmefResult {
  int64_t steps_done = 0;
  int64_t best_step = -1;  // with early stopping: the step whose adapter was kept
  int64_t steps_per_epoch = 0;
  int64_t train_examples = 0, validation_examples = 0, skipped_records = 0;
  double first_val_loss = 0, final_val_loss = 0, final_val_ppl = 0;
  double seconds = 0;
  double seconds_per_step = 0;  // mean over the steps after the first (which includes warm-up)
  int64_t estimated_bytes = 0, peak_vram_bytes = 0, peak_ram_bytes = 0;
  std::string device;  // where it ran: "cpu", "cuda:0"
  std::filesystem::path adapter_dir;
};

MemoryEstimate estimate_emef_memory(const EmefSettings& settings, at::Device device);
// The shape of such a run without its frozen adapters (which estimate_emef_memory reads from their folders).
// `compute_bytes`: of the compute dtype (2 on a GPU, 4 on the CPU).
TrainingShape emef_training_shape(const EmefSettings& settings, int64_t compute_bytes);

class EmefJob : public jobs::Job {
 public:
  explicit EmefJob(EmefSettings settings) : params_(std::move(settings)) {}
  std::string title() const override { return "Fine-tune (EMEF)"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const EmefResult& result() const { return result_; }
  const EmefSettings& settings() const { return params_; }

 private:
  EmefSettings params_;
  EmefResult result_;
};

}  // namespace lowbit::train
