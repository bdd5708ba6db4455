#include "core/train/run_output.h"
#include "core/util/json_limits.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <variant>

#include "core/train/emef_settings.h"
#include "core/train/lrec_settings.h"
#include "core/train/run_plan.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace fs = std::filesystem;

namespace {

bool is_complete(const RunOutput& output) {
  if (!fs::exists(output.model / "config.json")) return false;
  for (const fs::path& adapter : output.adapters) {
    if (!fs::exists(adapter / "adapter_model.safetensors")) return false;
  }
  return true;
}

RunOutput finetune_output(const EmefSettings& settings) {
  RunOutput output{settings.model_dir, settings.base_adapters};
  output.adapters.push_back(settings.run_dir / "adapter");
  return output;
}

RunOutput correction_output(const LrecSettings& settings) { return {settings.student_dir, {settings.run_dir / "adapter"}}; }

using RunSettings = std::variant<RunPlan, LrecSettings, EmefSettings>;

// The one reader of a run folder's settings; nullopt when it holds none LowBit can read.
std::optional<RunSettings> read_run_settings(const fs::path& run_dir) {
  try {
    if (std::optional<RunPlan> plan = read_pipeline(run_dir)) return RunSettings{std::move(*plan)};
    const fs::path file = run_dir / "config.json";
    const nlohmann::json config = util::read_json_file_or_none(file, util::kConfigJsonLimits).value_or(nullptr);
    if (!config.is_object()) return std::nullopt;
    const std::string kind = config.value("kind", std::string());
    if (kind == "lrec") {
      LrecSettings settings = lrec_settings_schema().from_json(config, file.string());
      settings.run_dir = run_dir;
      return RunSettings{std::move(settings)};
    }
    if (kind == "emef") {
      EmefSettings settings = emef_settings_schema().from_json(config, file.string());
      settings.run_dir = run_dir;
      return RunSettings{std::move(settings)};
    }
  } catch (const Error&) {
    // settings it cannot read: nothing to offer (resuming or opening the run says what is wrong)
  }
  return std::nullopt;
}

template <class... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <class... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

}  // namespace

std::optional<RunOutput> run_output(const fs::path& run_dir) {
  const std::optional<RunSettings> settings = read_run_settings(run_dir);
  if (!settings) return std::nullopt;
  const RunOutput output = std::visit(
      Overloaded{[](const RunPlan& plan) {
                   if (plan.finetune) return finetune_output(*plan.finetune);
                   if (plan.correct) return correction_output(*plan.correct);
                   return RunOutput{plan.quantize ? plan.quantize->out_dir : plan.model_dir, {}};
                 },
                 [](const LrecSettings& lrec) { return correction_output(lrec); },
                 [](const EmefSettings& emef) { return finetune_output(emef); }},
      *settings);
  if (!is_complete(output)) return std::nullopt;
  return output;
}

std::string run_kind_label(const std::string& kind) {
  if (kind == "pipeline") return "pipeline (New run)";
  if (kind == "lrec") return "correction (LREC)";
  if (kind == "emef") return "fine-tune (EMEF)";
  return "";
}

std::vector<RunSource> models_a_run_started_from(const fs::path& run_dir) {
  const std::optional<RunSettings> settings = read_run_settings(run_dir);
  if (!settings) return {};
  return std::visit(
      Overloaded{[](const RunPlan& plan) { return std::vector<RunSource>{{plan.model_dir, run_kind_label("pipeline")}}; },
                 [](const LrecSettings& lrec) {
                   return std::vector<RunSource>{{lrec.student_dir, run_kind_label("lrec")},
                                                 {lrec.teacher_dir, run_kind_label("lrec")}};
                 },
                 [](const EmefSettings& emef) { return std::vector<RunSource>{{emef.model_dir, run_kind_label("emef")}}; }},
      *settings);
}

}  // namespace lowbit::train
