#include "core/eval/perplexity.h"

#include <c10/core/InferenceMode.h>

#include <cmath>

#include "core/jobs/eta.h"
#include "core/util/errors.h"

namespace lowbit::eval {
namespace {

struct Window {
  int64_t begin = 0;
  int64_t length = 0;
  int64_t first_scored = 1;  // index inside the window of the first label that counts (≥ 1)
};

std::vector<Window> plan_windows(int64_t n_tokens, const PerplexityParams& p) {
  std::vector<Window> windows;
  if (p.protocol == PerplexityProtocol::Gptq) {
    for (int64_t i = 0; (i + 1) * p.seqlen <= n_tokens; ++i) windows.push_back({i * p.seqlen, p.seqlen, 1});
  } else {
    // The sliding window of transformers' "perplexity of fixed-length models", as the paper's eval.py uses it.
    int64_t previous_end = 0;
    for (int64_t begin = 0; begin < n_tokens; begin += p.stride) {
      const int64_t end = std::min(begin + p.seqlen, n_tokens);
      const int64_t target_length = end - previous_end;
      const int64_t length = end - begin;
      windows.push_back({begin, length, std::max<int64_t>(1, length - target_length)});
      previous_end = end;
      if (end == n_tokens) break;
    }
  }
  if (p.max_windows > 0 && static_cast<int64_t>(windows.size()) > p.max_windows) windows.resize(p.max_windows);
  return windows;
}

}  // namespace

std::string to_string(PerplexityProtocol protocol) { return protocol == PerplexityProtocol::Gptq ? "gptq" : "int21"; }

PerplexityProtocol parse_protocol(const std::string& name) {
  if (name == "gptq") return PerplexityProtocol::Gptq;
  if (name == "int21") return PerplexityProtocol::Int21;
  throw InputError("", "unknown perplexity protocol '" + name + "'",
                   "use gptq (the literature's) or int21 (the INT2.1 paper's eval.py)");
}

std::vector<int64_t> perplexity_tokens(const data::TextCorpus& corpus, const tokenizer::Tokenizer& tokenizer,
                                       PerplexityProtocol protocol) {
  std::string text;
  if (protocol == PerplexityProtocol::Gptq) {
    text = data::join_documents(corpus, "\n\n");
  } else {
    const std::vector<std::string> rows = data::corpus_rows(corpus);
    for (size_t i = 0; i < rows.size(); ++i) text += (i ? "\\n\\n" : "") + rows[i];
  }
  return tokenizer.encode(text, /*add_bos=*/true);
}

PerplexityResult evaluate_perplexity(const model::LlamaModel& model, std::vector<int64_t> tokens,
                                     const PerplexityParams& params, jobs::JobEvents& events,
                                     const jobs::CancelToken& cancel) {
  if (params.seqlen < 2) throw InputError("", "seqlen must be at least 2", "");
  if (params.protocol == PerplexityProtocol::Int21 && (params.stride < 1 || params.stride > params.seqlen)) {
    throw InputError("", "stride must be between 1 and seqlen", "the paper uses seqlen 2048, stride 512");
  }
  if (params.batch_size < 1) throw InputError("", "batch size must be at least 1", "");
  if (params.max_tokens > 0 && static_cast<int64_t>(tokens.size()) > params.max_tokens) tokens.resize(params.max_tokens);
  PerplexityResult result;
  result.params = params;
  result.n_tokens = static_cast<int64_t>(tokens.size());
  const std::vector<Window> windows = plan_windows(result.n_tokens, params);
  if (windows.empty()) {
    throw InputError("", "the text has " + std::to_string(result.n_tokens) + " tokens, fewer than one window of " +
                             std::to_string(params.seqlen),
                     "use a longer text or a smaller --seqlen");
  }
  c10::InferenceMode inference;
  const at::Tensor all_tokens = at::tensor(tokens, at::kLong);
  jobs::EtaClock clock;
  const auto total = static_cast<int64_t>(windows.size());
  double sum_loss = 0;
  double sum_ppl = 0;
  events.progress({"windows", 0, total, -1});
  for (int64_t first = 0; first < total;) {
    cancel.throw_if_cancelled();
    // A batch holds consecutive windows of equal length (all of them for gptq; int21's last may be shorter).
    int64_t last = first;
    while (last + 1 < total && last + 1 - first < params.batch_size &&
           windows[last + 1].length == windows[first].length) {
      ++last;
    }
    std::vector<at::Tensor> rows;
    for (int64_t w = first; w <= last; ++w) rows.push_back(all_tokens.narrow(0, windows[w].begin, windows[w].length));
    const at::Tensor batch = at::stack(rows);
    const at::Tensor logits = model.forward(batch).to(at::kFloat);
    const at::Tensor log_probs = logits.narrow(1, 0, batch.size(1) - 1).log_softmax(-1);
    const at::Tensor targets = batch.narrow(1, 1, batch.size(1) - 1).to(log_probs.device());
    const at::Tensor nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1).to(at::kDouble).cpu();
    for (int64_t w = first; w <= last; ++w) {
      const Window& window = windows[w];
      // Label j (j ≥ 1) is predicted at position j − 1, i.e. by nll column j − 1.
      const int64_t scored = window.length - window.first_scored;
      const double loss = nll[w - first].narrow(0, window.first_scored - 1, scored).mean().item<double>();
      result.window_losses.push_back(loss);
      result.n_scored += scored;
      sum_loss += loss;
      sum_ppl += std::exp(loss);
    }
    first = last + 1;
    const double running = params.protocol == PerplexityProtocol::Gptq ? std::exp(sum_loss / first) : sum_ppl / first;
    events.metric({"eval/ppl", first, running});
    events.progress({"windows", first, total, clock.seconds_left(first, total)});
  }
  result.n_windows = total;
  result.mean_nll = sum_loss / static_cast<double>(total);
  result.ppl = params.protocol == PerplexityProtocol::Gptq ? std::exp(result.mean_nll)
                                                           : sum_ppl / static_cast<double>(total);
  return result;
}

void PerplexityJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const data::TextCorpus corpus = data::load_text_corpus(text_path_);
  std::vector<int64_t> tokens;
  try {
    tokens = perplexity_tokens(corpus, *tokenizer_, params_.protocol);
  } catch (const InputError& e) {
    throw InputError(text_path_.string(), e.problem(), e.remedy());
  }
  events.log({jobs::LogLevel::Info, text_path_.filename().string() + ": " + std::to_string(tokens.size()) +
                                         " tokens, protocol " + to_string(params_.protocol)});
  result_ = evaluate_perplexity(*model_, std::move(tokens), params_, events, cancel);
}

}  // namespace lowbit::eval
