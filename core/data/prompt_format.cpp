#include "core/data/prompt_format.h"

#include <nlohmann/json.hpp>

#include "core/data/instruction_data.h"
#include "core/tokenizer/chat_template.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"

namespace lowbit::data {
namespace {

// Tokens chat templates end a turn with; a template's own are those it spells out or its eos_token.
const char* const kEndOfTurnTokens[] = {"<|im_end|>",   "<|eot_id|>",      "<|eom_id|>", "<|end|>",
                                        "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                                        "<｜end▁of▁sentence｜>"};

std::vector<tokenizer::ChatMessage> to_messages(const ChatTurns& turns, const std::string& message,
                                                const std::string& system) {
  std::vector<tokenizer::ChatMessage> messages;
  if (!system.empty()) messages.push_back({"system", system});
  for (const auto& [user, assistant] : turns) {
    messages.push_back({"user", user});
    messages.push_back({"assistant", assistant});
  }
  messages.push_back({"user", message});
  return messages;
}

}  // namespace

PromptTemplate parse_prompt_template(const std::string& name) {
  if (name == "alpaca") return PromptTemplate::Alpaca;
  if (name == "none") return PromptTemplate::None;
  if (name == "model") return PromptTemplate::Model;
  throw InputError("", "unknown template '" + name + "'", "use model, alpaca or none");
}

std::string prompt_template_name(PromptTemplate prompt_template) {
  switch (prompt_template) {
    case PromptTemplate::Alpaca: return "alpaca";
    case PromptTemplate::None: return "none";
    case PromptTemplate::Model: return "model";
  }
  return "alpaca";
}

PromptFormat PromptFormat::alpaca() { return PromptFormat(); }

PromptFormat PromptFormat::none() {
  PromptFormat format;
  format.kind_ = PromptTemplate::None;
  return format;
}

PromptFormat PromptFormat::for_model(const std::filesystem::path& model_dir, std::optional<PromptTemplate> requested,
                                     std::string* notice) {
  if (requested == PromptTemplate::Alpaca) return alpaca();
  if (requested == PromptTemplate::None) return none();
  std::optional<tokenizer::ModelChatTemplate> loaded;
  try {
    loaded = tokenizer::load_model_chat_template(model_dir);
  } catch (const InputError& e) {
    if (requested == PromptTemplate::Model) throw;
    if (notice != nullptr) *notice = std::string(e.what()) + "; chatting in the Alpaca template instead";
    return alpaca();
  }
  if (!loaded) {
    if (requested == PromptTemplate::Model) {
      throw InputError(model_dir.string(), "has no chat template (tokenizer_config.json has no chat_template)",
                       "use --template alpaca for base models and LowBit's EMEF runs");
    }
    return alpaca();
  }
  PromptFormat format;
  format.kind_ = PromptTemplate::Model;
  format.chat_template_ = std::make_shared<const tokenizer::ModelChatTemplate>(std::move(*loaded));
  return format;
}

std::string PromptFormat::describe() const {
  switch (kind_) {
    case PromptTemplate::Model: return "the model's chat template (" + chat_template_->source_name + ")";
    case PromptTemplate::Alpaca: return "Alpaca (alpaca-lora's template)";
    case PromptTemplate::None: return "none (raw text)";
  }
  return "";
}

std::string PromptFormat::conversation_prompt(const ChatTurns& turns, const std::string& message,
                                              const std::string& system) const {
  if (kind_ == PromptTemplate::Model) {
    return chat_template_->chat_template.render(to_messages(turns, message, system), /*add_generation_prompt=*/true,
                                                chat_template_->special_tokens);
  }
  std::string prompt;
  for (const auto& [user, assistant] : turns) prompt += render_prompt(kind_, user) + assistant + "\n\n";
  return prompt + render_prompt(kind_, message);
}

std::pair<std::string, std::string> PromptFormat::instruction_example(const std::string& instruction,
                                                                      const std::string& input,
                                                                      const std::string& output) const {
  if (kind_ != PromptTemplate::Model) return {render_prompt(kind_, instruction, input), output};
  const std::string user = input.empty() ? instruction : instruction + "\n\n" + input;
  const auto& variables = chat_template_->special_tokens;
  const std::string prompt = chat_template_->chat_template.render({{"user", user}}, true, variables);
  const std::string whole =
      chat_template_->chat_template.render({{"user", user}, {"assistant", output}}, false, variables);
  if (whole.compare(0, prompt.size(), prompt) != 0) {
    throw InputError(chat_template_->source_name,
                     "the chat template writes a finished conversation differently from the prompt it writes for "
                     "the reply, so the reply's tokens cannot be told apart for training",
                     "fine-tune with --template alpaca");
  }
  return {prompt, whole.substr(prompt.size())};
}

std::vector<std::string> PromptFormat::stop_strings() const {
  if (kind_ == PromptTemplate::Alpaca) return {"### Instruction:", "### Response:"};
  return {};
}

std::vector<std::string> PromptFormat::end_of_turn_tokens() const {
  std::vector<std::string> tokens;
  if (kind_ != PromptTemplate::Model) return tokens;
  const std::string& source = chat_template_->chat_template.source();
  for (const char* token : kEndOfTurnTokens) {
    if (source.find(token) != std::string::npos) tokens.emplace_back(token);
  }
  if (!chat_template_->eos_token.empty() && source.find("eos_token") != std::string::npos) {
    tokens.push_back(chat_template_->eos_token);
  }
  return tokens;
}

void PromptFormat::add_stop_tokens(tokenizer::Tokenizer& tokenizer) const {
  for (const std::string& token : end_of_turn_tokens()) {
    if (const auto id = tokenizer.token_id(token)) tokenizer.add_stop_id(*id);
  }
}

}  // namespace lowbit::data
