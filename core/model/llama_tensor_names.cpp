#include "core/model/llama_tensor_names.h"

#include "core/util/errors.h"

namespace lowbit::model {

const std::vector<LlamaTensorSpec>& llama_tensor_names(const std::string& architecture) {
  static const std::vector<LlamaTensorSpec> llama = {
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
  if (architecture == "LlamaForCausalLM" || architecture == "MistralForCausalLM") return llama;
  throw InternalError("no tensor table for architecture " + architecture);
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
  }
  throw InternalError("unknown LlamaTensor");
}

std::string format_shape(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace lowbit::model
