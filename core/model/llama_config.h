// The hyper-parameters of a LLaMA-family model, read from a Hugging Face folder's config.json (and
// generation_config.json for the end-of-sequence ids). The architectures of core/model/architecture.h are
// accepted (LLaMA, Mistral, Qwen2); anything else is refused with the list of what is supported.
//
//   LlamaConfig config = load_llama_config("/models/llama-7b");   // throws InputError naming file and field
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lowbit::model {

enum class RopeScalingType { None, Linear, Llama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  double factor = 1.0;
  double low_freq_factor = 1.0;                      // llama3 only
  double high_freq_factor = 4.0;                     // llama3 only
  int64_t original_max_position_embeddings = 8192;   // llama3 only
};

struct LlamaConfig {
  std::string architecture;   // an hf_name of supported_architectures(): "LlamaForCausalLM", ...
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 2048;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  std::string torch_dtype = "float32";      // as stored: "float32", "float16", "bfloat16"
  std::optional<int64_t> sliding_window;    // attend to at most this many previous positions (Mistral)
  int64_t bos_token_id = 1;
  std::vector<int64_t> eos_token_ids = {2};
};

LlamaConfig load_llama_config(const std::filesystem::path& model_dir);

// Parses an already-read config.json object; `source` names it in errors.
LlamaConfig parse_llama_config(const nlohmann::json& config, const std::string& source);

// Weights of the model in parameters (embedding and output counted once when tied).
int64_t parameter_count(const LlamaConfig& config);

}  // namespace lowbit::model
