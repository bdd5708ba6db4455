#include "core/generate/chat.h"

#include "core/model/model_summary.h"

#include <random>

#include "core/lora/peft_adapter.h"
#include "core/system/device.h"
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
    : model_(std::move(model)), base_tokenizer_(std::move(tokenizer)), settings_(std::move(settings)) {
  next_seed_ = settings_.seed.has_value() ? *settings_.seed : std::random_device{}();
  choose_format();
}

void ChatSession::choose_format() {
  format_notice_.clear();
  format_ = data::PromptFormat::for_model(model_->folder(), settings_.prompt_template, &format_notice_);
  auto stopping = std::make_shared<tokenizer::Tokenizer>(*base_tokenizer_);
  format_.add_stop_tokens(*stopping);
  tokenizer_ = std::move(stopping);
}

void ChatSession::set_settings(const ChatSettings& settings) {
  const bool new_format = settings.prompt_template != settings_.prompt_template;
  settings_ = settings;
  if (new_format) {
    choose_format();
    turns_.clear();  // earlier turns were written for the other template
  }
}

std::string ChatSession::prompt_for(const std::string& message, size_t first_turn) const {
  data::ChatTurns kept;
  if (settings_.keep_history && first_turn < turns_.size()) kept.assign(turns_.begin() + static_cast<std::ptrdiff_t>(first_turn), turns_.end());
  return format_.conversation_prompt(kept, message, settings_.system_prompt);
}

ChatReply ChatSession::send(const std::string& message, jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  if (trim_end(message).empty()) throw InputError("", "the message is empty", "type a message");
  ChatReply reply;
  const int64_t context = model_->config().max_position_embeddings;
  // Keep as many recent turns as leave room for the answer.
  size_t first_turn = settings_.keep_history ? 0 : turns_.size();
  std::string prompt = prompt_for(message, first_turn);
  while (first_turn < turns_.size() &&
         static_cast<int64_t>(tokenizer_->encode(prompt, format_.add_special_tokens()).size()) +
                 settings_.max_new_tokens > context) {
    prompt = prompt_for(message, ++first_turn);
  }
  reply.dropped_turns = settings_.keep_history ? static_cast<int64_t>(first_turn) : 0;

  GenerateParams params;
  params.prompt = prompt;
  params.add_bos = format_.add_special_tokens();
  params.max_new_tokens = settings_.max_new_tokens;
  params.sampling = settings_.sampling;
  params.seed = next_seed_++;
  params.stop_strings = format_.stop_strings();
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
  auto model = model::LlamaModel::load(model_dir_, {system::resolve_device(device_name_), std::nullopt});
  for (const std::string& adapter : adapters_) {
    cancel.throw_if_cancelled();
    lora::load_adapter(*model, adapter, /*trainable=*/false);
  }
  auto tokenizer = std::make_shared<const tokenizer::Tokenizer>(tokenizer::Tokenizer::load(model_dir_, model->config()));
  session_ = std::make_shared<ChatSession>(std::shared_ptr<const model::LlamaModel>(std::move(model)), tokenizer, settings_);
  if (!session_->format_notice().empty()) events.log({jobs::LogLevel::Warning, session_->format_notice()});
  events.log({jobs::LogLevel::Info, "prompt template: " + session_->format().describe()});
  events.artifact({"model", model_dir_});
}

}  // namespace lowbit::generate
