#include "core/model/llama_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/model/architecture.h"
#include "core/util/errors.h"
#include "core/util/json_limits.h"

namespace lowbit::model {
namespace {

using nlohmann::json;

const char* const kReexportRemedy = "check the model folder, or re-save it with transformers' save_pretrained";

template <typename T>
T required(const json& object, const char* key, const std::string& source) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    throw InputError(source, std::string("missing required field '") + key + "'", kReexportRemedy);
  }
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw InputError(source, std::string("field '") + key + "' has the wrong type (" + it->dump() + ")",
                     kReexportRemedy);
  }
}

template <typename T>
T optional_field(const json& object, const char* key, T fallback, const std::string& source) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw InputError(source, std::string("field '") + key + "' has the wrong type (" + it->dump() + ")",
                     kReexportRemedy);
  }
}

// A whole number within [low, high] (a float such as 64.5 is refused, 4096.0 accepted as transformers' int() would).
int64_t whole_number(const json& value, const char* key, int64_t low, int64_t high, const std::string& source) {
  double number = 0;
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(high)) number = 1e300;
    else number = static_cast<double>(value.get<int64_t>());
  } else if (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>()) {
    number = value.get<double>();
  } else {
    throw InputError(source, std::string("field '") + key + "' must be a whole number, found " + value.dump().substr(0, 40),
                     kReexportRemedy);
  }
  if (!(number >= static_cast<double>(low) && number <= static_cast<double>(high))) {
    throw InputError(source,
                     std::string("field '") + key + "' is " + value.dump().substr(0, 40) + ", outside " +
                         std::to_string(low) + " to " + std::to_string(high) + " (no real model has such a value)",
                     kReexportRemedy);
  }
  return static_cast<int64_t>(number);
}

int64_t required_whole(const json& object, const char* key, int64_t low, int64_t high, const std::string& source) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    throw InputError(source, std::string("missing required field '") + key + "'", kReexportRemedy);
  }
  return whole_number(*it, key, low, high, source);
}

int64_t optional_whole(const json& object, const char* key, int64_t fallback, int64_t low, int64_t high,
                       const std::string& source) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return whole_number(*it, key, low, high, source);
}

// A real number in the open interval (low, high).
double optional_real(const json& object, const char* key, double fallback, double low, double high,
                     const std::string& source) {
  const double value = optional_field<double>(object, key, fallback, source);
  if (!(value > low && value < high) || !std::isfinite(value)) {
    throw InputError(source,
                     std::string("field '") + key + "' is " + std::to_string(value) + ", outside the open range " +
                         std::to_string(low) + " to " + std::to_string(high),
                     kReexportRemedy);
  }
  return value;
}

RopeScaling parse_rope_scaling(const json& config, const std::string& source) {
  RopeScaling scaling;
  const auto it = config.find("rope_scaling");
  if (it == config.end() || it->is_null()) return scaling;
  if (!it->is_object()) throw InputError(source, "'rope_scaling' must be an object or null", kReexportRemedy);
  // transformers accepts both "rope_type" (current) and "type" (older configs).
  std::string type = optional_field<std::string>(*it, "rope_type", "", source);
  if (type.empty()) type = optional_field<std::string>(*it, "type", "", source);
  if (type == "default") return scaling;
  scaling.factor = required<double>(*it, "factor", source + " rope_scaling");
  if (scaling.factor <= 0) throw InputError(source, "rope_scaling.factor must be positive", kReexportRemedy);
  if (type == "linear") {
    scaling.type = RopeScalingType::Linear;
  } else if (type == "llama3") {
    scaling.type = RopeScalingType::Llama3;
    scaling.low_freq_factor = required<double>(*it, "low_freq_factor", source + " rope_scaling");
    scaling.high_freq_factor = required<double>(*it, "high_freq_factor", source + " rope_scaling");
    scaling.original_max_position_embeddings =
        required_whole(*it, "original_max_position_embeddings", 1, int64_t{1} << 24, source + " rope_scaling");
    if (scaling.high_freq_factor <= scaling.low_freq_factor) {
      throw InputError(source, "rope_scaling.high_freq_factor must exceed low_freq_factor", kReexportRemedy);
    }
  } else {
    throw InputError(source, "rope_scaling type '" + type + "' is not supported",
                     "LowBit supports rope scaling of type 'linear' and 'llama3'");
  }
  return scaling;
}

// A bos/eos id outside the vocabulary would index past the embedding.
void check_token_ids(const LlamaConfig& c, const std::string& source) {
  std::vector<int64_t> ids = c.eos_token_ids;
  ids.push_back(c.bos_token_id);
  for (const int64_t id : ids) {
    if (id < 0 || id >= c.vocab_size) {
      throw InputError(source,
                       "token id " + std::to_string(id) + " (bos/eos) is outside the vocabulary of " +
                           std::to_string(c.vocab_size) + " tokens",
                       kReexportRemedy);
    }
  }
}

std::vector<int64_t> parse_token_ids(const json& value, const std::string& source, const char* key) {
  if (value.is_number_integer()) return {value.get<int64_t>()};
  if (value.is_array()) {
    std::vector<int64_t> ids;
    for (const json& item : value) {
      if (!item.is_number_integer()) throw InputError(source, std::string("'") + key + "' must hold integers", "");
      ids.push_back(item.get<int64_t>());
    }
    return ids;
  }
  throw InputError(source, std::string("'") + key + "' must be an integer or a list of integers", kReexportRemedy);
}

}  // namespace

LlamaConfig parse_llama_config(const json& config, const std::string& source) {
  if (!config.is_object()) throw InputError(source, "must hold a JSON object", kReexportRemedy);
  LlamaConfig c;
  const Architecture* arch = nullptr;
  const auto architectures = config.find("architectures");
  if (architectures != config.end() && architectures->is_array() && !architectures->empty() &&
      (*architectures)[0].is_string()) {
    c.architecture = (*architectures)[0].get<std::string>();
    arch = find_architecture(c.architecture);
  } else {
    c.architecture = optional_field<std::string>(config, "model_type", "", source);
    arch = find_architecture_by_model_type(c.architecture);
  }
  if (arch == nullptr) {
    throw InputError(source,
                     "architecture '" + (c.architecture.empty() ? std::string("(none given)") : c.architecture) +
                         "' is not supported",
                     "LowBit runs LLaMA-family models: " + supported_architecture_list());
  }
  c.architecture = arch->hf_name;
  // Upper bounds far past any released model, low enough that sizes computed from them cannot overflow.
  c.vocab_size = required_whole(config, "vocab_size", 1, int64_t{1} << 22, source);
  c.hidden_size = required_whole(config, "hidden_size", 1, int64_t{1} << 17, source);
  c.intermediate_size = required_whole(config, "intermediate_size", 1, int64_t{1} << 20, source);
  c.n_layer = required_whole(config, "num_hidden_layers", 1, 1024, source);
  c.n_head = required_whole(config, "num_attention_heads", 1, 4096, source);
  c.n_head_kv = optional_whole(config, "num_key_value_heads", c.n_head, 1, 4096, source);
  if (c.n_head % c.n_head_kv != 0) {
    throw InputError(source,
                     "num_attention_heads (" + std::to_string(c.n_head) + ") is not a multiple of " +
                         "num_key_value_heads (" + std::to_string(c.n_head_kv) + ")",
                     kReexportRemedy);
  }
  // transformers derives head_dim when the field is absent or null; a written 0 is a broken file.
  const bool head_dim_given = config.contains("head_dim") && !config["head_dim"].is_null();
  c.head_dim = head_dim_given ? required_whole(config, "head_dim", 2, 4096, source) : 0;
  if (!head_dim_given) {
    if (c.hidden_size % c.n_head != 0) {
      throw InputError(source, "hidden_size is not a multiple of num_attention_heads and no head_dim is given",
                       kReexportRemedy);
    }
    c.head_dim = c.hidden_size / c.n_head;
  }
  if (c.head_dim % 2 != 0) throw InputError(source, "head_dim must be even for rotary embeddings", kReexportRemedy);
  c.max_position_embeddings = optional_whole(config, "max_position_embeddings", 2048, 1, int64_t{1} << 24, source);
  c.rope_theta = optional_real(config, "rope_theta", 10000.0, 0.0, 1e12, source);
  c.rope_scaling = parse_rope_scaling(config, source);
  c.rms_norm_eps = optional_real(config, "rms_norm_eps", 1e-6, 0.0, 1.0, source);
  c.tie_word_embeddings = optional_field<bool>(config, "tie_word_embeddings", false, source);
  c.torch_dtype = optional_field<std::string>(config, "torch_dtype", "", source);
  if (c.torch_dtype.empty()) c.torch_dtype = optional_field<std::string>(config, "dtype", "float32", source);
  const std::string activation = optional_field<std::string>(config, "hidden_act", "silu", source);
  if (activation != "silu") {
    throw InputError(source, "hidden_act '" + activation + "' is not supported", "LLaMA-family models use 'silu'");
  }
  if (arch->refuses_bias_flags && (optional_field<bool>(config, "attention_bias", false, source) ||
                                    optional_field<bool>(config, "mlp_bias", false, source))) {
    throw InputError(source, "attention_bias/mlp_bias are true; biased projections are not supported",
                     "LowBit runs LLaMA and Mistral models without projection biases, and Qwen2 with its q/k/v biases");
  }
  const auto window = config.find("sliding_window");
  const bool has_window = window != config.end() && window->is_number_integer();
  if (arch->sliding_window == SlidingWindowRule::FromConfig && has_window) {
    c.sliding_window = window->get<int64_t>();
  } else if (arch->sliding_window == SlidingWindowRule::RefusedWhenUsed &&
             optional_field<bool>(config, "use_sliding_window", false, source)) {
    throw InputError(source, "use_sliding_window is true; sliding-window attention is not supported yet for " +
                                 std::string(arch->family),
                     "released Qwen2/Qwen2.5 models keep it false; set it to false only if the model was trained so");
  }
  if (const auto bos = config.find("bos_token_id"); bos != config.end() && bos->is_number_integer()) {
    c.bos_token_id = bos->get<int64_t>();
  }
  if (const auto eos = config.find("eos_token_id"); eos != config.end() && !eos->is_null()) {
    c.eos_token_ids = parse_token_ids(*eos, source, "eos_token_id");
  }
  check_token_ids(c, source);
  return c;
}

LlamaConfig load_llama_config(const std::filesystem::path& model_dir) {
  if (!std::filesystem::is_directory(model_dir)) {
    throw InputError(model_dir.string(), "is not a folder",
                     "give the folder that holds config.json and the *.safetensors files");
  }
  const std::filesystem::path config_path = model_dir / "config.json";
  if (!std::filesystem::exists(config_path)) {
    throw InputError(model_dir.string(), "has no config.json",
                     "give a Hugging Face model folder (config.json, *.safetensors, tokenizer.model)");
  }
  LlamaConfig config = parse_llama_config(util::read_json_file(config_path, util::kConfigJsonLimits), config_path.string());
  // generation_config.json decides when generation stops, as in transformers.
  const std::filesystem::path generation_path = model_dir / "generation_config.json";
  if (std::filesystem::exists(generation_path)) {
    const json generation = util::read_json_file(generation_path, util::kConfigJsonLimits);
    if (const auto eos = generation.find("eos_token_id"); eos != generation.end() && !eos->is_null()) {
      config.eos_token_ids = parse_token_ids(*eos, generation_path.string(), "eos_token_id");
    }
    if (const auto bos = generation.find("bos_token_id"); bos != generation.end() && bos->is_number_integer()) {
      config.bos_token_id = bos->get<int64_t>();
    }
    check_token_ids(config, generation_path.string());
  }
  return config;
}

int64_t parameter_count(const LlamaConfig& c) {
  const int64_t attention = c.hidden_size * c.n_head * c.head_dim * 2 + c.hidden_size * c.n_head_kv * c.head_dim * 2;
  const int64_t mlp = 3 * c.hidden_size * c.intermediate_size;
  const Architecture* arch = find_architecture(c.architecture);
  const int64_t biases = arch != nullptr && arch->qkv_bias ? (c.n_head + 2 * c.n_head_kv) * c.head_dim : 0;
  const int64_t per_layer = attention + mlp + 2 * c.hidden_size + biases;
  const int64_t embeddings = c.vocab_size * c.hidden_size * (c.tie_word_embeddings ? 1 : 2);
  return c.n_layer * per_layer + embeddings + c.hidden_size;
}

}  // namespace lowbit::model
