#include "core/model/llama_model.h"

#include <ATen/core/grad_mode.h>

#include <cmath>

#include "core/model/gradient_checkpoint.h"
#include "core/model/architecture.h"
#include "core/model/safetensors.h"
#include "core/quant/quant_linear.h"
#include "core/util/errors.h"
#include "core/util/format.h"

namespace lowbit::model {
namespace {

// x: [B, H, T, D]. transformers' rotate_half convention: pairs (i, i + D/2).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const at::Tensor x1 = x.narrow(-1, 0, half);
  const at::Tensor x2 = x.narrow(-1, half, half);
  return x * cos + at::cat({-x2, x1}, -1) * sin;
}

std::vector<int64_t> shape_of(const at::Tensor& t) { return std::vector<int64_t>(t.sizes().begin(), t.sizes().end()); }

}  // namespace

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32") return at::kFloat;
  if (name == "float16" || name == "fp16" || name == "half") return at::kHalf;
  if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
  throw InputError("", "unknown dtype '" + name + "'", "use float32, float16 or bfloat16");
}

std::string dtype_name(at::ScalarType dtype) {
  if (dtype == at::kHalf) return "float16";
  if (dtype == at::kBFloat16) return "bfloat16";
  if (dtype == at::kFloat) return "float32";
  return c10::toString(dtype);
}

at::ScalarType default_compute_dtype(const LlamaConfig& config, at::Device device) {
  if (device.is_cpu()) return at::kFloat;
  return config.torch_dtype == "bfloat16" ? at::kBFloat16 : at::kHalf;
}

at::Tensor rope_inverse_frequencies(const LlamaConfig& c) {
  const at::Tensor exponents = at::arange(0, c.head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(c.head_dim);
  at::Tensor inv_freq = 1.0 / at::pow(c.rope_theta, exponents);
  const RopeScaling& s = c.rope_scaling;
  if (s.type == RopeScalingType::Linear) {
    inv_freq = inv_freq / s.factor;
  } else if (s.type == RopeScalingType::Llama3) {
    // transformers' _compute_llama3_parameters: long wavelengths divided by `factor`, short ones kept, the band
    // between interpolated smoothly.
    const double old_context = static_cast<double>(s.original_max_position_embeddings);
    const double low_freq_wavelen = old_context / s.low_freq_factor;
    const double high_freq_wavelen = old_context / s.high_freq_factor;
    const at::Tensor wavelen = 2 * M_PI / inv_freq;
    at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
    const at::Tensor smooth = (old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    const at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    const at::Tensor is_medium = at::logical_not(wavelen < high_freq_wavelen) * at::logical_not(wavelen > low_freq_wavelen);
    scaled = at::where(is_medium, smoothed, scaled);
    inv_freq = scaled;
  }
  return inv_freq;
}

namespace {

// A tensor of the checkpoint, present, of the expected shape; "" as expected_dtype accepts F32/F16/BF16.
at::Tensor checked_tensor(const SafetensorsCheckpoint& checkpoint, const std::string& name,
                          const std::vector<int64_t>& expected, const std::string& source, const LlamaConfig& c,
                          const std::string& expected_dtype = "") {
  if (!checkpoint.contains(name)) {
    throw InputError(source, "tensor '" + name + "' is missing from the checkpoint",
                     "the folder may be incomplete (a shard missing) or not a " + c.architecture + " model");
  }
  const at::Tensor stored = checkpoint.tensor(name);
  if (shape_of(stored) != expected) {
    throw InputError(source,
                     "tensor '" + name + "' has shape " + format_shape(shape_of(stored)) + ", expected " +
                         format_shape(expected) + " from config.json",
                     "config.json and the weights do not belong together; re-download the model");
  }
  const auto dtype = stored.scalar_type();
  const bool ok = expected_dtype.empty() ? (dtype == at::kFloat || dtype == at::kHalf || dtype == at::kBFloat16)
                                         : checkpoint.info(name).dtype == expected_dtype;
  if (!ok) {
    throw InputError(source, "tensor '" + name + "' is stored as " + checkpoint.info(name).dtype,
                     expected_dtype.empty() ? "weights must be F32, F16 or BF16" : "expected " + expected_dtype);
  }
  return stored;
}

std::unique_ptr<Linear> load_projection(const SafetensorsCheckpoint& checkpoint, const LlamaTensorSpec& spec,
                                        int64_t layer_index, const LlamaConfig& c,
                                        const std::optional<quant::QuantConfig>& q, const LoadOptions& options,
                                        at::ScalarType dtype, const std::string& source) {
  const std::string weight_name = hf_tensor_name(spec, layer_index);
  const std::vector<int64_t> shape = expected_shape(spec.tensor, c);  // [N, K]
  at::Tensor bias;  // required where the architecture has one, never read where it has none
  if (const auto bias_tensor = projection_bias(c, spec.tensor)) {
    bias = checked_tensor(checkpoint, hf_tensor_name(*find_tensor_spec(c, *bias_tensor), layer_index),
                          expected_shape(*bias_tensor, c), source, c);
  }
  if (!q) {
    return std::make_unique<DenseLinear>(
        checked_tensor(checkpoint, weight_name, shape, source, c).to(options.device, dtype),
        bias.defined() ? bias.to(options.device, dtype) : bias);
  }
  const std::string prefix = weight_name.substr(0, weight_name.size() - std::string("weight").size());
  const int64_t n_out = shape[0], k_in = shape[1];
  const int bits = q->bits;
  const int64_t groups = (k_in + q->columns_per_group(k_in) - 1) / q->columns_per_group(k_in);
  quant::GptqTensors tensors;
  tensors.qweight = checked_tensor(checkpoint, prefix + "qweight", {k_in * bits / 32, n_out}, source, c, "I32");
  tensors.qzeros = checked_tensor(checkpoint, prefix + "qzeros", {groups, n_out * bits / 32}, source, c, "I32");
  tensors.scales = checked_tensor(checkpoint, prefix + "scales", {groups, n_out}, source, c);
  tensors.g_idx = checkpoint.contains(prefix + "g_idx")
                      ? checked_tensor(checkpoint, prefix + "g_idx", {k_in}, source, c, "I32")
                      : at::arange(k_in, at::kInt).div(q->columns_per_group(k_in), "floor").to(at::kInt);
  const auto [g_min, g_max] = at::aminmax(tensors.g_idx);
  if (g_min.item<int64_t>() < 0 || g_max.item<int64_t>() >= groups) {
    throw InputError(source, "tensor '" + prefix + "g_idx' holds group " + std::to_string(g_max.item<int64_t>()) +
                                 " but the layer has " + std::to_string(groups) + " groups",
                     "the checkpoint is damaged or its group_size does not match quantize_config.json");
  }
  // GPTQ files of bias-free architectures may carry an all-zero `bias` (TheBloke era); QuantLinear drops it.
  if (!bias.defined() && checkpoint.contains(prefix + "bias")) {
    bias = checked_tensor(checkpoint, prefix + "bias", {n_out}, source, c);
  }
  return std::make_unique<quant::QuantLinear>(tensors, bits, q->zero_offset(), bias, options.device);
}

}  // namespace

const std::vector<LlamaProjection>& llama_projections() {
  static const std::vector<LlamaProjection> projections = {
      {LlamaTensor::AttnQ, "q_proj", &LlamaLayer::q_proj},          {LlamaTensor::AttnK, "k_proj", &LlamaLayer::k_proj},
      {LlamaTensor::AttnV, "v_proj", &LlamaLayer::v_proj},          {LlamaTensor::AttnOutput, "o_proj", &LlamaLayer::o_proj},
      {LlamaTensor::FfnGate, "gate_proj", &LlamaLayer::gate_proj}, {LlamaTensor::FfnUp, "up_proj", &LlamaLayer::up_proj},
      {LlamaTensor::FfnDown, "down_proj", &LlamaLayer::down_proj}};
  return projections;
}

RopeTables rope_tables(const at::Tensor& inv_freq, int64_t start, int64_t length, at::ScalarType dtype) {
  const at::Tensor positions = at::arange(start, start + length, inv_freq.options().dtype(at::kFloat));
  const at::Tensor freqs = at::outer(positions, inv_freq);
  const at::Tensor angles = at::cat({freqs, freqs}, -1);
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, true) + eps);
  return weight * normed.to(x.scalar_type());
}

LlamaLayer load_llama_layer(const SafetensorsCheckpoint& checkpoint, const LlamaConfig& c,
                            const std::optional<quant::QuantConfig>& quant, int64_t layer_index,
                            const LoadOptions& options, at::ScalarType dtype, const std::string& source) {
  LlamaLayer layer;
  for (const LlamaTensorSpec& spec : llama_tensor_names(c.architecture)) {
    if (!spec.per_layer) continue;
    if (spec.tensor == LlamaTensor::AttnNorm || spec.tensor == LlamaTensor::FfnNorm) {
      const at::Tensor norm = checked_tensor(checkpoint, hf_tensor_name(spec, layer_index),
                                             expected_shape(spec.tensor, c), source, c)
                                  .to(options.device, dtype);
      (spec.tensor == LlamaTensor::AttnNorm ? layer.attn_norm : layer.ffn_norm) = norm;
      continue;
    }
    for (const LlamaProjection& projection : llama_projections()) {
      if (projection.tensor == spec.tensor) {
        layer.*projection.member = load_projection(checkpoint, spec, layer_index, c, quant, options, dtype, source);
      }
    }
  }
  return layer;
}

std::unique_ptr<LlamaModel> LlamaModel::load(const std::filesystem::path& model_dir, const LoadOptions& options) {
  std::unique_ptr<LlamaModel> model(new LlamaModel());
  model->config_ = load_llama_config(model_dir);
  model->quant_ = quant::read_quant_config(model_dir.string());
  model->folder_ = model_dir;
  model->device_ = options.device;
  model->dtype_ = options.dtype.value_or(default_compute_dtype(model->config_, options.device));
  const LlamaConfig& c = model->config_;
  const std::string source = model_dir.string();
  const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open_folder(model_dir);
  auto global = [&](LlamaTensor tensor) {
    for (const LlamaTensorSpec& spec : llama_tensor_names(c.architecture)) {
      if (spec.tensor == tensor) {
        // Same dtype on the CPU: stays a view of the memory-mapped file.
        return checked_tensor(checkpoint, hf_tensor_name(spec, 0), expected_shape(tensor, c), source, c)
            .to(model->device_, model->dtype_);
      }
    }
    throw InternalError("tensor table lacks a global tensor");
  };
  model->embed_tokens_ = global(LlamaTensor::TokenEmbedding);
  model->final_norm_ = global(LlamaTensor::OutputNorm);
  model->lm_head_ = c.tie_word_embeddings ? model->embed_tokens_ : global(LlamaTensor::Output);
  for (int64_t i = 0; i < c.n_layer; ++i) {
    model->layers_.push_back(load_llama_layer(checkpoint, c, model->quant_, i, options, model->dtype_, source));
  }
  model->inv_freq_ = rope_inverse_frequencies(c).to(model->device_);
  return model;
}

int64_t LlamaModel::weight_bytes() const {
  int64_t bytes = static_cast<int64_t>(embed_tokens_.nbytes() + final_norm_.nbytes());
  if (!config_.tie_word_embeddings) bytes += static_cast<int64_t>(lm_head_.nbytes());
  for (const LlamaLayer& layer : layers_) {
    bytes += static_cast<int64_t>(layer.attn_norm.nbytes() + layer.ffn_norm.nbytes());
    for (const Linear* p : {layer.q_proj.get(), layer.k_proj.get(), layer.v_proj.get(), layer.o_proj.get(),
                            layer.gate_proj.get(), layer.up_proj.get(), layer.down_proj.get()}) {
      bytes += p->weight_bytes();
    }
  }
  return bytes;
}

KvCache LlamaModel::make_cache(int64_t batch, int64_t capacity) const {
  KvCache cache;
  cache.capacity = capacity;
  const auto options = at::TensorOptions().device(device_).dtype(dtype_);
  for (int64_t i = 0; i < config_.n_layer; ++i) {
    cache.keys.push_back(at::empty({batch, config_.n_head_kv, capacity, config_.head_dim}, options));
    cache.values.push_back(at::empty({batch, config_.n_head_kv, capacity, config_.head_dim}, options));
  }
  return cache;
}

at::Tensor decoder_layer_forward(const LlamaConfig& c, const LlamaLayer& layer, const at::Tensor& h,
                                 const RopeTables& rope, KvCache* cache, int64_t layer_index, int64_t past) {
  const int64_t batch = h.size(0);
  const int64_t steps = h.size(1);
  const at::Tensor x = rms_norm(h, layer.attn_norm, c.rms_norm_eps);
  at::Tensor q = layer.q_proj->forward(x).view({batch, steps, c.n_head, c.head_dim}).transpose(1, 2);
  at::Tensor k = layer.k_proj->forward(x).view({batch, steps, c.n_head_kv, c.head_dim}).transpose(1, 2);
  at::Tensor v = layer.v_proj->forward(x).view({batch, steps, c.n_head_kv, c.head_dim}).transpose(1, 2);
  q = apply_rotary(q, rope.cos, rope.sin);
  k = apply_rotary(k, rope.cos, rope.sin);
  if (cache != nullptr) {
    const auto index = static_cast<size_t>(layer_index);
    cache->keys[index].narrow(2, past, steps).copy_(k);
    cache->values[index].narrow(2, past, steps).copy_(v);
    k = cache->keys[index].narrow(2, 0, past + steps);
    v = cache->values[index].narrow(2, 0, past + steps);
  }
  const int64_t total = past + steps;
  std::optional<at::Tensor> mask;
  bool is_causal = false;
  const bool windowed = c.sliding_window.has_value() && total > *c.sliding_window;
  if (windowed || (past > 0 && steps > 1)) {
    // Query i sits at position past + i and may see keys at positions ≤ past + i (and, with a sliding window,
    // > past + i − window).
    const auto long_options = at::TensorOptions().device(h.device()).dtype(at::kLong);
    const at::Tensor query_pos = at::arange(past, total, long_options).unsqueeze(1);
    const at::Tensor key_pos = at::arange(0, total, long_options).unsqueeze(0);
    at::Tensor allowed = key_pos <= query_pos;
    if (windowed) allowed = at::logical_and(allowed, key_pos > query_pos - *c.sliding_window);
    mask = allowed;
  } else if (steps > 1) {
    is_causal = true;
  }
  const at::Tensor attended = at::scaled_dot_product_attention(q, k, v, mask, 0.0, is_causal, std::nullopt,
                                                               /*enable_gqa=*/c.n_head != c.n_head_kv);
  const at::Tensor h_attn =
      h + layer.o_proj->forward(attended.transpose(1, 2).reshape({batch, steps, c.n_head * c.head_dim}));
  const at::Tensor y = rms_norm(h_attn, layer.ffn_norm, c.rms_norm_eps);
  return h_attn + layer.down_proj->forward(at::silu(layer.gate_proj->forward(y)) * layer.up_proj->forward(y));
}

at::Tensor LlamaModel::forward(const at::Tensor& input_ids, KvCache* cache) const {
  return logits(final_hidden_state(input_ids, cache));
}

at::Tensor LlamaModel::logits(const at::Tensor& final_hidden_state) const { return at::linear(final_hidden_state, lm_head_); }

at::Tensor LlamaModel::final_hidden_state(const at::Tensor& input_ids, KvCache* cache) const {
  if (input_ids.dim() != 2) {
    throw InternalError("forward expects input_ids of shape [batch, T], got " + format_shape(shape_of(input_ids)));
  }
  const int64_t steps = input_ids.size(1);
  const int64_t past = cache != nullptr ? cache->length : 0;
  if (cache != nullptr && past + steps > cache->capacity) {
    throw ResourceError("the context is full: " + std::to_string(past + steps) + " tokens exceed the cache of " +
                        std::to_string(cache->capacity) + "; start a new conversation or raise the context length");
  }
  at::Tensor h = at::embedding(embed_tokens_, input_ids.to(device_, at::kLong));
  const RopeTables rope = rope_tables(inv_freq_, past, steps, dtype_);
  const bool checkpointed = gradient_checkpointing_ && cache == nullptr && at::GradMode::is_enabled();
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = checkpointed ? checkpointed_decoder_layer_forward(config_, layers_[i], h, rope)
                     : decoder_layer_forward(config_, layers_[i], h, rope, cache, static_cast<int64_t>(i), past);
  }
  if (cache != nullptr) cache->length = past + steps;
  return rms_norm(h, final_norm_, config_.rms_norm_eps);
}

}  // namespace lowbit::model
