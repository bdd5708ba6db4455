// Writes a small random LLaMA checkpoint (config.json + model.safetensors) with LowBit's own writer, for tests
// that need a model but no Python and no test assets (e.g. on the GPU machine).
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/model/llama_config.h"
#include "core/model/architecture.h"
#include "core/model/safetensors.h"

namespace lowbit::testing {

inline nlohmann::json tiny_llama_config_json() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"vocab_size", 320}, {"hidden_size", 64},
          {"intermediate_size", 160}, {"num_hidden_layers", 2}, {"num_attention_heads", 8},
          {"num_key_value_heads", 2}, {"max_position_embeddings", 256}, {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0}, {"tie_word_embeddings", false}, {"torch_dtype", "float32"},
          {"bos_token_id", 1}, {"eos_token_id", 2}};
}

// Weights ~ N(0, 0.25²), norms ~ 1 + N(0, 0.1²): logits well away from zero, so comparisons can fail.
inline void write_random_llama(const std::filesystem::path& folder, uint64_t seed,
                               const nlohmann::json& config_json = tiny_llama_config_json()) {
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "config.json") << config_json.dump(2);
  const model::LlamaConfig config = model::parse_llama_config(config_json, "config.json");
  at::manual_seed(seed);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const model::LlamaTensorSpec& spec : model::llama_tensor_names(config.architecture)) {
    if (spec.tensor == model::LlamaTensor::Output && config.tie_word_embeddings) continue;
    const std::vector<int64_t> shape = model::expected_shape(spec.tensor, config);
    const bool is_norm = spec.tensor == model::LlamaTensor::AttnNorm || spec.tensor == model::LlamaTensor::FfnNorm ||
                         spec.tensor == model::LlamaTensor::OutputNorm;
    for (int64_t layer = 0; layer < (spec.per_layer ? config.n_layer : 1); ++layer) {
      const at::Tensor t = is_norm ? 1 + 0.1 * at::randn(shape) : 0.25 * at::randn(shape);
      tensors.emplace_back(model::hf_tensor_name(spec, layer), t);
    }
  }
  model::save_safetensors(folder / "model.safetensors", tensors);
}

}  // namespace lowbit::testing
