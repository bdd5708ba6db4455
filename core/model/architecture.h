// Every supported architecture described once: its Hugging Face and GGUF names, the tensors of its checkpoint
// (HF name and shape per logical tensor, required or not) and its config quirks. The config parser, the loader,
// the quantizer, PEFT adapters, GGUF import and the test fixtures all read this table instead of comparing
// architecture strings, so a new LLaMA-family architecture is one entry here.
//
//   const Architecture& arch = find_architecture(config.architecture);
//   for (const LlamaTensorSpec& spec : arch.tensors) checkpoint.tensor(hf_tensor_name(spec, layer));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model/llama_config.h"

namespace lowbit::model {

enum class LlamaTensor {
  TokenEmbedding, OutputNorm, Output,
  AttnNorm, AttnQ, AttnK, AttnV, AttnOutput,
  FfnNorm, FfnGate, FfnUp, FfnDown,
  AttnQBias, AttnKBias, AttnVBias,
};

struct LlamaTensorSpec {
  LlamaTensor tensor;
  const char* hf_name;   // "{}" stands for the layer index
  bool per_layer;
};

// How an architecture's config asks for sliding-window attention.
enum class SlidingWindowRule {
  Never,             // LLaMA
  FromConfig,        // Mistral: every layer when config.sliding_window is an integer
  RefusedWhenUsed,   // Qwen2: `use_sliding_window` (off in every released Qwen2/2.5) is not supported yet
};

struct Architecture {
  const char* hf_name;      // config.json "architectures"[0]
  const char* model_type;   // config.json "model_type"
  const char* gguf_name;    // GGUF general.architecture
  const char* family;       // for people: "LLaMA", "Mistral", "Qwen2"
  std::vector<LlamaTensorSpec> tensors;  // lm_head is absent from checkpoints with tied embeddings
  bool qkv_bias;            // q/k/v projections have a bias (o_proj and the MLP never do)
  bool refuses_bias_flags;  // LLaMA configs may say attention_bias/mlp_bias: true, which LowBit does not run
  SlidingWindowRule sliding_window;
  bool gguf_rope_permuted;  // llama.cpp's converter permutes q/k rows for its RoPE layout (undone on import)
};

const std::vector<Architecture>& supported_architectures();
// "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM", for error messages and `lowbit info`.
std::string supported_architecture_list();
// By HF class name; nullptr when unsupported.
const Architecture* find_architecture(const std::string& hf_name);
// By config.json model_type or GGUF general.architecture; nullptr when unsupported.
const Architecture* find_architecture_by_model_type(const std::string& model_type);
const Architecture* find_architecture_by_gguf_name(const std::string& gguf_name);
// The table of a config's architecture (InternalError when the config did not come from parse_llama_config).
const Architecture& architecture_of(const LlamaConfig& config);

// The tensor table of `architecture` (one of supported_architectures()).
const std::vector<LlamaTensorSpec>& llama_tensor_names(const std::string& architecture);
// The spec of `tensor` in the config's architecture, nullptr when the architecture has no such tensor.
const LlamaTensorSpec* find_tensor_spec(const LlamaConfig& config, LlamaTensor tensor);
// The bias tensor belonging to a projection in this architecture, if it has one.
std::optional<LlamaTensor> projection_bias(const LlamaConfig& config, LlamaTensor projection);

std::string hf_tensor_name(const LlamaTensorSpec& spec, int64_t layer);

// Shape in the checkpoint ([out_features, in_features] for projections, as torch.nn.Linear stores them).
std::vector<int64_t> expected_shape(LlamaTensor tensor, const LlamaConfig& config);


}  // namespace lowbit::model
