// Perplexity of a model on a text, under one of two named protocols (every report names the one used):
//
//  gptq  — the literature's protocol (GPTQ, OmniQuant, ...): documents joined with "\n\n", BOS once, cut into
//          non-overlapping windows of `seqlen` tokens (the remainder dropped); each window's loss is the mean
//          cross-entropy of its seqlen − 1 next-token predictions; PPL = exp(mean of the window losses).
//  int21 — the INT2.1 paper's eval.py: rows (lines, or JSONL documents) joined with the literal two-character
//          sequence backslash-n twice ("\\n\\n"), BOS once, a sliding window of `seqlen` tokens moved by
//          `stride`, scoring only the tokens not scored by the previous window; PPL = mean over windows of
//          exp(window loss). This is the protocol behind the paper's Table 2 and is not comparable with gptq.
//
//   PerplexityJob job(model, tokenizer, "wiki.test.raw", {PerplexityProtocol::Gptq, 2048});
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/data/text_corpus.h"
#include "core/jobs/job.h"
#include "core/model/llama_model.h"
#include "core/tokenizer/tokenizer.h"

namespace lowbit::eval {

enum class PerplexityProtocol { Gptq, Int21 };

std::string to_string(PerplexityProtocol protocol);
PerplexityProtocol parse_protocol(const std::string& name);  // "gptq" | "int21", InputError otherwise

struct PerplexityParams {
  PerplexityProtocol protocol = PerplexityProtocol::Gptq;
  int64_t seqlen = 2048;
  int64_t stride = 512;      // int21 only
  int64_t batch_size = 1;    // windows per forward pass
  int64_t max_windows = 0;   // 0: all windows
  int64_t max_tokens = 0;    // 0: the whole text (int21 truncates the token stream first)
};

struct PerplexityResult {
  PerplexityParams params;
  int64_t n_tokens = 0;       // tokens in the (possibly truncated) stream, BOS included
  int64_t n_windows = 0;
  int64_t n_scored = 0;       // next-token predictions that entered the result
  double mean_nll = 0;        // mean over windows of the window loss, nats/token
  double ppl = 0;
  std::vector<double> window_losses;
};

// The token stream the protocol evaluates: BOS + the encoded, protocol-joined text.
std::vector<int64_t> perplexity_tokens(const data::TextCorpus& corpus, const tokenizer::Tokenizer& tokenizer,
                                       PerplexityProtocol protocol);

PerplexityResult evaluate_perplexity(const model::LlamaModel& model, std::vector<int64_t> tokens,
                                     const PerplexityParams& params, jobs::JobEvents& events,
                                     const jobs::CancelToken& cancel);

class PerplexityJob : public jobs::Job {
 public:
  PerplexityJob(std::shared_ptr<const model::LlamaModel> model, std::shared_ptr<const tokenizer::Tokenizer> tokenizer,
                std::filesystem::path text_path, PerplexityParams params)
      : model_(std::move(model)), tokenizer_(std::move(tokenizer)), text_path_(std::move(text_path)), params_(params) {}

  std::string title() const override { return "Perplexity"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const PerplexityResult& result() const { return result_; }

 private:
  std::shared_ptr<const model::LlamaModel> model_;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
  std::filesystem::path text_path_;
  PerplexityParams params_;
  PerplexityResult result_;
};

}  // namespace lowbit::eval
