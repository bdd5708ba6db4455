// How conversations and instruction records become the text a model reads: the model's own chat template
// (tokenizer_config.json's chat_template or chat_template.jinja, rendered as transformers' apply_chat_template
// does), alpaca-lora's Alpaca template (base models, EMEF runs), or the raw text.
//
//   std::string notice;
//   PromptFormat format = PromptFormat::for_model(model_dir, std::nullopt, &notice);  // the model's, else Alpaca
//   std::string prompt = format.conversation_prompt({}, "What is the capital of France?");
//   ids = tokenizer.encode(prompt, format.add_special_tokens());
//   format.add_stop_tokens(tokenizer);   // generation also ends at <|im_end|>, <|eot_id|>, ...
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::tokenizer {
class Tokenizer;
struct ModelChatTemplate;
}  // namespace lowbit::tokenizer

namespace lowbit::data {

enum class PromptTemplate { Alpaca, None, Model };
PromptTemplate parse_prompt_template(const std::string& name);  // "alpaca" | "none" | "model"
std::string prompt_template_name(PromptTemplate prompt_template);

// Earlier turns of a conversation: (user message, assistant reply).
using ChatTurns = std::vector<std::pair<std::string, std::string>>;

class PromptFormat {
 public:
  static PromptFormat alpaca();
  static PromptFormat none();
  // `requested` empty: the model's chat template when the folder has one that LowBit can render, else Alpaca;
  // a template that cannot be parsed falls back to Alpaca and says why in *notice. Requesting Model from a
  // folder without a usable template is an InputError naming the folder (or the template's problem).
  static PromptFormat for_model(const std::filesystem::path& model_dir, std::optional<PromptTemplate> requested,
                                std::string* notice);

  PromptTemplate kind() const { return kind_; }
  // "the model's chat template (…/tokenizer_config.json)", "Alpaca (alpaca-lora)", "none (raw text)".
  std::string describe() const;

  // The text the reply to `message` follows, after the earlier turns (and the system prompt, where the template
  // has a place for it; Alpaca has none). InputError when the template itself refuses the conversation
  // (raise_exception, e.g. a system role it does not support).
  std::string conversation_prompt(const ChatTurns& turns, const std::string& message,
                                  const std::string& system = "") const;
  // One EMEF record: (prompt, reply) whose concatenation is the whole training text. With the model's template
  // the instruction (and input, after a blank line) is the user turn and the output the assistant turn.
  std::pair<std::string, std::string> instruction_example(const std::string& instruction, const std::string& input,
                                                          const std::string& output) const;

  // The model's template writes its own BOS: text rendered by it is encoded without special tokens.
  bool add_special_tokens() const { return kind_ != PromptTemplate::Model; }
  // Alpaca's answers end where the model starts the next "### Instruction:".
  std::vector<std::string> stop_strings() const;
  // End-of-turn tokens the template writes (<|im_end|>, <|eot_id|>, <end_of_turn>, <|end|>, its eos_token…).
  std::vector<std::string> end_of_turn_tokens() const;
  // Makes generation stop at the end-of-turn tokens too (those the tokenizer knows).
  void add_stop_tokens(tokenizer::Tokenizer& tokenizer) const;

 private:
  PromptTemplate kind_ = PromptTemplate::Alpaca;
  std::shared_ptr<const tokenizer::ModelChatTemplate> chat_template_;
};

}  // namespace lowbit::data
