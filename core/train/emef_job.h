// EMEF: instruction fine-tuning of a quantized model. New LoRA adapters (by default r 8, α 16, dropout 0.05 on
// q_proj and v_proj, as alpaca-lora and the paper's EMEF runs) are trained with next-token cross-entropy on
// Alpaca-style data over the frozen, still bit-packed weights — optionally on top of frozen LREC adapters, the
// paper's INT2 + LREC + EMEF stack — in the shared trainer (core/train/trainer.h).
//
// The run directory is the trainer's (config.json, metrics.jsonl, checkpoints/, adapter/) plus data_report.txt:
// every record that was left out and why, and the token-length statistics.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/data/instruction_data.h"
#include "core/jobs/job.h"
#include "core/lora/lora_linear.h"
#include "core/train/memory_estimate.h"
#include "core/train/schedule.h"

namespace lowbit::train {

struct EmefParams {
  std::filesystem::path model_dir;                     // quantized (or full-precision) model
  std::vector<std::filesystem::path> base_adapters;    // frozen, stacked in order under the new adapter
  std::filesystem::path data;
  data::InstructionColumns columns;
  std::filesystem::path run_dir;
  bool resume = false;

  lora::LoraShape lora{8, 16.0, 0.05};
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  double lr = 3e-4;
  ScheduleKind schedule = ScheduleKind::Linear;        // transformers' Trainer default, which alpaca-lora uses
  int64_t warmup_steps = 100;                          // capped at a tenth of the run
  double epochs = 3;
  std::optional<int64_t> steps;                        // overrides epochs
  int64_t batch = 128;                                 // examples per optimizer step = micro_batch × accumulation
  int64_t micro_batch = 4;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  data::ExampleOptions examples;                       // cutoff, train on inputs, EOS
  // Alpaca (the paper's EMEF), or the model's own chat template: instruction + input as the user turn, output as
  // the assistant turn, the loss on the assistant part only.
  data::PromptTemplate prompt_template = data::PromptTemplate::Alpaca;
  double validation = 0.05;                            // records held out: a count (≥ 1) or a fraction
  int64_t eval_examples = 256;                         // of the validation records, evaluated each time
  int64_t eval_every = 200;
  int64_t checkpoint_every = 200;
  bool gradient_checkpointing = true;
  uint64_t seed = 0;
  at::Device device = at::kCPU;
};

struct EmefResult {
  int64_t steps_done = 0;
  int64_t steps_per_epoch = 0;
  int64_t train_examples = 0, validation_examples = 0, skipped_records = 0;
  double first_val_loss = 0, final_val_loss = 0, final_val_ppl = 0;
  double seconds = 0;
  double seconds_per_step = 0;  // mean over the steps after the first (which includes warm-up)
  int64_t estimated_bytes = 0, peak_vram_bytes = 0, peak_ram_bytes = 0;
  std::filesystem::path adapter_dir;
};

MemoryEstimate estimate_emef_memory(const EmefParams& params);
// The shape of such a run without its frozen adapters (which estimate_emef_memory reads from their folders).
TrainingShape emef_training_shape(const EmefParams& params, const model::LlamaConfig& config);

class EmefJob : public jobs::Job {
 public:
  explicit EmefJob(EmefParams params) : params_(std::move(params)) {}
  std::string title() const override { return "Fine-tune (EMEF)"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const EmefResult& result() const { return result_; }

 private:
  EmefParams params_;
  EmefResult result_;
};

}  // namespace lowbit::train
