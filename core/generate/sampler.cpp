#include "core/generate/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>

#include "core/util/errors.h"

namespace lowbit::generate {

void validate(const SamplingSettings& s) {
  if (!s.greedy && !(s.temperature > 0)) {
    throw InputError("", "temperature must be greater than 0 (got " + std::to_string(s.temperature) + ")",
                     "use --greedy for deterministic output");
  }
  if (s.top_k < 0) throw InputError("", "top-k must be 0 (off) or positive", "");
  if (!(s.top_p > 0 && s.top_p <= 1)) throw InputError("", "top-p must be in (0, 1]", "");
  if (!(s.repetition_penalty > 0)) throw InputError("", "repetition penalty must be positive", "use 1.0 for none");
}

Sampler::Sampler(const SamplingSettings& settings, uint64_t seed)
    : settings_(settings), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  validate(settings_);
}

int64_t Sampler::next(const at::Tensor& logits_in, const std::vector<int64_t>& context) {
  at::Tensor logits = logits_in.detach().to(at::kCPU, at::kFloat).contiguous().clone();
  const int64_t vocab = logits.size(0);
  float* data = logits.data_ptr<float>();
  if (settings_.repetition_penalty != 1.0) {
    // transformers' RepetitionPenaltyLogitsProcessor: each id present once, whatever its count.
    std::vector<bool> seen(static_cast<size_t>(vocab), false);
    const auto penalty = static_cast<float>(settings_.repetition_penalty);
    for (const int64_t id : context) {
      if (id < 0 || id >= vocab || seen[static_cast<size_t>(id)]) continue;
      seen[static_cast<size_t>(id)] = true;
      data[id] = data[id] < 0 ? data[id] * penalty : data[id] / penalty;
    }
  }
  if (settings_.greedy) return logits.argmax().item<int64_t>();

  logits = logits / settings_.temperature;
  constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();
  if (settings_.top_k > 0 && settings_.top_k < vocab) {
    const at::Tensor kth = std::get<0>(logits.topk(settings_.top_k)).min();
    logits = at::where(logits < kth, at::full({}, kMinusInfinity), logits);
  }
  if (settings_.top_p < 1.0) {
    // Keep the smallest set of most likely tokens whose probability reaches top_p (at least one token).
    const auto [sorted, order] = logits.sort(/*dim=*/0, /*descending=*/true);
    const at::Tensor cumulative = sorted.softmax(0).cumsum(0);
    at::Tensor remove_sorted = (cumulative - sorted.softmax(0)) >= settings_.top_p;
    remove_sorted[0] = false;
    const at::Tensor remove = at::zeros_like(remove_sorted).scatter(0, order, remove_sorted);
    logits = at::where(remove, at::full({}, kMinusInfinity), logits);
  }
  const at::Tensor probabilities = logits.softmax(0);
  return at::multinomial(probabilities, 1, false, generator_).item<int64_t>();
}

}  // namespace lowbit::generate
