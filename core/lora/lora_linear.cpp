#include "core/lora/lora_linear.h"

#include <cmath>

#include "core/util/errors.h"

namespace lowbit::lora {

LoraLinear::LoraLinear(std::unique_ptr<model::Linear> base, const LoraShape& shape, bool trainable,
                       at::Generator generator, at::Device device)
    : base_(std::move(base)), shape_(shape) {
  if (shape.rank < 1) throw InputError("", "LoRA rank must be at least 1", "the paper uses 32 for LREC, 8 for EMEF");
  const double bound = 1.0 / std::sqrt(static_cast<double>(base_->in_features()));
  lora_a_ = at::empty({shape.rank, base_->in_features()}, at::kFloat).uniform_(-bound, bound, generator).to(device);
  lora_b_ = at::zeros({base_->out_features(), shape.rank}, at::TensorOptions().device(device).dtype(at::kFloat));
  lora_a_.set_requires_grad(trainable);
  lora_b_.set_requires_grad(trainable);
}

LoraLinear::LoraLinear(std::unique_ptr<model::Linear> base, const LoraShape& shape, at::Tensor lora_a,
                       at::Tensor lora_b, bool trainable, at::Device device)
    : base_(std::move(base)), shape_(shape) {
  const std::vector<int64_t> a_shape = {shape.rank, base_->in_features()};
  const std::vector<int64_t> b_shape = {base_->out_features(), shape.rank};
  if (lora_a.sizes().vec() != a_shape || lora_b.sizes().vec() != b_shape) {
    throw InputError("", "adapter weights have shapes " + c10::str(lora_a.sizes()) + " and " + c10::str(lora_b.sizes()) +
                             ", expected " + c10::str(at::IntArrayRef(a_shape)) + " and " +
                             c10::str(at::IntArrayRef(b_shape)),
                     "the adapter was trained for a different model or rank");
  }
  lora_a_ = lora_a.to(device, at::kFloat).detach().clone().set_requires_grad(trainable);
  lora_b_ = lora_b.to(device, at::kFloat).detach().clone().set_requires_grad(trainable);
}

at::Tensor LoraLinear::forward(const at::Tensor& x) const {
  const at::Tensor y = base_->forward(x);
  at::Tensor h = x.to(at::kFloat);
  if (training_ && shape_.dropout > 0) h = at::dropout(h, shape_.dropout, /*train=*/true);
  const at::Tensor delta = at::linear(at::linear(h, lora_a_), lora_b_) * (shape_.alpha / static_cast<double>(shape_.rank));
  return y + delta.to(y.scalar_type());
}

int64_t LoraLinear::weight_bytes() const {
  return base_->weight_bytes() + static_cast<int64_t>(lora_a_.nbytes() + lora_b_.nbytes());
}

void LoraLinear::append_trainable_parameters(std::vector<at::Tensor>& parameters) const {
  base_->append_trainable_parameters(parameters);
  if (lora_a_.requires_grad()) {
    parameters.push_back(lora_a_);
    parameters.push_back(lora_b_);
  }
}

std::string LoraLinear::describe() const {
  return base_->describe() + " + LoRA r=" + std::to_string(shape_.rank);
}

}  // namespace lowbit::lora
