// A LLaMA-family decoder in LibTorch (CPU or CUDA; fp32, fp16 or bf16) with a key/value cache, computing what
// transformers' LlamaForCausalLM / MistralForCausalLM compute.
//
//   auto model = LlamaModel::load("/models/stories260K", {at::kCPU, std::nullopt});
//   KvCache cache = model->make_cache(/*batch=*/1, /*capacity=*/512);
//   at::Tensor logits = model->forward(prompt_ids, &cache);   // [1, T, vocab]; then one token at a time
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/linear.h"
#include "core/model/llama_config.h"
#include "core/model/architecture.h"
#include "core/quant/quant_config.h"

namespace lowbit::model {

struct LoadOptions {
  at::Device device = at::kCPU;
  // Compute dtype; by default float32 on the CPU and the stored half type (fp16 for float32 checkpoints) on CUDA.
  std::optional<at::ScalarType> dtype;
};

// Keys and values of every layer for the positions seen so far: [batch, n_head_kv, capacity, head_dim] each.
struct KvCache {
  std::vector<at::Tensor> keys;
  std::vector<at::Tensor> values;
  int64_t length = 0;     // positions filled
  int64_t capacity = 0;
};

struct LlamaLayer {
  at::Tensor attn_norm, ffn_norm;  // [hidden]
  std::unique_ptr<Linear> q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
};

class SafetensorsCheckpoint;

// The seven projections of a decoder layer in true-sequential order (q, k, v, o, gate, up, down), with the
// short name PEFT and GPTQ use for each ("q_proj") and where the layer holds it.
struct LlamaProjection {
  LlamaTensor tensor;
  const char* name;
  std::unique_ptr<Linear> LlamaLayer::*member;
};
const std::vector<LlamaProjection>& llama_projections();

// Rotary cos/sin for positions [start, start + length): [length, head_dim] in `dtype`, computed in float32.
struct RopeTables {
  at::Tensor cos, sin;
};
RopeTables rope_tables(const at::Tensor& inv_freq, int64_t start, int64_t length, at::ScalarType dtype);

// transformers' LlamaRMSNorm: normalise in float32, cast back, scale.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// One decoder layer: h + attention(norm(h)), then + mlp(norm(·)). With a cache, keys/values are appended at
// positions [past, past + T) of layer `layer_index`.
at::Tensor decoder_layer_forward(const LlamaConfig& config, const LlamaLayer& layer, const at::Tensor& h,
                                 const RopeTables& rope, KvCache* cache = nullptr, int64_t layer_index = 0,
                                 int64_t past = 0);

// Reads one layer's tensors (dense, or GPTQ-packed when `quant` is set), checking every shape against the config.
LlamaLayer load_llama_layer(const SafetensorsCheckpoint& checkpoint, const LlamaConfig& config,
                            const std::optional<quant::QuantConfig>& quant, int64_t layer_index,
                            const LoadOptions& options, at::ScalarType dtype, const std::string& source);

class LlamaModel {
 public:
  static std::unique_ptr<LlamaModel> load(const std::filesystem::path& model_dir, const LoadOptions& options);

  const LlamaConfig& config() const { return config_; }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  const std::filesystem::path& folder() const { return folder_; }
  const std::optional<quant::QuantConfig>& quantization() const { return quant_; }
  const at::Tensor& embed_tokens() const { return embed_tokens_; }
  const at::Tensor& final_norm() const { return final_norm_; }
  const at::Tensor& lm_head() const { return lm_head_; }
  const at::Tensor& inv_freq() const { return inv_freq_; }

  KvCache make_cache(int64_t batch, int64_t capacity) const;

  // input_ids: [batch, T] int64. With a cache, positions continue from cache->length and the cache is extended.
  // Returns logits [batch, T, vocab] in the compute dtype.
  at::Tensor forward(const at::Tensor& input_ids, KvCache* cache = nullptr) const;
  // The two halves of forward: the final hidden state [batch, T, hidden] (after the last RMSNorm: what lm_head
  // reads, and RILQ's correction target), and the logits of a hidden state.
  at::Tensor final_hidden_state(const at::Tensor& input_ids, KvCache* cache = nullptr) const;
  at::Tensor logits(const at::Tensor& final_hidden_state) const;

  // While on, a forward pass with autograd enabled and no cache checkpoints every decoder layer
  // (core/model/gradient_checkpoint.h): less memory for training, one more forward pass per backward.
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }
  bool gradient_checkpointing() const { return gradient_checkpointing_; }

  std::vector<LlamaLayer>& layers() { return layers_; }
  const std::vector<LlamaLayer>& layers() const { return layers_; }
  int64_t weight_bytes() const;

 private:
  LlamaModel() = default;

  LlamaConfig config_;
  std::optional<quant::QuantConfig> quant_;
  std::filesystem::path folder_;
  at::Device device_ = at::kCPU;
  at::ScalarType dtype_ = at::kFloat;
  at::Tensor embed_tokens_;  // [vocab, hidden]
  at::Tensor final_norm_;    // [hidden]
  at::Tensor lm_head_;       // [vocab, hidden]; the same tensor as embed_tokens_ when tied
  at::Tensor inv_freq_;      // [head_dim / 2] float32, with rope scaling applied
  std::vector<LlamaLayer> layers_;
  bool gradient_checkpointing_ = false;
};

// Rotary inverse frequencies as transformers computes them (float32), including linear and llama3 scaling.
at::Tensor rope_inverse_frequencies(const LlamaConfig& config);

// The dtype a model computes in on `device` when the user did not choose one.
at::ScalarType default_compute_dtype(const LlamaConfig& config, at::Device device);

// "float16" → at::kHalf; throws InputError for anything else than float32/float16/bfloat16.
at::ScalarType parse_dtype(const std::string& name);
// The name parse_dtype reads back: "float32", "float16" or "bfloat16".
std::string dtype_name(at::ScalarType dtype);

}  // namespace lowbit::model
