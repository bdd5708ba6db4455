// adapter_config.json of a PEFT LoRA adapter, read without LibTorch so that it can be checked (and fuzzed) on its
// own: {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"], ...}.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/lora/lora_shape.h"

namespace lowbit::lora {

struct AdapterConfig {
  LoraShape shape;
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};  // short names: q_proj … down_proj
  std::string base_model_name_or_path;
};

// The projections LoRA can wrap, by their short names.
const std::vector<std::string>& adapter_target_names();

// Throws InputError(source, …) for an empty list or a name not in adapter_target_names().
void check_adapter_targets(const std::vector<std::string>& targets, const std::string& source);

// Throws InputError(source, …) for anything LowBit cannot load: not LoRA, a rank outside 1…65536, α or dropout
// not finite, DoRA/rsLoRA/fan_in_fan_out, layers_to_transform, unknown target modules.
AdapterConfig parse_adapter_config(const nlohmann::json& document, const std::string& source);

// dir/adapter_config.json, read under util::kConfigJsonLimits.
AdapterConfig read_adapter_config(const std::filesystem::path& dir);

}  // namespace lowbit::lora
