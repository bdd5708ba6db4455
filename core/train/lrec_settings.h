// The settings of an LREC run (core/train/lrec_job.h), in one place: the fields and their defaults, the paper's
// presets, and — through lrec_settings_schema() — the `lowbit correct` command line, the run's config.json
// and the usage text. The CLI, the app's wizard and Correct page, resume and the estimates all read them from here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/lora/lora_shape.h"
#include "core/train/distillation_weights.h"
#include "core/train/schedule.h"
#include "core/util/settings_schema.h"

namespace lowbit::train {

// The paper's ratio of LoRA α to rank for LREC: r 32, α 128 (Table 4).
constexpr double kLrecAlphaPerRank = 4.0;
// RILQ's LoRA α, the same at every rank (its rank sweep keeps it).
constexpr double kRilqAlpha = 16.0;

struct LrecSettings {
  std::filesystem::path student_dir;   // GPTQ checkpoint
  std::filesystem::path teacher_dir;   // full-precision model
  std::filesystem::path calibration;   // text or JSONL
  std::filesystem::path run_dir;
  bool resume = false;

  std::string preset = "int4";         // apply_preset() sets the fields it names
  lora::LoraShape lora{32, 128.0, 0.05};
  std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  DistillationWeights loss{1.0, 10.0};
  Schedule schedule{1e-5, 0, 200, ScheduleKind::Cosine, 0.0};  // total_steps = number of optimizer steps
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
  int64_t early_stop_patience = 0;   // evaluations without a better validation loss before stopping; 0: off
  int64_t teacher_top_k = 64;        // 0: run the teacher online next to the student
  bool gradient_checkpointing = true;
  uint64_t seed = 0;
  std::string device = "auto";       // "auto", "cpu", "cuda", "cuda:1": resolved when the job runs
};

bool operator==(const LrecSettings& a, const LrecSettings& b);
inline bool operator!=(const LrecSettings& a, const LrecSettings& b) { return !(a == b); }

// "int4" | "int3" | "int2": the paper's Table 4 (r 32, all projections, λ_KL 1, λ_CE 10 / 40 / 120,
// lr 1e-5 / 2e-5 / 3e-5, weight decay 1e-5). InputError for another name.
void apply_preset(LrecSettings& settings, const std::string& preset);
// The recipe's own settings on top of the preset: for CorrectionLoss::HiddenMseCe, RILQ's (Chang et al., AAAI
// 2025: λ_MSE 0.5, λ_CE 0.5, α 16 whatever the rank, dropout 0, lr 1e-4, no weight decay, 8 micro-batches per
// step, evaluation every 25 steps with early stopping after 5 without improvement); for KlCe, the preset's as
// they are (the INT2.1 paper's LREC).
void apply_recipe(LrecSettings& settings, CorrectionLoss loss);
// The recipes by the names `lowbit correct --loss`, config.json and the app use: "lrec" (KlCe), "rilq" (HiddenMseCe).
const std::vector<std::pair<std::string, CorrectionLoss>>& correction_recipes();
std::string correction_recipe_name(CorrectionLoss loss);
// InputError for a name correction_recipes() lacks.
CorrectionLoss correction_recipe_named(const std::string& name);
// The recipe the app offers first: the better one at every bit width of docs/correction-recipes.md's table
// (scripts/quality_table.sh on SmolLM2-135M-Instruct: RILQ closed 0.51 / 0.47 / 0.59 of the INT2 / INT3 / INT4
// log-perplexity gap, LREC 0.49 / 0.39 / 0.32). `lowbit correct` keeps the paper's LREC unless --loss rilq.
constexpr CorrectionLoss kRecommendedCorrectionLoss = CorrectionLoss::HiddenMseCe;
// The preset for a model quantized to `bits`: int2, int3, int4 (and int4 for 8 bits, which loses little).
std::string lrec_preset_for_bits(int bits);
// Rank r with the paper's α = 4r (LREC), or RILQ's α 16 whatever the rank.
void set_lrec_rank(LrecSettings& settings, int64_t rank);

// `lowbit correct` and config.json ("kind": "lrec" is added by the job).
const SettingsSchema<LrecSettings>& lrec_settings_schema();

}  // namespace lowbit::train
