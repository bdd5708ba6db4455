#include "core/train/memory_estimate.h"

#include "core/model/model_summary.h"
#include "core/util/format.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace lowbit::train {

std::map<std::string, ProjectionShape> projection_shapes(const model::LlamaConfig& c, bool quantized) {
  const int64_t attention = c.n_head * c.head_dim, kv = c.n_head_kv * c.head_dim;
  const int64_t mlp = quantized ? (c.intermediate_size + 31) / 32 * 32 : c.intermediate_size;
  return {{"q_proj", {c.hidden_size, attention}}, {"k_proj", {c.hidden_size, kv}}, {"v_proj", {c.hidden_size, kv}},
          {"o_proj", {attention, c.hidden_size}}, {"gate_proj", {c.hidden_size, mlp}},
          {"up_proj", {c.hidden_size, mlp}},       {"down_proj", {mlp, c.hidden_size}}};
}

namespace {

// Bytes of one projection as QuantLinear / DenseLinear hold it (qweight, qzeros, scales in fp16, g_idx).
int64_t projection_bytes(const ProjectionShape& p, const std::optional<quant::QuantConfig>& q, int64_t dense_bytes) {
  if (!q) return p.in * p.out * dense_bytes;
  const int64_t groups = (p.in + q->columns_per_group(p.in) - 1) / q->columns_per_group(p.in);  // last may be narrower
  const int64_t qweight = (p.in * q->bits + 31) / 32 * 4 * p.out;
  const int64_t qzeros = groups * ((p.out * q->bits + 31) / 32) * 4;
  // Act-order layers also keep the input order and its inverse (int64 each) to permute x at run time.
  const int64_t input_orders = q->desc_act && !q->static_groups ? 2 * p.in * 8 : 0;
  return qweight + qzeros + groups * p.out * 2 + p.in * 4 + input_orders;
}

}  // namespace

std::string MemoryEstimate::describe() const {
  return format_bytes(total()) + " (weights " + format_bytes(weights) + ", adapter and optimizer " + format_bytes(adapter) +
         ", activations " + format_bytes(activations) + ", logits " + format_bytes(logits) + ", teacher " +
         format_bytes(teacher) + ", dequantized weight " + format_bytes(transient) + ")";
}

MemoryEstimate estimate_training_memory(const model::LlamaConfig& c, const std::optional<quant::QuantConfig>& quant,
                                        const TrainingShape& s) {
  MemoryEstimate e;
  const int64_t d = s.compute_bytes;
  const auto shapes = projection_shapes(c, quant.has_value());
  const int64_t embeddings = c.vocab_size * c.hidden_size * d * (c.tie_word_embeddings ? 1 : 2);
  const int64_t norms = (2 * c.n_layer + 1) * c.hidden_size * d;
  int64_t layer_weights = 0, dense_layer_weights = 0, largest_projection = 0;
  for (const auto& [name, shape] : shapes) {
    layer_weights += projection_bytes(shape, quant, d);
    dense_layer_weights += shape.in * shape.out * d;
    if (quant) largest_projection = std::max(largest_projection, shape.in * shape.out * d);
  }
  e.weights = c.n_layer * layer_weights + embeddings + norms + s.frozen_adapter_bytes;
  e.transient = largest_projection;

  const int64_t tokens = s.micro_batch * s.seqlen;
  int64_t lora_input_floats = 0;  // fp32 copies of adapter inputs (and dropout masks) kept for the backward pass
  for (const std::string& target : s.target_modules) {
    const auto found = shapes.find(target);
    if (found == shapes.end()) continue;
    e.adapter_parameters += c.n_layer * s.lora_rank * (found->second.in + found->second.out);
    lora_input_floats += found->second.in * (s.lora_dropout > 0 ? 2 : 1) + s.lora_rank;
  }
  e.adapter = 16 * e.adapter_parameters;

  const int64_t attention = c.n_head * c.head_dim, kv = c.n_head_kv * c.head_dim;
  const int64_t mlp = shapes.at("gate_proj").out;
  // One layer's saved intermediates: the two norm outputs, q/k/v before and after rotary, the attention output
  // and its log-sum-exp, the MLP's gate, up, silu(gate) and product, plus the adapters' fp32 inputs.
  const int64_t per_layer = tokens * (d * (2 * c.hidden_size + 2 * (attention + 2 * kv) + attention + 4 * mlp) +
                                      4 * lora_input_floats) +
                            s.micro_batch * c.n_head * s.seqlen * 4;
  const int64_t layer_input = tokens * c.hidden_size * d;
  e.activations = s.gradient_checkpointing ? c.n_layer * layer_input + per_layer : c.n_layer * (layer_input + per_layer);
  // Student logits (d), their fp32 copy, log-softmax and its gradient, and the shifted copy cross-entropy takes.
  e.logits = tokens * c.vocab_size * (d + 16);
  if (s.teacher_hidden_state) {
    // Its hidden states (d) and their fp32 copy for the MSE; online, also the teacher's weights.
    e.teacher = tokens * c.hidden_size * (d + 4) +
                (s.teacher_top_k == 0 ? c.n_layer * dense_layer_weights + embeddings + norms : 0);
  } else if (s.teacher_top_k == 0) {
    e.teacher = c.n_layer * dense_layer_weights + embeddings + norms + tokens * c.vocab_size * (d + 8);
  } else if (s.teacher_top_k > 0) {
    e.teacher = tokens * (std::min<int64_t>(s.teacher_top_k, c.vocab_size) * 12 + 4);
  }
  return e;
}

constexpr int64_t kCudaContextBytes = 512LL << 20;

const char* fit_name(Fit fit) {
  switch (fit) {
    case Fit::Fits: return "fits";
    case Fit::Tight: return "tight";
    case Fit::Exceeds: return "exceeds";
    case Fit::NoGpu: return "no GPU";
  }
  return "";
}

Fit judge_fit(int64_t needed_bytes, int64_t free_bytes) {
  if (free_bytes <= 0) return Fit::NoGpu;
  const int64_t with_context = needed_bytes + kCudaContextBytes;
  if (with_context <= free_bytes * 85 / 100) return Fit::Fits;
  if (with_context <= free_bytes) return Fit::Tight;
  return Fit::Exceeds;
}

}  // namespace lowbit::train
