// A projection y = x·Wᵀ as the decoder sees it. The model holds its seven projections per layer through this
// interface so that a dense weight, a bit-packed GPTQ weight and LoRA adapters stacked on either are
// interchangeable without the decoder knowing which it has.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

namespace lowbit::model {

class Linear {
 public:
  virtual ~Linear() = default;
  // x: [..., in_features] → [..., out_features], in x's dtype.
  virtual at::Tensor forward(const at::Tensor& x) const = 0;
  virtual int64_t in_features() const = 0;
  virtual int64_t out_features() const = 0;
  // Bytes of weight storage (for size and memory reports).
  virtual int64_t weight_bytes() const = 0;
  virtual std::string describe() const = 0;
  // Appends the tensors of this projection that training updates (trainable LoRA A/B); frozen weights are not.
  virtual void append_trainable_parameters(std::vector<at::Tensor>& parameters) const { (void)parameters; }
};

class DenseLinear : public Linear {
 public:
  // weight: [out_features, in_features], as torch.nn.Linear stores it; bias: [out_features] or undefined.
  explicit DenseLinear(at::Tensor weight, at::Tensor bias = {}) : weight_(std::move(weight)), bias_(std::move(bias)) {}
  at::Tensor forward(const at::Tensor& x) const override {
    return bias_.defined() ? at::linear(x, weight_, bias_) : at::linear(x, weight_);
  }
  int64_t in_features() const override { return weight_.size(1); }
  int64_t out_features() const override { return weight_.size(0); }
  int64_t weight_bytes() const override {
    return static_cast<int64_t>(weight_.nbytes() + (bias_.defined() ? bias_.nbytes() : 0));
  }
  std::string describe() const override { return "dense " + std::string(c10::toString(weight_.scalar_type())); }
  const at::Tensor& weight() const { return weight_; }
  const at::Tensor& bias() const { return bias_; }

 private:
  at::Tensor weight_;
  at::Tensor bias_;
};

}  // namespace lowbit::model
