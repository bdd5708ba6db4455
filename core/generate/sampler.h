// Picks the next token from logits: repetition penalty, then greedy argmax or temperature → top-k → top-p →
// a draw from a seeded generator — the order and semantics of transformers' logits processors and warpers.
//
//   Sampler sampler(settings, seed);
//   int64_t next = sampler.next(logits_of_last_position, ids_so_far);
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace lowbit::generate {

struct SamplingSettings {
  bool greedy = false;
  double temperature = 0.8;        // > 0
  int64_t top_k = 40;              // 0 disables
  double top_p = 0.95;             // 1 disables
  double repetition_penalty = 1.0; // 1 disables; > 1 discourages tokens already in the context
};

// Throws InputError naming the setting when a value is outside its range.
void validate(const SamplingSettings& settings);

class Sampler {
 public:
  Sampler(const SamplingSettings& settings, uint64_t seed);
  // logits: [vocab], any dtype or device. context: every id so far (prompt and generated), for the penalty.
  int64_t next(const at::Tensor& logits, const std::vector<int64_t>& context);

 private:
  SamplingSettings settings_;
  at::Generator generator_;
};

}  // namespace lowbit::generate
