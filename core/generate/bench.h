// Generation speed as `lowbit bench generate` reports it: prefill (prompt forward + first token) and decode
// (one token per forward with the KV cache, greedy) in tokens per second, median over repeats after a warm-up.
// scripts/bench_generate_hf.py measures transformers with the same loop and the same token ids.
#pragma once

#include <cstdint>
#include <vector>

#include "core/jobs/job.h"
#include "core/model/llama_model.h"

namespace lowbit::generate {

struct GenerationBenchResult {
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;
  int64_t repeats = 0;
  double prefill_s = 0;  // median
  double decode_s = 0;   // median, all new tokens
  double prefill_tokens_per_s() const { return static_cast<double>(prompt_tokens) / prefill_s; }
  double decode_tokens_per_s() const { return static_cast<double>(new_tokens) / decode_s; }
};

// Deterministic prompt: BOS then ids (37·i + 11) mod (vocab − 3) + 3, the same formula as the Python script.
std::vector<int64_t> bench_prompt_ids(int64_t count, int64_t vocab_size, int64_t bos_id);

GenerationBenchResult bench_generation(const model::LlamaModel& model, int64_t prompt_tokens, int64_t new_tokens,
                                       int64_t repeats, const jobs::CancelToken& cancel);

}  // namespace lowbit::generate
