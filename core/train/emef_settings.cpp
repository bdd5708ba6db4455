#include "core/train/emef_settings.h"

#include <tuple>

#include "core/train/training_settings.h"

namespace lowbit::train {

bool operator==(const EmefSettings& a, const EmefSettings& b) {
  auto fields = [](const EmefSettings& s) {
    return std::tie(s.model_dir, s.base_adapters, s.data, s.columns, s.run_dir, s.resume, s.lora, s.target_modules, s.lr,
                    s.schedule, s.warmup_steps, s.epochs, s.steps, s.batch, s.micro_batch, s.weight_decay,
                    s.max_grad_norm, s.examples, s.prompt_template, s.validation, s.eval_examples, s.eval_every,
                    s.checkpoint_every, s.early_stop_patience, s.gradient_checkpointing, s.seed, s.device);
  };
  return fields(a) == fields(b);
}

void set_emef_rank(EmefSettings& s, int64_t rank) {
  s.lora.rank = rank;
  s.lora.alpha = kEmefAlphaPerRank * static_cast<double>(rank);
}

namespace {

using S = EmefSettings;
using json = nlohmann::json;

SettingsSchema<S> make_schema() {
  SettingsSchema<S> schema("finetune", [](const S&) { return S{}; });
  schema.field(path_setting<S>("MODEL", "model", "", "a quantized or full-precision model folder",
                               [](S& s) -> std::filesystem::path& { return s.model_dir; }, SettingUse::Positional));
  schema.field(path_setting<S>("--data", "data", "FILE", "instruction data: Alpaca JSON or JSON Lines",
                               [](S& s) -> std::filesystem::path& { return s.data; }, SettingUse::RequiredToRun));
  add_run_folder_settings(schema);
  schema.field(repeated_path_setting<S>("--adapters", "base_adapters", "DIR",
                                        "frozen adapters under the new one, in order (an LREC run's adapter); repeatable",
                                        [](S& s) -> std::vector<std::filesystem::path>& { return s.base_adapters; }));
  {
    SettingField<S> prompt = choice_setting<S, data::PromptTemplate>(
        "--template", "template", "the prompt: Alpaca's, or the model's own chat template",
        {{"alpaca", data::PromptTemplate::Alpaca}, {"model", data::PromptTemplate::Model}},
        [](S& s) -> data::PromptTemplate& { return s.prompt_template; });
    prompt.saved_since_start = false;  // runs from before chat templates were Alpaca's
    schema.field(prompt);
  }
  schema.field(string_setting<S>("--instruction-field", "", "NAME", "the records' instruction field",
                                 [](S& s) -> std::string& { return s.columns.instruction; }));
  schema.field(string_setting<S>("--input-field", "", "NAME", "the records' input field",
                                 [](S& s) -> std::string& { return s.columns.input; }));
  schema.field(string_setting<S>("--output-field", "", "NAME", "the records' output field",
                                 [](S& s) -> std::string& { return s.columns.output; }));
  {
    SettingField<S> columns{"", "columns", "", "the instruction, input and output fields"};
    columns.save = [](const S& s) { return json::array({s.columns.instruction, s.columns.input, s.columns.output}); };
    columns.load = [](S& s, const json& j) {
      const auto names = j.get<std::vector<std::string>>();
      if (names.size() != 3) throw Error("it must name three fields");
      s.columns = {names[0], names[1], names[2]};
    };
    columns.render = [](const S&) { return std::vector<std::string>{}; };
    columns.parse = [](S&, const ArgParser&) {};
    schema.field(columns);
  }
  schema.field(integer_setting<S>("--cutoff", "cutoff", "N", "tokens per example; longer ones are left out", 8, 1 << 20,
                                  [](S& s) -> int64_t& { return s.examples.cutoff; }));
  schema.field(switch_setting<S>("--train-on-inputs", "train_on_inputs", "count the prompt's tokens in the loss too", true,
                                 [](S& s) -> bool& { return s.examples.train_on_inputs; }));
  schema.field(switch_setting<S>("--no-eos", "add_eos", "do not end Alpaca examples with the end-of-sequence token", false,
                                 [](S& s) -> bool& { return s.examples.add_eos; }));
  schema.field(number_setting<S>("--val", "validation", "N|F", "records held out: a count (≥ 1) or a fraction", 0.0001, 1e9,
                                 [](S& s) -> double& { return s.validation; }));
  schema.field(integer_setting<S>("--eval-examples", "eval_examples", "N", "held-out records per evaluation", 1, 1 << 24,
                                  [](S& s) -> int64_t& { return s.eval_examples; }));
  add_adapter_settings(schema);
  schema.field(number_setting<S>("--lr", "lr", "LR", "peak learning rate", 1e-12, 1e6, [](S& s) -> double& { return s.lr; }));
  schema.field(integer_setting<S>("--warmup", "warmup_steps", "N", "warm-up steps (at most a tenth of the run)", 0, 1 << 30,
                                  [](S& s) -> int64_t& { return s.warmup_steps; }));
  schema.field(choice_setting<S, ScheduleKind>(
      "--schedule", "schedule", "learning-rate schedule after the warm-up",
      {{"linear", ScheduleKind::Linear}, {"cosine", ScheduleKind::Cosine}, {"constant", ScheduleKind::Constant}},
      [](S& s) -> ScheduleKind& { return s.schedule; }));
  schema.field(number_setting<S>("--epochs", "epochs", "E", "passes over the training records", 0.001, 1e6,
                                 [](S& s) -> double& { return s.epochs; }));
  schema.field(optional_setting<S, int64_t>(
      "--steps", "steps", "N", "optimizer steps (instead of --epochs)",
      [](const ArgParser& a, const std::string& flag) { return *a.optional_integer(flag, 1, 1 << 30); },
      [](const int64_t& steps) { return std::to_string(steps); },
      [](S& s) -> std::optional<int64_t>& { return s.steps; }));
  schema.field(integer_setting<S>("--batch", "batch", "N", "examples per optimizer step", 1, 1 << 20,
                                  [](S& s) -> int64_t& { return s.batch; }));
  schema.field(integer_setting<S>("--micro-batch", "micro_batch", "N", "examples per forward pass (divides --batch)", 1, 4096,
                                  [](S& s) -> int64_t& { return s.micro_batch; }));
  add_training_loop_settings(schema);
  return schema;
}

}  // namespace

const SettingsSchema<EmefSettings>& emef_settings_schema() {
  static const SettingsSchema<EmefSettings> schema = make_schema();
  return schema;
}

}  // namespace lowbit::train
