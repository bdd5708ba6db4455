#include "core/generate/chat.h"

#include "core/model/model_summary.h"

#include <random>

#include "core/lora/peft_adapter.h"
#include "core/util/errors.h"

namespace lowbit::generate {
namespace {

std::string trim_end(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

ChatSession::ChatSession(std::shared_ptr<const model::LlamaModel> model,
                         std::shared_ptr<const tokenizer::Tokenizer> tokenizer, ChatSettings settings)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), settings_(std::move(settings)) {
  next_seed_ = settings_.seed.has_value() ? *settings_.seed : std::random_device{}();
}

std::string ChatSession::prompt_for(const std::string& message, size_t first_turn) const {
  std::string prompt;
  if (settings_.keep_history) {
    for (size_t i = first_turn; i < turns_.size(); ++i) {
      prompt += data::render_prompt(settings_.prompt_template, turns_[i].first) + turns_[i].second + "\n\n";
    }
  }
  return prompt + data::render_prompt(settings_.prompt_template, message);
}

ChatReply ChatSession::send(const std::string& message, jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  if (trim_end(message).empty()) throw InputError("", "the message is empty", "type a message");
  ChatReply reply;
  const int64_t context = model_->config().max_position_embeddings;
  // Keep as many recent turns as leave room for the answer.
  size_t first_turn = settings_.keep_history ? 0 : turns_.size();
  std::string prompt = prompt_for(message, first_turn);
  while (first_turn < turns_.size() &&
         static_cast<int64_t>(tokenizer_->encode(prompt, true).size()) + settings_.max_new_tokens > context) {
    prompt = prompt_for(message, ++first_turn);
  }
  reply.dropped_turns = settings_.keep_history ? static_cast<int64_t>(first_turn) : 0;

  GenerateParams params;
  params.prompt = prompt;
  params.max_new_tokens = settings_.max_new_tokens;
  params.sampling = settings_.sampling;
  params.seed = next_seed_++;
  if (settings_.prompt_template == data::PromptTemplate::Alpaca) params.stop_strings = {"### Instruction:", "### Response:"};
  GenerateResult result;
  try {
    result = generate_text(*model_, *tokenizer_, params, events, cancel);
  } catch (const Cancelled&) {
    reply.cancelled = true;  // what streamed so far stays on screen; the turn is not kept
    return reply;
  }
  reply.text = trim_end(result.text);
  reply.prompt_tokens = static_cast<int64_t>(result.prompt_ids.size());
  reply.new_tokens = static_cast<int64_t>(result.generated_ids.size());
  reply.tokens_per_s = result.prefill_s + result.decode_s > 0
                           ? static_cast<double>(reply.new_tokens) / (result.prefill_s + result.decode_s) : 0;
  turns_.emplace_back(message, reply.text);
  return reply;
}

void ChatLoadJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  events.log({jobs::LogLevel::Info, "loading " + model_dir_});
  auto model = model::LlamaModel::load(model_dir_, {model::resolve_device(device_name_), std::nullopt});
  for (const std::string& adapter : adapters_) {
    cancel.throw_if_cancelled();
    lora::load_adapter(*model, adapter, /*trainable=*/false);
  }
  auto tokenizer = std::make_shared<const tokenizer::Tokenizer>(tokenizer::Tokenizer::load(model_dir_, model->config()));
  session_ = std::make_shared<ChatSession>(std::shared_ptr<const model::LlamaModel>(std::move(model)), tokenizer, settings_);
  events.artifact({"model", model_dir_});
}

}  // namespace lowbit::generate
