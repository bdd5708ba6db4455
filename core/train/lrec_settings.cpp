#include "core/train/lrec_settings.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "core/train/training_settings.h"
#include "core/util/errors.h"

namespace lowbit::train {

bool operator==(const LrecSettings& a, const LrecSettings& b) {
  auto fields = [](const LrecSettings& s) {
    return std::tie(s.student_dir, s.teacher_dir, s.calibration, s.run_dir, s.resume, s.preset, s.lora, s.target_modules,
                    s.loss, s.schedule, s.weight_decay, s.max_grad_norm, s.micro_batch, s.accumulation, s.seqlen,
                    s.calibration_windows, s.held_out_fraction, s.eval_windows, s.eval_every, s.checkpoint_every,
                    s.early_stop_patience, s.teacher_top_k, s.gradient_checkpointing, s.seed, s.device);
  };
  return fields(a) == fields(b);
}

void apply_preset(LrecSettings& s, const std::string& preset) {
  s.lora = {32, 128.0, 0.05};
  s.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  s.weight_decay = 1e-5;
  s.loss.kl = 1.0;
  if (preset == "int4") {
    s.loss.ce = 10.0;
    s.schedule.base_lr = 1e-5;
  } else if (preset == "int3") {
    s.loss.ce = 40.0;
    s.schedule.base_lr = 2e-5;
  } else if (preset == "int2") {
    s.loss.ce = 120.0;
    s.schedule.base_lr = 3e-5;
  } else {
    throw InputError("", "unknown preset '" + preset + "'", "use int4, int3 or int2 (the paper's Table 4)");
  }
  s.preset = preset;
}

void apply_recipe(LrecSettings& s, CorrectionLoss loss) {
  s.loss.kind = loss;
  if (loss != CorrectionLoss::HiddenMseCe) return;
  s.loss.mse = 0.5;
  s.loss.ce = 0.5;
  s.lora.alpha = kRilqAlpha;
  s.lora.dropout = 0.0;
  s.schedule.base_lr = 1e-4;
  s.weight_decay = 0.0;
  s.micro_batch = 1;
  s.accumulation = 8;
  s.eval_every = 25;
  s.checkpoint_every = 25;
  s.early_stop_patience = 5;
}

const std::vector<std::pair<std::string, CorrectionLoss>>& correction_recipes() {
  static const std::vector<std::pair<std::string, CorrectionLoss>> recipes = {{"lrec", CorrectionLoss::KlCe},
                                                                              {"rilq", CorrectionLoss::HiddenMseCe}};
  return recipes;
}

std::string correction_recipe_name(CorrectionLoss loss) {
  for (const auto& [name, kind] : correction_recipes()) {
    if (kind == loss) return name;
  }
  throw std::logic_error("a correction loss without a recipe name");
}

CorrectionLoss correction_recipe_named(const std::string& name) {
  for (const auto& [recipe, kind] : correction_recipes()) {
    if (recipe == name) return kind;
  }
  throw InputError("", "unknown correction recipe '" + name + "'", "use lrec or rilq");
}

std::string lrec_preset_for_bits(int bits) { return "int" + std::to_string(std::clamp(bits, 2, 4)); }

void set_lrec_rank(LrecSettings& s, int64_t rank) {
  s.lora.rank = rank;
  s.lora.alpha = s.loss.kind == CorrectionLoss::HiddenMseCe ? kRilqAlpha : kLrecAlphaPerRank * static_cast<double>(rank);
}

namespace {

using S = LrecSettings;
using json = nlohmann::json;

SettingsSchema<S> make_schema() {
  SettingsSchema<S> schema("correct", [](const S& s) {
    S baseline;
    apply_preset(baseline, s.preset);
    apply_recipe(baseline, s.loss.kind);
    return baseline;
  });
  schema.field(path_setting<S>("QUANT_DIR", "student", "", "a quantized model folder",
                               [](S& s) -> std::filesystem::path& { return s.student_dir; }, SettingUse::Positional));
  schema.field(path_setting<S>("--teacher", "teacher", "FP_DIR", "the full-precision model it was quantized from",
                               [](S& s) -> std::filesystem::path& { return s.teacher_dir; }, SettingUse::Required));
  schema.field(path_setting<S>("--calib", "calibration", "FILE", "calibration text (.txt, or .jsonl with a \"text\" field)",
                               [](S& s) -> std::filesystem::path& { return s.calibration; }, SettingUse::Required));
  add_run_folder_settings(schema);
  {
    // The preset sets several fields, so it is applied before the options that may change them.
    SettingField<S> preset{"--preset", "preset", "int4|int3|int2", "the paper's Table 4 settings for this many bits",
                           SettingUse::AlwaysShown};
    preset.saved_since_start = false;
    preset.save = [](const S& s) { return json(s.preset); };
    preset.load = [](S& s, const json& j) { s.preset = j.get<std::string>(); };
    preset.render = [](const S& s) { return std::vector<std::string>{"--preset", s.preset}; };
    preset.parse = [](S& s, const ArgParser& a) { apply_preset(s, a.choice("--preset", s.preset, {"int4", "int3", "int2"})); };
    schema.field(preset);
  }
  {
    // The recipe sets several fields too: applied after the preset, before the options that may change them.
    SettingField<S> loss = choice_setting<S, CorrectionLoss>(
        "--loss", "loss", "lrec: KL to the teacher's next-token distribution + CE (INT2.1 paper); rilq: MSE to the "
        "teacher's final hidden state + CE (RILQ, AAAI 2025), with its own settings",
        correction_recipes(), [](S& s) -> CorrectionLoss& { return s.loss.kind; });
    loss.use = SettingUse::AlwaysShown;
    loss.saved_since_start = false;  // earlier run folders are LREC's
    const auto render = loss.render;
    loss.render = [render](const S& s) {
      return s.loss.kind == CorrectionLoss::KlCe ? std::vector<std::string>{} : render(s);
    };
    loss.parse = [](S& s, const ArgParser& a) {
      if (!a.value("--loss")) return;
      std::vector<std::string> names;
      for (const auto& recipe : correction_recipes()) names.push_back(recipe.first);
      apply_recipe(s, correction_recipe_named(a.choice("--loss", names.front(), names)));
    };
    schema.field(loss);
  }
  schema.field(integer_setting<S>("--steps", "steps", "N", "optimizer steps", 1, 1 << 30,
                                  [](S& s) -> int64_t& { return s.schedule.total_steps; }));
  schema.field(number_setting<S>("--lr", "lr", "LR", "peak learning rate", 1e-12, 1e6,
                                 [](S& s) -> double& { return s.schedule.base_lr; }));
  schema.field(integer_setting<S>("--warmup", "warmup_steps", "N", "warm-up steps", 0, 1 << 30,
                                  [](S& s) -> int64_t& { return s.schedule.warmup_steps; }));
  schema.field(choice_setting<S, ScheduleKind>(
      "--schedule", "schedule", "learning-rate schedule after the warm-up",
      {{"cosine", ScheduleKind::Cosine}, {"linear", ScheduleKind::Linear}, {"constant", ScheduleKind::Constant}},
      [](S& s) -> ScheduleKind& { return s.schedule.kind; }));
  schema.field(number_setting<S>("--min-lr-ratio", "min_lr_ratio", "F", "learning rate at the end, as a fraction of the peak",
                                 0, 1, [](S& s) -> double& { return s.schedule.min_ratio; }));
  add_adapter_settings(schema);
  schema.field(number_setting<S>("--kl-weight", "kl_weight", "W", "λ_KL", 0, 1e6, [](S& s) -> double& { return s.loss.kl; }));
  schema.field(number_setting<S>("--ce-weight", "ce_weight", "W", "λ_CE", 0, 1e6, [](S& s) -> double& { return s.loss.ce; }));
  {
    SettingField<S> mse = number_setting<S>("--mse-weight", "mse_weight", "W", "λ_MSE of the rilq loss", 0, 1e6,
                                            [](S& s) -> double& { return s.loss.mse; });
    mse.saved_since_start = false;
    schema.field(mse);
  }
  schema.field(named_switch_setting<S, KlNormalisation>(
      "--kl-per-token", "kl_normalisation", "divide the KL by the tokens, not the sequences",
      {"per_sequence", KlNormalisation::PerSequence}, {"per_token", KlNormalisation::PerToken},
      [](S& s) -> KlNormalisation& { return s.loss.normalisation; }));
  schema.field(named_switch_setting<S, KlDirection>(
      "--reverse-kl", "kl_direction", "KL(student ‖ teacher) instead of KL(teacher ‖ student)",
      {"teacher_student", KlDirection::TeacherStudent}, {"student_teacher", KlDirection::StudentTeacher},
      [](S& s) -> KlDirection& { return s.loss.direction; }));
  schema.field(integer_setting<S>("--micro-batch", "micro_batch", "N", "windows per forward pass", 1, 4096,
                                  [](S& s) -> int64_t& { return s.micro_batch; }));
  schema.field(integer_setting<S>("--accumulation", "accumulation", "N", "micro-batches per optimizer step", 1, 1 << 20,
                                  [](S& s) -> int64_t& { return s.accumulation; }));
  schema.field(integer_setting<S>("--seqlen", "seqlen", "L", "tokens per calibration window", 2, 1 << 20,
                                  [](S& s) -> int64_t& { return s.seqlen; }));
  schema.field(integer_setting<S>("--samples", "calibration_windows", "N", "calibration windows", 1, 1 << 24,
                                  [](S& s) -> int64_t& { return s.calibration_windows; }));
  schema.field(number_setting<S>("--held-out", "held_out_fraction", "F", "the end of the text kept for evaluation", 0.01, 0.9,
                                 [](S& s) -> double& { return s.held_out_fraction; }));
  schema.field(integer_setting<S>("--eval-windows", "eval_windows", "N", "held-out windows per evaluation", 1, 1 << 20,
                                  [](S& s) -> int64_t& { return s.eval_windows; }));
  schema.field(integer_setting<S>("--teacher-top-k", "teacher_top_k", "K",
                                  "teacher log-probs cached per token (0: run the teacher beside the student)", 0, 1 << 20,
                                  [](S& s) -> int64_t& { return s.teacher_top_k; }));
  add_training_loop_settings(schema);
  return schema;
}

}  // namespace

const SettingsSchema<LrecSettings>& lrec_settings_schema() {
  static const SettingsSchema<LrecSettings> schema = make_schema();
  return schema;
}

}  // namespace lowbit::train
