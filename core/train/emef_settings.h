// The settings of an EMEF run (core/train/emef_job.h), in one place: the fields and their defaults (alpaca-lora's,
// as the paper's EMEF runs), and — through emef_settings_schema() — the `lowbit finetune` command line, the run's
// config.json and the usage text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/data/instruction_data.h"
#include "core/data/prompt_format.h"
#include "core/lora/lora_shape.h"
#include "core/train/schedule.h"
#include "core/util/settings_schema.h"

namespace lowbit::train {

// alpaca-lora's ratio of LoRA α to rank: r 8, α 16.
constexpr double kEmefAlphaPerRank = 2.0;

struct EmefSettings {
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
  int64_t early_stop_patience = 0;  // evaluations without a better validation CE before stopping; 0: off
  bool gradient_checkpointing = true;
  uint64_t seed = 0;
  std::string device = "auto";                         // resolved when the job runs
};

bool operator==(const EmefSettings& a, const EmefSettings& b);
inline bool operator!=(const EmefSettings& a, const EmefSettings& b) { return !(a == b); }

// Rank r with alpaca-lora's α = 2r.
void set_emef_rank(EmefSettings& settings, int64_t rank);

// `lowbit finetune` and config.json ("kind": "emef" is added by the job).
const SettingsSchema<EmefSettings>& emef_settings_schema();

}  // namespace lowbit::train
