// Pattern matching for the tokenizer.json tokenizer (hf_tokenizer.h). Internal to core/tokenizer.
//
// tokenizer.json regexes are written for Oniguruma (the `tokenizers` crate's SysRegex). They are evaluated here
// with PCRE2 compiled with UTF + UCP, so `\s`, `\w`, `\d` and case folding are Unicode-aware as in Oniguruma, and
// find_all() walks matches exactly as rust-onig's FindMatches does (an empty match right where the previous
// match ended is skipped by one character). A String pattern is a literal and is searched without PCRE2.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lowbit::tokenizer::hf_detail {

using Match = std::pair<std::size_t, std::size_t>;  // [begin, end) byte offsets

class Pattern {
 public:
  // Throws std::invalid_argument with PCRE2's message (and offset) when the regex does not compile.
  static Pattern regex(const std::string& pattern);
  static Pattern literal(const std::string& text);

  // Non-overlapping matches from left to right; `text` must be valid UTF-8.
  void find_all(std::string_view text, std::vector<Match>& out) const;

  // Every match replaced by `content`, as NormalizedString::replace.
  std::string replace_all(std::string_view text, const std::string& content) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;  // null for a non-empty literal
  std::string literal_;
};

}  // namespace lowbit::tokenizer::hf_detail
