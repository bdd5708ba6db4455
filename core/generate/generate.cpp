#include "core/generate/generate.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "core/util/errors.h"

namespace lowbit::generate {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// An incomplete UTF-8 sequence (a byte-fallback or byte-level token that splits a character) decodes as U+FFFD;
// hold such a tail back until the following tokens complete the character.
bool ends_with_replacement_character(const std::string& text) {
  return text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

// Length of the longest proper prefix of a stop string that `text` ends with: text that may still turn into a
// stop string is held back from the stream.
size_t partial_stop_length(const std::string& text, const std::vector<std::string>& stops) {
  size_t longest = 0;
  for (const std::string& stop : stops) {
    for (size_t k = std::min(stop.size() - 1, text.size()); k > longest; --k) {
      if (text.compare(text.size() - k, k, stop, 0, k) == 0) {
        longest = k;
        break;
      }
    }
  }
  return longest;
}

}  // namespace

GenerateResult generate_text(const model::LlamaModel& model, const tokenizer::Tokenizer& tokenizer,
                             const GenerateParams& params, jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  validate(params.sampling);
  if (params.max_new_tokens < 0) throw InputError("", "max new tokens must not be negative", "");
  c10::InferenceMode inference;
  GenerateResult result;
  result.seed = params.seed.has_value() ? *params.seed : std::random_device{}();
  result.prompt_ids = tokenizer.encode(params.prompt, params.add_bos);
  if (result.prompt_ids.empty()) throw InputError("", "the prompt is empty", "type a prompt");
  const int64_t context = model.config().max_position_embeddings;
  const auto prompt_length = static_cast<int64_t>(result.prompt_ids.size());
  if (prompt_length >= context) {
    throw InputError("", "the prompt has " + std::to_string(prompt_length) + " tokens; the model's context is " +
                             std::to_string(context), "shorten the prompt");
  }
  const int64_t new_tokens = std::min(params.max_new_tokens, context - prompt_length);
  Sampler sampler(params.sampling, result.seed);
  model::KvCache cache = model.make_cache(1, prompt_length + new_tokens);

  std::vector<int64_t> all_ids = result.prompt_ids;
  // Text is produced by decoding prompt + continuation and removing the decoded prompt, so that the first word
  // keeps its leading space (sentencepiece drops it when a sequence is decoded on its own).
  const bool starts_with_bos = params.add_bos && result.prompt_ids.front() == tokenizer.bos_id();
  const std::vector<int64_t> prompt_without_bos(result.prompt_ids.begin() + (starts_with_bos ? 1 : 0),
                                                result.prompt_ids.end());
  const std::string decoded_prompt = tokenizer.decode(prompt_without_bos);
  std::string emitted;

  const auto start = Clock::now();
  at::Tensor input = at::tensor(result.prompt_ids, at::kLong).unsqueeze(0);
  for (int64_t step = 0; step < new_tokens; ++step) {
    cancel.throw_if_cancelled();
    const at::Tensor logits = model.forward(input, &cache);
    const int64_t next = sampler.next(logits[0][-1], all_ids);
    if (step == 0) result.prefill_s = seconds_since(start);
    if (params.stop_at_eos && tokenizer.is_eos(next)) {
      result.stopped_at_eos = true;
      break;
    }
    all_ids.push_back(next);
    result.generated_ids.push_back(next);

    std::vector<int64_t> continuation = prompt_without_bos;
    continuation.insert(continuation.end(), result.generated_ids.begin(), result.generated_ids.end());
    const std::string decoded = tokenizer.decode(continuation);
    std::string text = decoded.compare(0, decoded_prompt.size(), decoded_prompt) == 0
                           ? decoded.substr(decoded_prompt.size())
                           : tokenizer.decode(result.generated_ids);
    size_t stop_at = std::string::npos;
    for (const std::string& stop : params.stop_strings) {
      if (!stop.empty()) stop_at = std::min(stop_at, text.find(stop));
    }
    if (stop_at != std::string::npos) {
      result.text = text.substr(0, stop_at);
      result.stopped_at_stop_string = true;
      break;
    }
    const std::string streamable = text.substr(0, text.size() - partial_stop_length(text, params.stop_strings));
    if (!ends_with_replacement_character(streamable) && streamable.size() > emitted.size() &&
        streamable.compare(0, emitted.size(), emitted) == 0) {
      events.token({streamable.substr(emitted.size())});
      emitted = streamable;
    }
    result.text = text;
    events.progress({"tokens", step + 1, new_tokens, -1});
    input = at::tensor(std::vector<int64_t>{next}, at::kLong).unsqueeze(0);
  }
  // A character the token limit cut in half is left out rather than shown as U+FFFD.
  while (!result.stopped_at_stop_string && ends_with_replacement_character(result.text)) {
    result.text.resize(result.text.size() - 3);
  }
  if (result.text.size() > emitted.size() && result.text.compare(0, emitted.size(), emitted) == 0) {
    events.token({result.text.substr(emitted.size())});
  }
  result.decode_s = seconds_since(start) - result.prefill_s;
  return result;
}

}  // namespace lowbit::generate
