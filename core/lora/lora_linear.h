// LoRA (Hu et al.): y = base(x) + (α/r) · B·A·dropout(x), with A [r, in] and B [out, r] in float32 over fp16/bf16
// (or fp32) activations, as PEFT's LoRA Linear computes it. The base is any Linear — dense, GPTQ-packed, or
// another LoraLinear — so adapters stack: frozen ones underneath, a trainable one on top.
//
//   layer.q_proj = std::make_unique<LoraLinear>(std::move(layer.q_proj), LoraShape{8, 16.0, 0.05}, true, gen);
#pragma once

#include <ATen/ATen.h>

#include <memory>

#include "core/lora/lora_shape.h"
#include "core/model/linear.h"

namespace lowbit::lora {

class LoraLinear : public model::Linear {
 public:
  // New adapter: A Kaiming-uniform (a = √5, PEFT's init: U(−1/√in, 1/√in)), B zeros; drawn from `generator`.
  LoraLinear(std::unique_ptr<model::Linear> base, const LoraShape& shape, bool trainable, at::Generator generator,
             at::Device device);
  // Loaded adapter: lora_a [r, in], lora_b [out, r].
  LoraLinear(std::unique_ptr<model::Linear> base, const LoraShape& shape, at::Tensor lora_a, at::Tensor lora_b,
             bool trainable, at::Device device);

  at::Tensor forward(const at::Tensor& x) const override;
  int64_t in_features() const override { return base_->in_features(); }
  int64_t out_features() const override { return base_->out_features(); }
  int64_t weight_bytes() const override;
  std::string describe() const override;
  void append_trainable_parameters(std::vector<at::Tensor>& parameters) const override;

  const at::Tensor& lora_a() const { return lora_a_; }
  const at::Tensor& lora_b() const { return lora_b_; }
  at::Tensor& lora_a() { return lora_a_; }
  at::Tensor& lora_b() { return lora_b_; }
  const LoraShape& shape() const { return shape_; }
  const model::Linear& base() const { return *base_; }
  // Dropout is active only while training.
  void set_training(bool training) { training_ = training; }

 private:
  std::unique_ptr<model::Linear> base_;
  LoraShape shape_;
  at::Tensor lora_a_, lora_b_;
  bool training_ = false;
};

}  // namespace lowbit::lora
