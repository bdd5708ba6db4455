#include "core/train/run_output.h"

#include <nlohmann/json.hpp>

#include <fstream>

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

}  // namespace

std::optional<RunOutput> run_output(const fs::path& run_dir) {
  std::optional<RunOutput> output;
  try {
    if (const std::optional<RunPlan> plan = read_pipeline(run_dir)) {
      if (plan->finetune) {
        output = finetune_output(*plan->finetune);
      } else if (plan->correct) {
        output = correction_output(*plan->correct);
      } else {
        output = RunOutput{plan->quantize ? plan->quantize->out_dir : plan->model_dir, {}};
      }
    } else {
      const fs::path file = run_dir / "config.json";
      std::ifstream in(file);
      const nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (!in || !config.is_object()) return std::nullopt;
      const std::string kind = config.value("kind", std::string());
      if (kind == "lrec") {
        LrecSettings settings = lrec_settings_schema().from_json(config, file.string());
        settings.run_dir = run_dir;
        output = correction_output(settings);
      } else if (kind == "emef") {
        EmefSettings settings = emef_settings_schema().from_json(config, file.string());
        settings.run_dir = run_dir;
        output = finetune_output(settings);
      }
    }
  } catch (const Error&) {
    return std::nullopt;  // settings it cannot read: nothing to offer (resuming or opening it says what is wrong)
  }
  if (!output || !is_complete(*output)) return std::nullopt;
  return output;
}

}  // namespace lowbit::train
