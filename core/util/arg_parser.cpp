#include "core/util/arg_parser.h"

#include <cerrno>
#include <cstdlib>

#include "core/util/errors.h"

namespace lowbit {

ArgParser::ArgParser(std::string command, const std::vector<std::string>& args, std::vector<OptionSpec> specs)
    : command_(std::move(command)), specs_(std::move(specs)) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      positionals_.push_back(arg);
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const OptionSpec* spec = find(name);
    if (spec == nullptr) {
      throw UsageError("lowbit " + command_ + ": unknown option '" + name + "'; run 'lowbit " + command_ +
                       " --help' for the options");
    }
    if (!spec->repeatable && values_.count(name) != 0) {
      throw UsageError("lowbit " + command_ + ": option '" + name + "' given more than once");
    }
    if (!spec->takes_value) {
      if (inline_value) throw UsageError("lowbit " + command_ + ": option '" + name + "' takes no value");
      values_[name].push_back("");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) throw UsageError("lowbit " + command_ + ": option '" + name + "' needs a value");
      inline_value = args[++i];
    }
    values_[name].push_back(*inline_value);
  }
}

const OptionSpec* ArgParser::find(const std::string& name) const {
  for (const OptionSpec& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string ArgParser::positional(size_t index, const char* name) const {
  if (index >= positionals_.size()) throw UsageError("lowbit " + command_ + ": missing " + name);
  return positionals_[index];
}

bool ArgParser::flag(const std::string& option) const { return values_.count(option) != 0; }

std::optional<std::string> ArgParser::value(const std::string& option) const {
  const auto it = values_.find(option);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::string ArgParser::required(const std::string& option) const {
  const auto found = value(option);
  if (!found) throw UsageError("lowbit " + command_ + ": option '" + option + "' is required");
  return *found;
}

std::vector<std::string> ArgParser::values(const std::string& option) const {
  const auto it = values_.find(option);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t ArgParser::integer_in(const std::string& option, const std::string& text, int64_t min, int64_t max) const {
  errno = 0;
  char* end = nullptr;
  const long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || parsed < min || parsed > max) {
    throw UsageError("lowbit " + command_ + ": " + option + " must be an integer from " + std::to_string(min) +
                     " to " + std::to_string(max) + ", got '" + text + "'");
  }
  return parsed;
}

std::optional<int64_t> ArgParser::optional_integer(const std::string& option, int64_t min, int64_t max) const {
  const auto text = value(option);
  if (!text) return std::nullopt;
  return integer_in(option, *text, min, max);
}

std::optional<std::vector<std::string>> ArgParser::list(const std::string& option) const {
  const auto text = value(option);
  if (!text) return std::nullopt;
  std::vector<std::string> items;
  size_t begin = 0;
  for (;;) {
    const size_t comma = text->find(',', begin);
    items.push_back(text->substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (items.back().empty()) {
      throw UsageError("lowbit " + command_ + ": " + option + " takes a comma-separated list; '" + *text +
                       "' has an empty item");
    }
    if (comma == std::string::npos) return items;
    begin = comma + 1;
  }
}

std::optional<std::vector<int64_t>> ArgParser::integer_list(const std::string& option, int64_t min, int64_t max) const {
  const auto items = list(option);
  if (!items) return std::nullopt;
  std::vector<int64_t> values;
  for (const std::string& item : *items) values.push_back(integer_in(option, item, min, max));
  return values;
}

int64_t ArgParser::integer(const std::string& option, int64_t fallback, int64_t min, int64_t max) const {
  return optional_integer(option, min, max).value_or(fallback);
}

double ArgParser::number(const std::string& option, double fallback, double min, double max) const {
  const auto text = value(option);
  if (!text) return fallback;
  errno = 0;
  char* end = nullptr;
  const double parsed = std::strtod(text->c_str(), &end);
  if (text->empty() || *end != '\0' || errno == ERANGE || !(parsed >= min && parsed <= max)) {
    throw UsageError("lowbit " + command_ + ": " + option + " must be a number from " + std::to_string(min) +
                     " to " + std::to_string(max) + ", got '" + *text + "'");
  }
  return parsed;
}

std::string ArgParser::choice(const std::string& option, const std::string& fallback,
                              const std::vector<std::string>& allowed) const {
  const std::string chosen = value(option).value_or(fallback);
  std::string list;
  for (const std::string& candidate : allowed) {
    if (candidate == chosen) return chosen;
    list += (list.empty() ? "" : ", ") + candidate;
  }
  throw UsageError("lowbit " + command_ + ": " + option + " must be one of " + list + ", got '" + chosen + "'");
}

void ArgParser::finish(size_t max_positionals) const {
  if (positionals_.size() > max_positionals) {
    throw UsageError("lowbit " + command_ + ": unexpected argument '" + positionals_[max_positionals] + "'");
  }
}

}  // namespace lowbit
