// ChatTemplate: the public face of the Jinja subset (jinja.h) and the loader for a model folder's template.
#include "core/tokenizer/chat_template.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "core/tokenizer/jinja.h"
#include "core/util/json_limits.h"

namespace lowbit::tokenizer {
namespace {

using jinja::Value;

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Value::floating(static_cast<double>(u));
      return Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::floating(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      jinja::List items;
      for (const auto& x : j) items.push_back(from_json(x));
      return Value::make_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = Value::make_dict();
      for (auto it = j.begin(); it != j.end(); ++it) d.dict->items.emplace_back(Value::string(it.key()), from_json(it.value()));
      return d;
    }
    default: return Value::none();  // binary/discarded never come from parsed text
  }
}

// bos_token/eos_token as strings or AddedToken objects ({"content": …, "__type": "AddedToken"}).
std::string token_text(const nlohmann::ordered_json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return {};
}

}  // namespace

ChatTemplate ChatTemplate::parse(const std::string& source, const std::string& source_name) {
  ChatTemplate t;
  t.template_ = jinja::parse_template(source, source_name);
  t.source_name_ = source_name;
  t.source_ = source;
  return t;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& variables) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  return render_json(list, add_generation_prompt, variables);
}

std::string ChatTemplate::render_json(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& variables) const {
  if (!template_) throw InternalError("ChatTemplate::render called on a template that was never parsed");
  if (!messages.is_array())
    throw InputError(source_name_, "messages must be a JSON array of {role, content} objects", "");
  if (!variables.is_object() && !variables.is_null())
    throw InputError(source_name_, "template variables must be a JSON object", "");
  Value context = Value::make_dict();
  context.dict->set(Value::string("messages"), from_json(messages));
  context.dict->set(Value::string("tools"), Value::none());
  context.dict->set(Value::string("documents"), Value::none());
  context.dict->set(Value::string("add_generation_prompt"), Value::boolean(add_generation_prompt));
  if (variables.is_object())
    for (auto it = variables.begin(); it != variables.end(); ++it)
      context.dict->set(Value::string(it.key()), from_json(it.value()));
  try {
    return jinja::render_template(*template_, context);
  } catch (const jinja::RenderError& e) {
    if (e.raised_by_template) throw TemplateRaisedError(source_name_, e.message);
    throw InputError(source_name_, "line " + std::to_string(e.line) + ": " + e.message,
                     e.unsupported ? "LowBit Studio renders the Jinja2 subset Hugging Face chat templates use; "
                                     "simplify the template or report it"
                                   : "the chat template cannot render this conversation; check the messages and "
                                     "template variables");
  }
}

std::optional<ModelChatTemplate> load_model_chat_template(const std::filesystem::path& model_dir) {
  const std::filesystem::path config_path = model_dir / "tokenizer_config.json";
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  if (std::filesystem::exists(config_path)) {
    config = util::read_ordered_json_file(config_path, util::kConfigJsonLimits);
    if (!config.is_object())
      throw InputError(config_path.string(), "is not a JSON object", "restore the file from the model's original download");
  }

  std::string source, source_name;
  const std::filesystem::path jinja_path = model_dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja_path)) {
    source = util::read_file_bytes(jinja_path, util::kConfigJsonLimits.max_string_bytes);
    source_name = jinja_path.string();
  } else {
    auto it = config.find("chat_template");
    if (it == config.end() || it->is_null()) return std::nullopt;
    source_name = config_path.string() + " (chat_template)";
    if (it->is_string()) {
      source = it->get<std::string>();
    } else if (it->is_array()) {
      bool found = false;
      for (const auto& entry : *it) {
        if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
            entry["template"].is_string()) {
          source = entry["template"].get<std::string>();
          found = true;
        }
      }
      if (!found)
        throw InputError(source_name, "lists named templates but none is named 'default'",
                         "add a 'default' entry or pick a template explicitly");
    } else {
      throw InputError(source_name, "must be a string or a list of {name, template} objects",
                       "restore the file from the model's original download");
    }
  }

  nlohmann::ordered_json special_map = nlohmann::ordered_json::object();
  const std::filesystem::path map_path = model_dir / "special_tokens_map.json";
  if (std::filesystem::exists(map_path)) {
    special_map = util::read_ordered_json_file(map_path, util::kConfigJsonLimits);
    if (!special_map.is_object()) special_map = nlohmann::ordered_json::object();
  }
  // transformers' SPECIAL_TOKENS_ATTRIBUTES order, which is the order of tokenizer.special_tokens_map.
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    std::string text = token_text(config, key);
    if (text.empty()) text = token_text(special_map, key);
    if (!text.empty()) special_tokens[key] = text;
  }
  ModelChatTemplate loaded{ChatTemplate::parse(source, source_name), source_name,
                           special_tokens.value("bos_token", ""), special_tokens.value("eos_token", ""), special_tokens};
  return loaded;
}

}  // namespace lowbit::tokenizer
