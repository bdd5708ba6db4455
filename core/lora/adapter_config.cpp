#include "core/lora/adapter_config.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/util/errors.h"
#include "core/util/json_limits.h"

namespace lowbit::lora {
namespace {

using nlohmann::json;

constexpr int64_t kMaxRank = 65536;
const char* const kResaveRemedy = "re-save the adapter with LowBit or with peft's save_pretrained";

}  // namespace

const std::vector<std::string>& adapter_target_names() {
  static const std::vector<std::string> names = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};
  return names;
}

void check_adapter_targets(const std::vector<std::string>& targets, const std::string& source) {
  if (targets.empty()) throw InputError(source, "no target modules", "name at least one of q_proj … down_proj");
  const auto& all = adapter_target_names();
  for (const std::string& target : targets) {
    if (std::find(all.begin(), all.end(), target) == all.end()) {
      throw InputError(source, "unknown target module '" + target.substr(0, 80) + "'",
                       "use q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj or down_proj");
    }
  }
}

AdapterConfig parse_adapter_config(const json& document, const std::string& source) {
  if (!document.is_object()) throw InputError(source, "is not a JSON object", kResaveRemedy);
  AdapterConfig config;
  try {
    const std::string peft_type = document.value("peft_type", std::string("LORA"));
    if (peft_type != "LORA") {
      throw InputError(source, "peft_type '" + peft_type.substr(0, 80) + "' is not LoRA", "LowBit loads LoRA adapters");
    }
    const json& rank = document.at("r");
    if (!rank.is_number_integer() || rank.get<int64_t>() < 1 || rank.get<int64_t>() > kMaxRank) {
      throw InputError(source, "r must be a whole number from 1 to " + std::to_string(kMaxRank) + ", found " +
                                   rank.dump().substr(0, 40),
                       kResaveRemedy);
    }
    config.shape.rank = rank.get<int64_t>();
    config.shape.alpha = document.value("lora_alpha", 8.0);
    config.shape.dropout = document.value("lora_dropout", 0.0);
    if (!std::isfinite(config.shape.alpha) || !std::isfinite(config.shape.dropout) || config.shape.dropout < 0 ||
        config.shape.dropout >= 1) {
      throw InputError(source, "lora_alpha must be finite and lora_dropout from 0 to below 1", kResaveRemedy);
    }
    if (!document.at("target_modules").is_array()) {
      throw InputError(source, "target_modules is a pattern, not a list of module names",
                       "re-save the adapter with target_modules listed, e.g. [\"q_proj\", \"v_proj\"]");
    }
    config.target_modules = document.at("target_modules").get<std::vector<std::string>>();
    config.base_model_name_or_path = document.value("base_model_name_or_path", std::string());
    for (const char* unsupported : {"use_dora", "use_rslora", "fan_in_fan_out"}) {
      if (document.value(unsupported, false)) {
        throw InputError(source, std::string(unsupported) + " is set", "LowBit loads plain LoRA adapters");
      }
    }
    if (document.contains("layers_to_transform") && !document["layers_to_transform"].is_null()) {
      throw InputError(source, "layers_to_transform is set", "LowBit loads adapters on every layer");
    }
  } catch (const json::exception& e) {
    throw InputError(source, std::string("a field is missing or of the wrong type: ") + e.what(), kResaveRemedy);
  }
  check_adapter_targets(config.target_modules, source);
  return config;
}

AdapterConfig read_adapter_config(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "adapter_config.json";
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    throw InputError(dir.string(), "has no adapter_config.json", "give a folder saved by LowBit or by peft's save_pretrained");
  }
  return parse_adapter_config(util::read_json_file(path, util::kConfigJsonLimits), path.string());
}

}  // namespace lowbit::lora
