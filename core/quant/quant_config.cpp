#include "core/quant/quant_config.h"
#include "core/util/json_limits.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/util/errors.h"

namespace lowbit::quant {
namespace {

using nlohmann::json;

QuantConfig parse(const json& q, const std::string& source) {
  QuantConfig config;
  const std::string method = q.value("quant_method", std::string("gptq"));
  if (method != "gptq") {
    throw InputError(source, "quantization method '" + method + "' is not supported",
                     "LowBit reads GPTQ checkpoints (quant_method \"gptq\"); AWQ, bitsandbytes and others are not");
  }
  try {
    config.bits = q.contains("bits") ? q.at("bits").get<int>() : q.value("w_bit", 4);
    config.group_size = q.contains("group_size") ? q.at("group_size").get<int64_t>() : q.value("q_group_size", int64_t{-1});
    config.desc_act = q.value("desc_act", false);
    config.static_groups = q.value("static_groups", false);
    config.sym = q.value("sym", true);
    config.true_sequential = q.value("true_sequential", true);
    config.damp_percent = q.value("damp_percent", 0.01);
    std::string format = q.value("checkpoint_format", std::string());
    if (format.empty()) format = q.value("format", std::string("gptq"));
    config.checkpoint_format = format;
    if (q.value("lowbit_method", std::string("gptq")) == "rtn") config.method = QuantMethod::Rtn;
  } catch (const json::exception& e) {
    throw InputError(source, std::string("quantization settings have a value of the wrong type: ") + e.what(), "");
  }
  if (config.checkpoint_format != "gptq" && config.checkpoint_format != "gptq_v2") {
    throw InputError(source, "checkpoint_format '" + config.checkpoint_format + "' is not supported",
                     "LowBit reads \"gptq\" (v1) and \"gptq_v2\" checkpoints; Marlin-repacked ones are not");
  }
  validate(config, source);
  return config;
}

}  // namespace

void validate(const QuantConfig& config, const std::string& source) {
  if (config.bits != 2 && config.bits != 3 && config.bits != 4 && config.bits != 8) {
    throw InputError(source, "bits = " + std::to_string(config.bits) + " is not supported", "use 2, 3, 4 or 8");
  }
  if (config.group_size != -1 && (config.group_size < 1 || config.group_size % 32 != 0)) {
    throw InputError(source, "group size " + std::to_string(config.group_size) + " is not supported",
                     "use -1 (one group per column) or a multiple of 32 such as 32, 64 or 128");
  }
  if (!(config.damp_percent > 0 && config.damp_percent < 1)) {
    throw InputError(source, "damp_percent must be in (0, 1)", "the usual value is 0.01");
  }
}

std::optional<QuantConfig> read_quant_config(const std::string& model_dir) {
  const std::filesystem::path folder(model_dir);
  for (const char* name : {"config.json", "quantize_config.json"}) {
    const std::filesystem::path path = folder / name;
    if (!std::filesystem::exists(path)) continue;
    const std::optional<json> parsed = util::read_json_file_or_none(path, util::kConfigJsonLimits);
    if (!parsed) continue;
    const json& document = *parsed;  // config.json's own errors are reported by load_llama_config
    if (std::string(name) == "config.json") {
      if (auto quant = quant_config_from_model_config(document, path.string())) return quant;
    } else if (document.is_object() && document.contains("bits")) {
      return parse(document, path.string());
    }
  }
  return std::nullopt;
}

std::optional<QuantConfig> quant_config_from_model_config(const json& config, const std::string& source) {
  if (config.is_object() && config.contains("quantization_config") && config["quantization_config"].is_object()) {
    return parse(config["quantization_config"], source + " quantization_config");
  }
  return std::nullopt;
}

json to_json(const QuantConfig& c) {
  return {{"quant_method", "gptq"},
          {"bits", c.bits},
          {"group_size", c.group_size},
          {"desc_act", c.desc_act},
          {"static_groups", c.static_groups},
          {"sym", c.sym},
          {"true_sequential", c.true_sequential},
          {"damp_percent", c.damp_percent},
          {"checkpoint_format", c.checkpoint_format},
          {"model_file_base_name", "model"},
          {"lowbit_method", c.method == QuantMethod::Rtn ? "rtn" : "gptq"}};
}

std::string describe(const QuantConfig& c) {
  std::string text = std::string(c.method == QuantMethod::Rtn ? "RTN " : "GPTQ ") + std::to_string(c.bits) +
                     "-bit, group " + (c.group_size > 0 ? std::to_string(c.group_size) : std::string("per column"));
  if (c.desc_act) text += c.static_groups ? ", act-order (static groups)" : ", act-order";
  text += c.sym ? ", symmetric" : ", asymmetric";
  text += c.checkpoint_format == "gptq" ? ", format gptq (v1)" : ", format gptq_v2";
  return text;
}

}  // namespace lowbit::quant
