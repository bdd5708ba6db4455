// Renders a model's Hugging Face chat template (Jinja2) exactly as transformers'
// tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=…) does, without Python.
//
//   auto loaded = lowbit::tokenizer::load_model_chat_template(model_dir);   // std::nullopt: no template
//   std::string prompt = loaded->chat_template.render(
//       {{"system", "Be brief."}, {"user", "Hi"}}, /*add_generation_prompt=*/true,
//       {{"bos_token", loaded->bos_token}, {"eos_token", loaded->eos_token}});
//
// The template is parsed once; anything outside the supported Jinja subset (see jinja.h and the list below) is
// an InputError at parse time naming the source and line, or at render time when only then detectable — never
// silently different output. The subset: if/elif/else, for (loop.*, else, `if` filter, break/continue), set
// (namespace attributes, tuple unpacking, block set), macro, with, filter blocks, raw, comments, {% generation %};
// literals, attribute/item access, slices, calls, filters (trim, length, tojson with transformers' options,
// default, join, map, select/reject[attr], items, …), tests, `in`, comparisons, arithmetic, `~`, ternaries, the
// str/dict methods templates use, and the globals raise_exception, strftime_now, range, namespace, dict.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/errors.h"

namespace lowbit::tokenizer {

namespace jinja {
struct Template;
}

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", "tool", …
  std::string content;
};

// raise_exception(message) called by the template: the conversation does not fit it (Gemma rejects a system
// turn, Mistral demands alternating roles). template_message() is the template's own text, what transformers
// puts in its TemplateError.
class TemplateRaisedError : public InputError {
 public:
  TemplateRaisedError(std::string source_name, std::string message)
      : InputError(std::move(source_name), "the chat template rejected the conversation: " + message,
                   "change the conversation to what this model's template accepts"),
        template_message_(std::move(message)) {}
  const std::string& template_message() const { return template_message_; }

 private:
  std::string template_message_;
};

class ChatTemplate {
 public:
  // Throws InputError naming `source_name` (e.g. ".../tokenizer_config.json (chat_template)") and the line:
  // "line 3: filter 'wordwrap' is not supported yet", "line 1: unexpected end of template: …".
  static ChatTemplate parse(const std::string& source, const std::string& source_name);

  // The template's context is what transformers passes: messages, tools = None, documents = None,
  // add_generation_prompt, then every entry of `variables` (bos_token, eos_token, tools, date_string, …), which
  // may override the former. Pass ordered_json where key order matters (tojson and items() keep insertion order
  // as Python dicts do; nlohmann::json sorts keys). Throws TemplateRaisedError or InputError.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& variables = nlohmann::ordered_json::object()) const;
  // Messages as JSON objects, for turns with more than role/content (tool_calls, tool_call_id, list content).
  // A separate name, not an overload: a braced list of {role, content} pairs would fit both.
  std::string render_json(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& variables = nlohmann::ordered_json::object()) const;

  const std::string& source_name() const { return source_name_; }
  // The template text as given to parse(), e.g. to look for the end-of-turn markers it writes.
  const std::string& source() const { return source_; }

 private:
  std::shared_ptr<const jinja::Template> template_;
  std::string source_name_, source_;
};

struct ModelChatTemplate {
  ChatTemplate chat_template;
  std::string source_name;
  // The special tokens transformers passes to the template (from tokenizer_config.json, else
  // special_tokens_map.json; "" when absent).
  std::string bos_token, eos_token;
  // All of them as template variables, as tokenizer.special_tokens_map: {"bos_token": …, "eos_token": …,
  // "unk_token": …, "pad_token": …} (those the folder declares). Pass as render()'s `variables`.
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();
};

// The chat template of a Hugging Face model folder: chat_template.jinja if present, else tokenizer_config.json's
// "chat_template" (a string, or a list of {name, template} from which "default" is taken). std::nullopt when the
// folder has none. Throws InputError for unreadable/malformed files or an unsupported template.
std::optional<ModelChatTemplate> load_model_chat_template(const std::filesystem::path& model_dir);

}  // namespace lowbit::tokenizer
