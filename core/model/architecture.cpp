#include "core/model/architecture.h"

#include "core/util/errors.h"

namespace lowbit::model {
namespace {

std::vector<LlamaTensorSpec> llama_tensors(bool qkv_bias) {
  std::vector<LlamaTensorSpec> tensors = {
      {LlamaTensor::TokenEmbedding, "model.embed_tokens.weight", false},
      {LlamaTensor::OutputNorm, "model.norm.weight", false},
      {LlamaTensor::Output, "lm_head.weight", false},
      {LlamaTensor::AttnNorm, "model.layers.{}.input_layernorm.weight", true},
      {LlamaTensor::AttnQ, "model.layers.{}.self_attn.q_proj.weight", true},
      {LlamaTensor::AttnK, "model.layers.{}.self_attn.k_proj.weight", true},
      {LlamaTensor::AttnV, "model.layers.{}.self_attn.v_proj.weight", true},
      {LlamaTensor::AttnOutput, "model.layers.{}.self_attn.o_proj.weight", true},
      {LlamaTensor::FfnNorm, "model.layers.{}.post_attention_layernorm.weight", true},
      {LlamaTensor::FfnGate, "model.layers.{}.mlp.gate_proj.weight", true},
      {LlamaTensor::FfnUp, "model.layers.{}.mlp.up_proj.weight", true},
      {LlamaTensor::FfnDown, "model.layers.{}.mlp.down_proj.weight", true},
  };
  if (qkv_bias) {
    tensors.push_back({LlamaTensor::AttnQBias, "model.layers.{}.self_attn.q_proj.bias", true});
    tensors.push_back({LlamaTensor::AttnKBias, "model.layers.{}.self_attn.k_proj.bias", true});
    tensors.push_back({LlamaTensor::AttnVBias, "model.layers.{}.self_attn.v_proj.bias", true});
  }
  return tensors;
}

}  // namespace

const std::vector<Architecture>& supported_architectures() {
  static const std::vector<Architecture> table = {
      {"LlamaForCausalLM", "llama", "llama", "LLaMA", llama_tensors(false), false, true, SlidingWindowRule::Never,
       true},
      // Mistral's GGUF files say "llama": llama.cpp converts them with the LLaMA graph.
      {"MistralForCausalLM", "mistral", "", "Mistral", llama_tensors(false), false, false,
       SlidingWindowRule::FromConfig, true},
      {"Qwen2ForCausalLM", "qwen2", "qwen2", "Qwen2", llama_tensors(true), true, false,
       SlidingWindowRule::RefusedWhenUsed, false},
  };
  return table;
}

std::string supported_architecture_list() {
  std::string list;
  for (const Architecture& arch : supported_architectures()) list += (list.empty() ? "" : ", ") + std::string(arch.hf_name);
  return list;
}

const Architecture* find_architecture(const std::string& hf_name) {
  for (const Architecture& arch : supported_architectures()) {
    if (hf_name == arch.hf_name) return &arch;
  }
  return nullptr;
}

const Architecture* find_architecture_by_model_type(const std::string& model_type) {
  for (const Architecture& arch : supported_architectures()) {
    if (model_type == arch.model_type) return &arch;
  }
  return nullptr;
}

const Architecture* find_architecture_by_gguf_name(const std::string& gguf_name) {
  if (gguf_name.empty()) return nullptr;
  for (const Architecture& arch : supported_architectures()) {
    if (gguf_name == arch.gguf_name) return &arch;
  }
  return nullptr;
}

const Architecture& architecture_of(const LlamaConfig& config) {
  const Architecture* arch = find_architecture(config.architecture);
  if (arch == nullptr) throw InternalError("no architecture table for " + config.architecture);
  return *arch;
}

const std::vector<LlamaTensorSpec>& llama_tensor_names(const std::string& architecture) {
  const Architecture* arch = find_architecture(architecture);
  if (arch == nullptr) throw InternalError("no tensor table for architecture " + architecture);
  return arch->tensors;
}

const LlamaTensorSpec* find_tensor_spec(const LlamaConfig& config, LlamaTensor tensor) {
  for (const LlamaTensorSpec& spec : architecture_of(config).tensors) {
    if (spec.tensor == tensor) return &spec;
  }
  return nullptr;
}

std::optional<LlamaTensor> projection_bias(const LlamaConfig& config, LlamaTensor projection) {
  std::optional<LlamaTensor> bias;
  if (projection == LlamaTensor::AttnQ) bias = LlamaTensor::AttnQBias;
  if (projection == LlamaTensor::AttnK) bias = LlamaTensor::AttnKBias;
  if (projection == LlamaTensor::AttnV) bias = LlamaTensor::AttnVBias;
  if (bias && find_tensor_spec(config, *bias) == nullptr) bias.reset();
  return bias;
}

std::string hf_tensor_name(const LlamaTensorSpec& spec, int64_t layer) {
  std::string name = spec.hf_name;
  const size_t slot = name.find("{}");
  if (slot != std::string::npos) name.replace(slot, 2, std::to_string(layer));
  return name;
}

std::vector<int64_t> expected_shape(LlamaTensor tensor, const LlamaConfig& c) {
  switch (tensor) {
    case LlamaTensor::TokenEmbedding:
    case LlamaTensor::Output: return {c.vocab_size, c.hidden_size};
    case LlamaTensor::OutputNorm:
    case LlamaTensor::AttnNorm:
    case LlamaTensor::FfnNorm: return {c.hidden_size};
    case LlamaTensor::AttnQ: return {c.n_head * c.head_dim, c.hidden_size};
    case LlamaTensor::AttnK:
    case LlamaTensor::AttnV: return {c.n_head_kv * c.head_dim, c.hidden_size};
    case LlamaTensor::AttnOutput: return {c.hidden_size, c.n_head * c.head_dim};
    case LlamaTensor::FfnGate:
    case LlamaTensor::FfnUp: return {c.intermediate_size, c.hidden_size};
    case LlamaTensor::FfnDown: return {c.hidden_size, c.intermediate_size};
    case LlamaTensor::AttnQBias: return {c.n_head * c.head_dim};
    case LlamaTensor::AttnKBias:
    case LlamaTensor::AttnVBias: return {c.n_head_kv * c.head_dim};
  }
  throw InternalError("unknown LlamaTensor");
}


}  // namespace lowbit::model
