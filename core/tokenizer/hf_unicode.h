// UTF-8 and Unicode helpers for the tokenizer.json tokenizer (hf_tokenizer.h). Internal to core/tokenizer.
//
// The predicates reproduce the Rust standard library ones the `tokenizers` crate calls (char::is_whitespace,
// char::is_numeric, regex `\w`), and utf8_lossy reproduces String::from_utf8_lossy, because decode() must give
// the same string as the Python library down to where U+FFFD appears.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lowbit::tokenizer::hf_detail {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Byte offset of the first byte that does not start a valid UTF-8 sequence, or text.size() when valid.
std::size_t find_invalid_utf8(std::string_view text);

// Decodes the code point starting at text[pos] (text must be valid UTF-8) and advances pos past it.
inline char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  if (b0 < 0xE0) {
    const char32_t cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(text[pos + 1]) & 0x3Fu);
    pos += 2;
    return cp;
  }
  if (b0 < 0xF0) {
    const char32_t cp = ((b0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(text[pos + 1]) & 0x3Fu) << 6) |
                        (static_cast<unsigned char>(text[pos + 2]) & 0x3Fu);
    pos += 3;
    return cp;
  }
  const char32_t cp = ((b0 & 0x07u) << 18) | ((static_cast<unsigned char>(text[pos + 1]) & 0x3Fu) << 12) |
                      ((static_cast<unsigned char>(text[pos + 2]) & 0x3Fu) << 6) |
                      (static_cast<unsigned char>(text[pos + 3]) & 0x3Fu);
  pos += 4;
  return cp;
}

// Length in bytes of the UTF-8 sequence that starts with `lead` (valid text assumed).
inline std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

void append_utf8(std::string& out, char32_t cp);

// String::from_utf8_lossy: each maximal invalid subsequence becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

bool is_whitespace(char32_t cp);  // Unicode White_Space, as Rust char::is_whitespace and regex `\s`
bool is_numeric(char32_t cp);     // general category Nd, Nl or No, as Rust char::is_numeric
bool is_word_char(char32_t cp);   // regex `\w`: letters, marks, Nd, Pc, Nl
bool is_combining_mark(char32_t cp);  // general category Mn, Mc or Me

enum class NormalForm { Nfc, Nfd, Nfkc, Nfkd };
std::string normalize_unicode(std::string_view text, NormalForm form);

// Full lowercase mapping, as Rust str::to_lowercase per character.
std::string to_lowercase(std::string_view text);

}  // namespace lowbit::tokenizer::hf_detail
