// The settings LREC and EMEF share, listed once for both schemas (core/train/lrec_settings.h, emef_settings.h):
// the run folder, the LoRA adapter, and the training loop's optimizer, cadence, seed and device. Each template
// reads the same-named members of either settings type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/lora/lora_shape.h"
#include "core/train/memory_estimate.h"
#include "core/util/settings_schema.h"

namespace lowbit::train {

template <typename S>
void add_run_folder_settings(SettingsSchema<S>& schema) {
  schema.field(path_setting<S>("--out", "", "RUN_DIR", "a new folder for the run (config, metrics, checkpoints, adapter)",
                               [](S& s) -> std::filesystem::path& { return s.run_dir; }, SettingUse::RequiredToRun));
  schema.field(switch_setting<S>("--resume", "", "continue the run in RUN_DIR from its last checkpoint", true,
                                 [](S& s) -> bool& { return s.resume; }));
}

template <typename S>
void add_adapter_settings(SettingsSchema<S>& schema) {
  schema.field(integer_setting<S>("--rank", "lora_rank", "R", "LoRA rank", 1, 4096, [](S& s) -> int64_t& { return s.lora.rank; }));
  schema.field(number_setting<S>("--alpha", "lora_alpha", "A", "LoRA α (the update is scaled by α / rank)", 1e-6, 1e6,
                                 [](S& s) -> double& { return s.lora.alpha; }));
  schema.field(number_setting<S>("--dropout", "lora_dropout", "P", "LoRA dropout", 0, 0.99,
                                 [](S& s) -> double& { return s.lora.dropout; }));
  schema.field(list_setting<S>("--targets", "target_modules", "q_proj,...", "the projections that get adapters",
                               [](S& s) -> std::vector<std::string>& { return s.target_modules; }));
}

// AdamW's weight decay and clipping, evaluation and checkpoint cadence, gradient checkpointing, seed, device.
template <typename S>
void add_training_loop_settings(SettingsSchema<S>& schema) {
  schema.field(number_setting<S>("--weight-decay", "weight_decay", "W", "AdamW weight decay", 0, 10,
                                 [](S& s) -> double& { return s.weight_decay; }));
  schema.field(number_setting<S>("--max-grad-norm", "max_grad_norm", "N", "gradient clipping", 1e-6, 1e6,
                                 [](S& s) -> double& { return s.max_grad_norm; }));
  schema.field(integer_setting<S>("--eval-every", "eval_every", "N", "steps between evaluations", 1, 1 << 30,
                                  [](S& s) -> int64_t& { return s.eval_every; }));
  schema.field(integer_setting<S>("--checkpoint-every", "checkpoint_every", "N", "steps between checkpoints", 1, 1 << 30,
                                  [](S& s) -> int64_t& { return s.checkpoint_every; }));
  {
    SettingField<S> early = integer_setting<S>(
        "--early-stop", "early_stop_patience", "PATIENCE",
        "stop after this many evaluations without a better validation loss and keep the best step's adapter (0: off)", 0,
        1 << 20, [](S& s) -> int64_t& { return s.early_stop_patience; });
    early.saved_since_start = false;  // run folders of earlier versions trained without it
    schema.field(early);
  }
  schema.field(switch_setting<S>("--no-gradient-checkpointing", "gradient_checkpointing",
                                 "keep every layer's activations (faster, more memory)", false,
                                 [](S& s) -> bool& { return s.gradient_checkpointing; }));
  schema.field(seed_setting<S>("data order, LoRA initialisation, dropout", [](S& s) -> uint64_t& { return s.seed; }));
  schema.field(string_setting<S>("--device", "device", "auto|cpu|cuda", "where to train (auto: the GPU when one is usable)",
                                 [](S& s) -> std::string& { return s.device; }));
}

// The shape of such a run for the memory estimate: `seqlen` tokens per example, `teacher_top_k` as TrainingShape
// counts it (-1: no teacher), `compute_bytes` of the compute dtype (2 on a GPU, 4 on the CPU).
template <typename S>
TrainingShape adapter_training_shape(const S& s, int64_t seqlen, int64_t teacher_top_k, int64_t compute_bytes) {
  TrainingShape shape;
  shape.lora_rank = s.lora.rank;
  shape.lora_dropout = s.lora.dropout;
  shape.target_modules = s.target_modules;
  shape.micro_batch = s.micro_batch;
  shape.seqlen = seqlen;
  shape.gradient_checkpointing = s.gradient_checkpointing;
  shape.teacher_top_k = teacher_top_k;
  shape.compute_bytes = compute_bytes;
  return shape;
}

}  // namespace lowbit::train
