// Each class below reproduces one component of the Rust `tokenizers` crate (v0.22); the comment on each names the
// behaviour that decides ids and is easy to get wrong.
#include "core/tokenizer/hf_pipeline.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "core/tokenizer/hf_regex.h"
#include "core/tokenizer/hf_unicode.h"
#include "core/util/errors.h"

namespace lowbit::tokenizer::hf_detail {
namespace {

using nlohmann::json;

const char* const kSupportedNormalizers = "LowBit supports the normalizers Sequence, Prepend, Replace, NFC, NFD, NFKC, "
                                          "NFKD, Lowercase, Strip, StripAccents and ByteLevel";
const char* const kSupportedPreTokenizers = "LowBit supports the pre_tokenizers Sequence, Split, ByteLevel, Metaspace, "
                                            "Digits, Whitespace, WhitespaceSplit and CharDelimiterSplit";
const char* const kSupportedDecoders = "LowBit supports the decoders Sequence, ByteLevel, Metaspace, ByteFallback, "
                                       "Fuse, Strip and Replace";

// ---------------------------------------------------------------------------------------------------------------
// JSON field access with errors that name the file, the component and the field.

[[noreturn]] void bad_field(const std::string& path, const std::string& where, const std::string& field,
                            const std::string& expected) {
  throw InputError(path, where + ": field '" + field + "' is missing or is not " + expected,
                   "the file does not follow the tokenizers library's format; re-save it with "
                   "tokenizers or transformers' save_pretrained");
}

std::string type_of(const json& spec, const std::string& path, const std::string& stage) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
    throw InputError(path, stage + " has no \"type\" string", "re-save the tokenizer with transformers' save_pretrained");
  return spec["type"].get<std::string>();
}

std::string get_string(const json& spec, const char* field, const std::string& path, const std::string& where) {
  const auto it = spec.find(field);
  if (it == spec.end() || !it->is_string()) bad_field(path, where, field, "a string");
  return it->get<std::string>();
}

bool get_bool(const json& spec, const char* field, bool fallback, const std::string& path, const std::string& where) {
  const auto it = spec.find(field);
  if (it == spec.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) bad_field(path, where, field, "true or false");
  return it->get<bool>();
}

std::size_t get_count(const json& spec, const char* field, const std::string& path, const std::string& where) {
  const auto it = spec.find(field);
  if (it == spec.end() || !it->is_number_unsigned()) bad_field(path, where, field, "a non-negative integer");
  return it->get<std::size_t>();
}

// A one-character string (Metaspace replacement, Strip content): returns the code point.
char32_t get_char(const json& spec, const char* field, const std::string& path, const std::string& where) {
  const std::string text = get_string(spec, field, path, where);
  if (text.empty() || find_invalid_utf8(text) != text.size()) bad_field(path, where, field, "a single character");
  std::size_t pos = 0;
  const char32_t cp = next_code_point(text, pos);
  if (pos != text.size()) bad_field(path, where, field, "a single character");
  return cp;
}

// {"String": "..."} or {"Regex": "..."}, as SplitPattern / ReplacePattern.
Pattern get_pattern(const json& spec, const std::string& path, const std::string& where) {
  const auto it = spec.find("pattern");
  if (it == spec.end() || !it->is_object() || it->size() != 1) bad_field(path, where, "pattern", "{\"String\": ...} or {\"Regex\": ...}");
  const std::string kind = it->begin().key();
  const json& value = it->begin().value();
  if (!value.is_string()) bad_field(path, where, "pattern", "{\"String\": ...} or {\"Regex\": ...}");
  if (kind == "String") return Pattern::literal(value.get<std::string>());
  if (kind != "Regex") bad_field(path, where, "pattern", "{\"String\": ...} or {\"Regex\": ...}");
  try {
    return Pattern::regex(value.get<std::string>());
  } catch (const std::invalid_argument& e) {
    throw InputError(path, where + ": pattern " + value.dump() + ": " + e.what(),
                     "LowBit evaluates tokenizer regexes with PCRE2; this Oniguruma construct is not supported yet");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Splitting, as NormalizedString::split: the matches become a list of (span, is_match) covering the whole text, the
// delimiter behaviour folds that list, and empty results are dropped.

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Span {
  std::size_t begin, end;
  bool is_match;
};

Behavior parse_behavior(const json& spec, const std::string& path, const std::string& where) {
  const std::string name = get_string(spec, "behavior", path, where);
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  throw InputError(path, where + ": split behavior '" + name + "' is unknown",
                   "use Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
}

// matches -> spans covering [0, size), like Pattern::find_matches.
void cover(std::size_t size, const std::vector<Match>& matches, bool invert, std::vector<Span>& spans) {
  spans.clear();
  if (size == 0) {
    spans.push_back({0, 0, invert});
    return;
  }
  std::size_t prev = 0;
  for (const auto& [begin, end] : matches) {
    if (prev != begin) spans.push_back({prev, begin, invert});
    spans.push_back({begin, end, !invert});
    prev = end;
  }
  if (prev != size) spans.push_back({prev, size, invert});
}

// Each character for which `pred` holds is one match, as the crate's `impl Pattern for Fn(char) -> bool`.
template <typename Pred>
void char_matches(std::string_view text, Pred pred, std::vector<Match>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t begin = pos;
    const char32_t cp = next_code_point(text, pos);
    if (pred(cp)) out.emplace_back(begin, pos);
  }
}

// Applies the behaviour and appends the resulting non-empty pieces.
void emit_splits(const Piece& piece, std::vector<Span>& spans, Behavior behavior, Pieces& out) {
  std::vector<Span> folded;
  folded.reserve(spans.size());
  switch (behavior) {
    case Behavior::Isolated:
      for (auto& s : spans) folded.push_back({s.begin, s.end, false});
      break;
    case Behavior::Removed:
      folded = spans;
      break;
    case Behavior::Contiguous: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match == previous_match && !folded.empty()) folded.back().end = s.end;
        else folded.push_back({s.begin, s.end, false});
        previous_match = s.is_match;
      }
      break;
    }
    case Behavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match && !previous_match && !folded.empty()) folded.back().end = s.end;
        else folded.push_back({s.begin, s.end, false});
        previous_match = s.is_match;
      }
      break;
    }
    case Behavior::MergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !folded.empty()) folded.back().begin = it->begin;
        else folded.push_back({it->begin, it->end, false});
        previous_match = it->is_match;
      }
      std::reverse(folded.begin(), folded.end());
      break;
    }
  }
  for (const auto& s : folded) {
    if (s.is_match || s.begin == s.end) continue;  // removed delimiters and empty splits are dropped
    out.push_back(Piece{piece.text.substr(s.begin, s.end - s.begin), piece.at_origin && s.begin == 0, -1});
  }
}

// PreTokenizedString::split: pieces holding added tokens pass through, the others are replaced by their splits.
template <typename SplitFn>
void split_each(Pieces& pieces, SplitFn split_one) {
  Pieces out;
  out.reserve(pieces.size() * 2);
  for (auto& piece : pieces) {
    if (piece.token_id >= 0) out.push_back(std::move(piece));
    else split_one(piece, out);
  }
  pieces = std::move(out);
}

std::string prepend_if_nonempty(const std::string& prefix, const std::string& text) {
  return text.empty() ? text : prefix + text;  // NormalizedString::prepend does nothing on an empty string
}

// ---------------------------------------------------------------------------------------------------------------
// Normalizers

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<const Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& text) const override {
    for (const auto& part : parts_) part->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<const Normalizer>> parts_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override { text = prepend_if_nonempty(prefix_, text); }

 private:
  std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void normalize(std::string& text) const override { text = normalize_unicode(text, form_); }

 private:
  NormalForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override { text = to_lowercase(text); }
};

// Strip: Unicode whitespace (char::is_whitespace) off either end.
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    std::size_t begin = 0, end = text.size();
    if (left_) {
      std::size_t pos = 0;
      while (pos < text.size()) {
        const std::size_t at = pos;
        if (!is_whitespace(next_code_point(text, pos))) {
          pos = at;
          break;
        }
      }
      begin = pos;
    }
    if (right_) {
      while (end > begin) {
        std::size_t at = end - 1;
        while (at > begin && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
        std::size_t pos = at;
        if (!is_whitespace(next_code_point(text, pos))) break;
        end = at;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

// StripAccents: drops combining marks (general category M), as the crate's is_combining_mark.
class StripAccentsNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override;
};

// ByteLevel as a normalizer: every byte becomes its byte-level character.
class ByteLevelNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size() * 2);
    for (const char c : text) out += byte_level_char(static_cast<unsigned char>(c));
    text = std::move(out);
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Pre-tokenizers

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<const PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(Pieces& pieces) const override {
    for (const auto& part : parts_) part->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<const PreTokenizer>> parts_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(Pieces& pieces) const override {
    std::vector<Match> matches;
    std::vector<Span> spans;
    split_each(pieces, [&](const Piece& piece, Pieces& out) {
      pattern_.find_all(piece.text, matches);
      cover(piece.text.size(), matches, invert_, spans);
      emit_splits(piece, spans, behavior_, out);
    });
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// The GPT-2 split rule the crate's ByteLevel pre-tokenizer applies when use_regex is true.
const char* const kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex), pattern_(Pattern::regex(kGpt2Pattern)) {}
  void pre_tokenize(Pieces& pieces) const override {
    std::vector<Match> matches;
    std::vector<Span> spans;
    split_each(pieces, [&](Piece& piece, Pieces& out) {
      // Per piece, so every piece between added tokens gets its own prefix space.
      if (add_prefix_space_ && piece.text.compare(0, 1, " ") != 0) piece.text = prepend_if_nonempty(" ", piece.text);
      if (!use_regex_) {
        if (!piece.text.empty()) out.push_back(std::move(piece));
        return;
      }
      pattern_.find_all(piece.text, matches);
      cover(piece.text.size(), matches, false, spans);
      emit_splits(piece, spans, Behavior::Isolated, out);
    });
    for (auto& piece : pieces) {
      if (piece.token_id >= 0) continue;
      std::string mapped;
      mapped.reserve(piece.text.size() * 2);
      for (const char c : piece.text) mapped += byte_level_char(static_cast<unsigned char>(c));
      piece.text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_, use_regex_;
  Pattern pattern_;
};

enum class PrependScheme { Always, First, Never };

PrependScheme parse_prepend_scheme(const json& spec, const std::string& path, const std::string& where) {
  // Older files carry add_prefix_space instead; false means "never" (the crate rejects false with another scheme).
  PrependScheme scheme = PrependScheme::Always;
  if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null()) {
    const std::string name = get_string(spec, "prepend_scheme", path, where);
    if (name == "always") scheme = PrependScheme::Always;
    else if (name == "first") scheme = PrependScheme::First;
    else if (name == "never") scheme = PrependScheme::Never;
    else throw InputError(path, where + ": prepend_scheme '" + name + "' is unknown", "use always, first or never");
  }
  if (!get_bool(spec, "add_prefix_space", true, path, where)) {
    if (scheme != PrependScheme::Never && spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null())
      throw InputError(path, where + ": add_prefix_space false does not match prepend_scheme",
                       "remove add_prefix_space or set prepend_scheme to \"never\"");
    scheme = PrependScheme::Never;
  }
  return scheme;
}

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : scheme_(scheme), split_(split), replacement_cp_(replacement) {
    append_utf8(replacement_, replacement);
  }
  void pre_tokenize(Pieces& pieces) const override {
    static const Pattern space = Pattern::literal(" ");
    std::vector<Match> matches;
    std::vector<Span> spans;
    split_each(pieces, [&](Piece& piece, Pieces& out) {
      piece.text = space.replace_all(piece.text, replacement_);
      const bool starts_with_replacement = piece.text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts_with_replacement &&
          (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && piece.at_origin)))
        piece.text = prepend_if_nonempty(replacement_, piece.text);
      if (!split_) {
        if (!piece.text.empty()) out.push_back(std::move(piece));
        return;
      }
      char_matches(piece.text, [&](char32_t cp) { return cp == replacement_cp_; }, matches);
      cover(piece.text.size(), matches, false, spans);
      emit_splits(piece, spans, Behavior::MergedWithNext, out);
    });
  }

 private:
  PrependScheme scheme_;
  bool split_;
  char32_t replacement_cp_;
  std::string replacement_;
};

// Digits, Whitespace, WhitespaceSplit, CharDelimiterSplit: a character predicate or a fixed regex and a behaviour.
template <typename Pred>
class CharSplitPreTokenizer final : public PreTokenizer {
 public:
  CharSplitPreTokenizer(Pred pred, Behavior behavior) : pred_(pred), behavior_(behavior) {}
  void pre_tokenize(Pieces& pieces) const override {
    std::vector<Match> matches;
    std::vector<Span> spans;
    split_each(pieces, [&](const Piece& piece, Pieces& out) {
      char_matches(piece.text, pred_, matches);
      cover(piece.text.size(), matches, false, spans);
      emit_splits(piece, spans, behavior_, out);
    });
  }

 private:
  Pred pred_;
  Behavior behavior_;
};

template <typename Pred>
std::unique_ptr<const PreTokenizer> make_char_split(Pred pred, Behavior behavior) {
  return std::make_unique<CharSplitPreTokenizer<Pred>>(pred, behavior);
}

// ---------------------------------------------------------------------------------------------------------------
// Decoders

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<const Decoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& part : parts_) part->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<const Decoder>> parts_;
};

// Byte-level code point -> byte, or -1. The alphabet only uses code points below U+0144.
const std::array<int, 0x144>& byte_level_inverse() {
  static const std::array<int, 0x144> table = [] {
    std::array<int, 0x144> t{};
    t.fill(-1);
    for (int b = 0; b < 256; ++b) {
      const std::string& ch = byte_level_char(static_cast<unsigned char>(b));
      std::size_t pos = 0;
      t[next_code_point(ch, pos)] = b;
    }
    return t;
  }();
  return table;
}

// ByteLevel: each token whose characters are all in the byte alphabet becomes those bytes, any other token
// its own UTF-8; all tokens become one string through from_utf8_lossy.
class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    const auto& inverse = byte_level_inverse();
    std::string bytes;
    for (const auto& token : tokens) {
      const std::size_t mark = bytes.size();
      std::size_t pos = 0;
      bool all_mapped = true;
      while (pos < token.size()) {
        const char32_t cp = next_code_point(token, pos);
        if (cp >= inverse.size() || inverse[cp] < 0) {
          all_mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(inverse[cp]));
      }
      if (!all_mapped) {
        bytes.resize(mark);
        bytes += token;
      }
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, PrependScheme scheme) : replacement_(replacement), scheme_(scheme) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      // Every replacement character of the first token is dropped, not only a leading one (the crate does so).
      const bool drop = i == 0 && scheme_ != PrependScheme::Never;
      std::string out;
      std::size_t pos = 0;
      const std::string& token = tokens[i];
      while (pos < token.size()) {
        const std::size_t begin = pos;
        const char32_t cp = next_code_point(token, pos);
        if (cp == replacement_) {
          if (!drop) out.push_back(' ');
        } else {
          out.append(token, begin, pos - begin);
        }
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
};

// ByteFallback: runs of <0xXX> tokens become their bytes when those are valid UTF-8, else one U+FFFD per byte.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    const auto flush = [&] {
      if (pending.empty()) return;
      if (find_invalid_utf8(pending) == pending.size()) {
        out.push_back(pending);
      } else {
        for (std::size_t i = 0; i < pending.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
    };
    for (auto& token : tokens) {
      int byte = -1;
      if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') byte = parse_hex_byte(token[3], token[4]);
      if (byte >= 0) {
        pending.push_back(static_cast<char>(byte));
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    tokens = std::move(out);
  }

 private:
  // u8::from_str_radix(.., 16): two hex digits, or a '+' and one digit.
  static int parse_hex_byte(char a, char b) {
    const auto digit = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int low = digit(b);
    if (low < 0) return -1;
    if (a == '+') return low;
    const int high = digit(a);
    return high < 0 ? -1 : high * 16 + low;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const auto& t : tokens) joined += t;
    tokens.assign(1, std::move(joined));
  }
};

// Strip: up to `start` leading and `stop` trailing copies of one character, per token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, std::size_t start, std::size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& token : tokens) {
      std::vector<std::pair<std::size_t, char32_t>> chars;  // byte offset, code point
      std::size_t pos = 0;
      while (pos < token.size()) {
        const std::size_t begin = pos;
        chars.emplace_back(begin, next_code_point(token, pos));
      }
      std::size_t start_cut = 0;
      for (std::size_t i = 0; i < start_ && i < chars.size(); ++i) {
        if (chars[i].second != content_) break;
        start_cut = i + 1;
      }
      std::size_t stop_cut = chars.size();
      for (std::size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        const std::size_t index = chars.size() - i - 1;
        if (chars[index].second != content_) break;
        stop_cut = index;
      }
      if (stop_cut <= start_cut) {
        token.clear();
        continue;
      }
      const std::size_t begin = start_cut < chars.size() ? chars[start_cut].first : token.size();
      const std::size_t end = stop_cut < chars.size() ? chars[stop_cut].first : token.size();
      token = token.substr(begin, end - begin);
    }
  }

 private:
  char32_t content_;
  std::size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& token : tokens) token = pattern_.replace_all(token, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

const json& get_list(const json& spec, const char* field, const std::string& path, const std::string& where) {
  const auto it = spec.find(field);
  if (it == spec.end() || !it->is_array()) bad_field(path, where, field, "a list");
  return *it;
}

}  // namespace

void StripAccentsNormalizer::normalize(std::string& text) const {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t begin = pos;
    const char32_t cp = next_code_point(text, pos);
    if (is_combining_mark(cp)) continue;
    out.append(text, begin, pos - begin);
  }
  text = std::move(out);
}

const std::string& byte_level_char(unsigned char byte) {
  // GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 are moved to U+0100 on.
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      append_utf8(t[b], printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++));
    }
    return t;
  }();
  return table[byte];
}

std::unique_ptr<const Normalizer> parse_normalizer(const json& spec, const std::string& path) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, path, "normalizer");
  const std::string where = "normalizer " + type;
  if (type == "Sequence") {
    std::vector<std::unique_ptr<const Normalizer>> parts;
    for (const auto& part : get_list(spec, "normalizers", path, where)) {
      if (auto parsed = parse_normalizer(part, path)) parts.push_back(std::move(parsed));
    }
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(get_string(spec, "prepend", path, where));
  if (type == "Replace")
    return std::make_unique<ReplaceNormalizer>(get_pattern(spec, path, where), get_string(spec, "content", path, where));
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::Nfc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::Nfd);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::Nfkc);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::Nfkd);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(get_bool(spec, "strip_left", false, path, where),
                                             get_bool(spec, "strip_right", false, path, where));
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  throw InputError(path, "normalizer type '" + type + "' is not supported yet", kSupportedNormalizers);
}

std::unique_ptr<const PreTokenizer> parse_pre_tokenizer(const json& spec, const std::string& path) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, path, "pre_tokenizer");
  const std::string where = "pre_tokenizer " + type;
  if (type == "Sequence") {
    std::vector<std::unique_ptr<const PreTokenizer>> parts;
    for (const auto& part : get_list(spec, "pretokenizers", path, where)) {
      if (auto parsed = parse_pre_tokenizer(part, path)) parts.push_back(std::move(parsed));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "Split")
    return std::make_unique<SplitPreTokenizer>(get_pattern(spec, path, where), parse_behavior(spec, path, where),
                                               get_bool(spec, "invert", false, path, where));
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(get_bool(spec, "add_prefix_space", true, path, where),
                                                   get_bool(spec, "use_regex", true, path, where));
  if (type == "Metaspace")
    return std::make_unique<MetaspacePreTokenizer>(get_char(spec, "replacement", path, where),
                                                   parse_prepend_scheme(spec, path, where),
                                                   get_bool(spec, "split", true, path, where));
  if (type == "Digits") {
    const auto numeric = [](char32_t cp) { return is_numeric(cp); };
    return make_char_split(numeric, get_bool(spec, "individual_digits", false, path, where) ? Behavior::Isolated
                                                                                            : Behavior::Contiguous);
  }
  if (type == "WhitespaceSplit") return make_char_split([](char32_t cp) { return is_whitespace(cp); }, Behavior::Removed);
  if (type == "Whitespace") {
    // Keeps the matches of \w+|[^\w\s]+ (Invert + Removed in the crate); with Unicode \w and \s.
    return std::make_unique<SplitPreTokenizer>(Pattern::regex(R"(\w+|[^\w\s]+)"), Behavior::Removed, true);
  }
  if (type == "CharDelimiterSplit") {
    const char32_t delimiter = get_char(spec, "delimiter", path, where);
    return make_char_split([delimiter](char32_t cp) { return cp == delimiter; }, Behavior::Removed);
  }
  throw InputError(path, "pre_tokenizer type '" + type + "' is not supported yet", kSupportedPreTokenizers);
}

std::unique_ptr<const Decoder> parse_decoder(const json& spec, const std::string& path) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, path, "decoder");
  const std::string where = "decoder " + type;
  if (type == "Sequence") {
    std::vector<std::unique_ptr<const Decoder>> parts;
    for (const auto& part : get_list(spec, "decoders", path, where)) {
      if (auto parsed = parse_decoder(part, path)) parts.push_back(std::move(parsed));
    }
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace")
    return std::make_unique<MetaspaceDecoder>(get_char(spec, "replacement", path, where),
                                              parse_prepend_scheme(spec, path, where));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip")
    return std::make_unique<StripDecoder>(get_char(spec, "content", path, where), get_count(spec, "start", path, where),
                                          get_count(spec, "stop", path, where));
  if (type == "Replace")
    return std::make_unique<ReplaceDecoder>(get_pattern(spec, path, where), get_string(spec, "content", path, where));
  throw InputError(path, "decoder type '" + type + "' is not supported yet", kSupportedDecoders);
}

}  // namespace lowbit::tokenizer::hf_detail
