#include "core/generate/bench.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>

#include "core/util/errors.h"

namespace lowbit::generate {
namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

std::vector<int64_t> bench_prompt_ids(int64_t count, int64_t vocab_size, int64_t bos_id) {
  std::vector<int64_t> ids = {bos_id};
  for (int64_t i = 1; i < count; ++i) ids.push_back((37 * i + 11) % (vocab_size - 3) + 3);
  return ids;
}

GenerationBenchResult bench_generation(const model::LlamaModel& model, int64_t prompt_tokens, int64_t new_tokens,
                                       int64_t repeats, const jobs::CancelToken& cancel) {
  if (prompt_tokens < 1 || new_tokens < 1 || repeats < 1) throw InputError("", "bench sizes must be positive", "");
  if (prompt_tokens + new_tokens > model.config().max_position_embeddings) {
    throw InputError("", "prompt + new tokens exceed the model's context of " +
                             std::to_string(model.config().max_position_embeddings), "use fewer tokens");
  }
  c10::InferenceMode inference;
  const at::Tensor prompt =
      at::tensor(bench_prompt_ids(prompt_tokens, model.config().vocab_size, model.config().bos_token_id), at::kLong)
          .unsqueeze(0);
  using Clock = std::chrono::steady_clock;
  std::vector<double> prefill_times, decode_times;
  for (int64_t run = 0; run <= repeats; ++run) {  // run 0 warms up and is not counted
    cancel.throw_if_cancelled();
    model::KvCache cache = model.make_cache(1, prompt_tokens + new_tokens);
    const auto start = Clock::now();
    int64_t next = model.forward(prompt, &cache)[0][-1].argmax().item<int64_t>();
    const auto prefilled = Clock::now();
    for (int64_t step = 0; step < new_tokens; ++step) {
      const at::Tensor input = at::full({1, 1}, next, at::kLong);
      next = model.forward(input, &cache)[0][-1].argmax().item<int64_t>();
    }
    const auto decoded = Clock::now();
    if (run == 0) continue;
    prefill_times.push_back(std::chrono::duration<double>(prefilled - start).count());
    decode_times.push_back(std::chrono::duration<double>(decoded - prefilled).count());
  }
  return {prompt_tokens, new_tokens, repeats, median(prefill_times), median(decode_times)};
}

}  // namespace lowbit::generate
