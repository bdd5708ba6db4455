// Command-line parsing for `lowbit` subcommands: declared options, typed getters with ranges, and UsageError
// messages that name the option and the accepted values.
//
//   ArgParser args("eval", argv_rest, {{"--text", true}, {"--seqlen", true}, {"--greedy", false}});
//   std::string model = args.positional(0, "MODEL");
//   int64_t seqlen = args.integer("--seqlen", 2048, 2, 1 << 20);
//   args.finish(1);   // rejects extra positionals
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lowbit {

struct OptionSpec {
  std::string name;        // "--seqlen"
  bool takes_value = true;
  bool repeatable = false;
};

class ArgParser {
 public:
  ArgParser(std::string command, const std::vector<std::string>& args, std::vector<OptionSpec> specs);

  std::string positional(size_t index, const char* name) const;
  size_t positional_count() const { return positionals_.size(); }
  bool flag(const std::string& option) const;
  std::optional<std::string> value(const std::string& option) const;
  std::string required(const std::string& option) const;
  std::vector<std::string> values(const std::string& option) const;
  int64_t integer(const std::string& option, int64_t fallback, int64_t min, int64_t max) const;
  std::optional<int64_t> optional_integer(const std::string& option, int64_t min, int64_t max) const;
  // `text` (the option's value, or a piece of it) as an integer in [min, max]; UsageError naming the option.
  int64_t integer_in(const std::string& option, const std::string& text, int64_t min, int64_t max) const;
  // "1,4,16": the value split at commas (UsageError on an empty item), or nullopt when the option was not given.
  std::optional<std::vector<std::string>> list(const std::string& option) const;
  std::optional<std::vector<int64_t>> integer_list(const std::string& option, int64_t min, int64_t max) const;
  double number(const std::string& option, double fallback, double min, double max) const;
  std::string choice(const std::string& option, const std::string& fallback, const std::vector<std::string>& allowed) const;
  // Throws UsageError when more than `max_positionals` positionals were given.
  void finish(size_t max_positionals) const;

 private:
  const OptionSpec* find(const std::string& name) const;
  std::string command_;
  std::vector<OptionSpec> specs_;
  std::vector<std::string> positionals_;
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace lowbit
