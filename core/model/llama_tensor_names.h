// The architecture as a table: for every logical tensor of a LLaMA-family model, its Hugging Face name and the
// shape it must have. The loader walks this table once, so a wrong or missing tensor is reported by name with
// the shape found and the shape expected. MistralForCausalLM uses the same names as LlamaForCausalLM.
#pragma once

#include <string>
#include <vector>

#include "core/model/llama_config.h"

namespace lowbit::model {

enum class LlamaTensor {
  TokenEmbedding, OutputNorm, Output,
  AttnNorm, AttnQ, AttnK, AttnV, AttnOutput,
  FfnNorm, FfnGate, FfnUp, FfnDown,
};

struct LlamaTensorSpec {
  LlamaTensor tensor;
  const char* hf_name;   // "{}" stands for the layer index
  bool per_layer;
};

// The table for `architecture` (one of supported_architectures()).
const std::vector<LlamaTensorSpec>& llama_tensor_names(const std::string& architecture);

std::string hf_tensor_name(const LlamaTensorSpec& spec, int64_t layer);

// Shape in the checkpoint ([out_features, in_features] for projections, as torch.nn.Linear stores them).
std::vector<int64_t> expected_shape(LlamaTensor tensor, const LlamaConfig& config);

// "[4096, 11008]".
std::string format_shape(const std::vector<int64_t>& shape);

}  // namespace lowbit::model
