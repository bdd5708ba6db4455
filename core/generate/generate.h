// Text generation with a KV cache, streamed token by token through the jobs API and cancellable per token.
//
//   GenerateJob job(model, tokenizer, params);
//   job.run(events, cancel);        // events.token({" there"}) ... ; job.result().text
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/generate/sampler.h"
#include "core/jobs/job.h"
#include "core/model/llama_model.h"
#include "core/tokenizer/tokenizer.h"

namespace lowbit::generate {

struct GenerateParams {
  std::string prompt;
  bool add_bos = true;           // the tokenizer's special tokens (BOS); off for text a chat template rendered
  int64_t max_new_tokens = 256;
  SamplingSettings sampling;
  std::optional<uint64_t> seed;  // none: a random seed, reported in the result
  bool stop_at_eos = true;
  // Generation ends where one of these appears in the text (e.g. the template's next "### Instruction:"); the
  // text stops before it, and nothing of it is streamed.
  std::vector<std::string> stop_strings;
};

struct GenerateResult {
  std::vector<int64_t> prompt_ids;
  std::vector<int64_t> generated_ids;  // without the EOS that stopped generation
  std::string text;                    // the generated continuation only (a character cut by the limit left out)
  bool stopped_at_eos = false;
  bool stopped_at_stop_string = false;
  uint64_t seed = 0;
  double prefill_s = 0;                // prompt forward + first token
  double decode_s = 0;                 // the remaining tokens
};

GenerateResult generate_text(const model::LlamaModel& model, const tokenizer::Tokenizer& tokenizer,
                             const GenerateParams& params, jobs::JobEvents& events, const jobs::CancelToken& cancel);

class GenerateJob : public jobs::Job {
 public:
  GenerateJob(std::shared_ptr<const model::LlamaModel> model, std::shared_ptr<const tokenizer::Tokenizer> tokenizer,
              GenerateParams params)
      : model_(std::move(model)), tokenizer_(std::move(tokenizer)), params_(std::move(params)) {}

  std::string title() const override { return "Generate"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    result_ = generate_text(*model_, *tokenizer_, params_, events, cancel);
  }
  const GenerateResult& result() const { return result_; }

 private:
  std::shared_ptr<const model::LlamaModel> model_;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
  GenerateParams params_;
  GenerateResult result_;
};

}  // namespace lowbit::generate
