// The quantization settings of a GPTQ checkpoint, as `quantization_config` in config.json and
// quantize_config.json spell them (AutoGPTQ / GPTQModel / transformers' GPTQConfig).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include <nlohmann/json_fwd.hpp>

namespace lowbit::quant {

enum class QuantMethod { Gptq, Rtn };

struct QuantConfig {
  int bits = 4;
  int64_t group_size = 128;     // -1: one group over all input columns
  bool desc_act = false;        // act-order: columns processed by decreasing Hessian diagonal
  bool static_groups = false;   // with desc_act: groups fixed on the original column order
  bool sym = true;
  bool true_sequential = true;
  double damp_percent = 0.01;
  std::string checkpoint_format = "gptq";  // "gptq" (v1: zero − 1 stored) or "gptq_v2"
  QuantMethod method = QuantMethod::Gptq;  // how the weights were made; both are stored as GPTQ tensors

  int zero_offset() const { return checkpoint_format == "gptq" ? 1 : 0; }
  // Group size in columns for a layer with `in_features` inputs.
  int64_t columns_per_group(int64_t in_features) const { return group_size > 0 ? group_size : in_features; }
};

inline bool operator==(const QuantConfig& a, const QuantConfig& b) {
  return std::tie(a.bits, a.group_size, a.desc_act, a.static_groups, a.sym, a.true_sequential, a.damp_percent,
                  a.checkpoint_format, a.method) ==
         std::tie(b.bits, b.group_size, b.desc_act, b.static_groups, b.sym, b.true_sequential, b.damp_percent,
                  b.checkpoint_format, b.method);
}

// Throws InputError naming the setting when bits/group size are not ones LowBit can write and read.
void validate(const QuantConfig& config, const std::string& source);

// quantization_config from config.json, or quantize_config.json, of a model folder; none when unquantized.
std::optional<QuantConfig> read_quant_config(const std::string& model_dir);
// The same from a config.json already read (its quantization_config); source names it in errors.
std::optional<QuantConfig> quant_config_from_model_config(const nlohmann::json& config, const std::string& source);

// The `quantization_config` object written into config.json (also the content of quantize_config.json).
nlohmann::json to_json(const QuantConfig& config);

std::string describe(const QuantConfig& config);  // "GPTQ 4-bit, group 128, act-order, sym, v1"

}  // namespace lowbit::quant
