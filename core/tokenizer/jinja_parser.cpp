// Lexer and parser for the Jinja subset (jinja.h).
//
// The lexer reproduces jinja2.lexer with transformers' settings: newlines normalized to "\n", one trailing newline
// dropped (keep_trailing_newline=False), `{%-`/`{{-`/`{#-` strip all whitespace before the tag, `-%}`/`-}}`/`-#}`
// all whitespace after it, trim_blocks drops the first newline after `%}`/`#}` unless written `+%}`, and
// lstrip_blocks drops spaces/tabs between a line start and `{%`/`{#` unless written `{%+`. The parser follows
// jinja2.parser's precedence: filters and tests bind tighter than arithmetic (`a + b | trim` is `a + (b|trim)`),
// `not x is defined` is `not (x is defined)`.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "core/tokenizer/jinja.h"
#include "core/util/errors.h"

namespace lowbit::tokenizer::jinja {
namespace {

const char* const kSyntaxRemedy = "fix the chat template's Jinja syntax";
const char* const kUnsupportedRemedy =
    "LowBit Studio renders the Jinja2 subset Hugging Face chat templates use; simplify the template or report it";

// Every filter and test jinja2 knows, so that a misspelling ("No filter named") is told apart from a real Jinja
// feature this subset does not implement ("not supported yet").
const std::set<std::string> kJinjaFilters = {
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
    "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last",
    "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr", "replace", "reverse",
    "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "tojson", "trim",
    "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr"};
const std::set<std::string> kSupportedFilters = {
    "abs", "attr", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "indent", "int", "items",
    "join", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse",
    "round", "safe", "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper"};
const std::set<std::string> kJinjaTests = {
    "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter", "float",
    "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping", "ne", "none",
    "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper", "==", "!=", "<", "<=", ">",
    ">="};
const std::set<std::string> kUnsupportedTests = {"escaped", "filter", "test"};
const std::set<std::string> kUnsupportedGlobals = {"lipsum", "cycler", "joiner", "caller", "super", "self",
                                                   "varargs", "kwargs"};

constexpr size_t kMaxTokensPerTag = 1000;
constexpr int kMaxBlockNesting = 100;

enum class Tok { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // Text data, name, decoded string literal, operator, number spelling
  int line;
  Value number;
};

// Python's \s on str: Unicode whitespace.
size_t whitespace_len_at(const std::string& s, size_t pos) {
  const auto c = static_cast<unsigned char>(s[pos]);
  if (c < 0x80) return python_isspace(c) ? 1 : 0;
  const std::u32string cp = utf8_decode(s.substr(pos, 4));
  if (cp.empty() || !python_isspace(cp[0])) return 0;
  // Only when the bytes really are that character's UTF-8: a stray byte such as 0x85 decodes to U+0085 (two bytes
  // in UTF-8), and counting two would step past the end of the template.
  const std::string encoded = utf8_encode(cp.substr(0, 1));
  return s.compare(pos, encoded.size(), encoded) == 0 ? encoded.size() : 0;
}

size_t skip_whitespace(const std::string& s, size_t pos) {
  while (pos < s.size()) {
    const size_t n = whitespace_len_at(s, pos);
    if (n == 0) break;
    pos += n;
  }
  return pos;
}

std::string rstrip_whitespace(const std::string& s) {
  const std::u32string cps = utf8_decode(s);
  size_t end = cps.size();
  while (end > 0 && python_isspace(cps[end - 1])) --end;
  return utf8_encode(cps.substr(0, end));
}

bool all_whitespace(const std::string& s) { return !s.empty() && skip_whitespace(s, 0) == s.size(); }

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& name) : name_(name) {
    // Newlines normalized as jinja2 does; then one trailing newline dropped (keep_trailing_newline=False).
    src_.reserve(source.size());
    for (size_t k = 0; k < source.size(); ++k) {
      if (source[k] == '\r') {
        src_.push_back('\n');
        if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
      } else {
        src_.push_back(source[k]);
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      size_t tag = src_.find('{', pos_);
      while (tag != std::string::npos && tag + 1 < src_.size() && src_[tag + 1] != '{' && src_[tag + 1] != '%' &&
             src_[tag + 1] != '#')
        tag = src_.find('{', tag + 1);
      if (tag == std::string::npos || tag + 1 >= src_.size()) {
        emit_text(src_.substr(pos_));
        pos_ = src_.size();
        break;
      }
      const char kind = src_[tag + 1];
      const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      std::string text = src_.substr(pos_, tag - pos_);
      const int text_newlines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
      if (sign == '-') {
        text = rstrip_whitespace(text);
      } else if (sign != '+' && kind != '{') {
        const size_t l_pos = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((l_pos > 0 || line_starting_) && all_whitespace(text.substr(l_pos))) text.erase(l_pos);
      }
      emit_text(text);
      line_ += text_newlines;
      pos_ = tag + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        lex_comment();
      } else if (kind == '%' && lex_raw()) {
        continue;
      } else {
        lex_tag(kind == '{');
      }
    }
    tokens_.push_back({Tok::Eof, "", line_, {}});
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void fail(const std::string& problem, int line) const {
    throw InputError(name_, "line " + std::to_string(line) + ": " + problem, kSyntaxRemedy);
  }

  void emit_text(const std::string& text) {
    if (!text.empty()) tokens_.push_back({Tok::Text, text, line_, {}});
  }

  // After `%}`/`#}`: `+` keeps what follows, `-` strips all whitespace, plain drops one newline (trim_blocks).
  void after_block_end(size_t end_pos, char sign) {
    size_t next = end_pos;
    if (sign == '-')
      next = skip_whitespace(src_, end_pos);
    else if (sign != '+' && next < src_.size() && src_[next] == '\n')
      ++next;
    const std::string consumed = src_.substr(end_pos, next - end_pos);
    line_ += static_cast<int>(std::count(consumed.begin(), consumed.end(), '\n'));
    line_starting_ = next > end_pos ? src_[next - 1] == '\n' : false;
    pos_ = next;
  }

  void lex_comment() {
    const int start_line = line_;
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail("missing end of comment tag '#}'", start_line);
    const char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    line_ += static_cast<int>(std::count(src_.begin() + static_cast<long>(pos_), src_.begin() + static_cast<long>(end), '\n'));
    after_block_end(end + 2, sign);
  }

  // `{% raw %}…{% endraw %}`: the body is text, only its whitespace control applies.
  bool lex_raw() {
    size_t p = skip_whitespace(src_, pos_);
    if (src_.compare(p, 3, "raw") != 0) return false;
    p = skip_whitespace(src_, p + 3);
    char sign = 0;
    if (p < src_.size() && src_[p] == '-') sign = '-', ++p;
    if (src_.compare(p, 2, "%}") != 0) return false;
    p += 2;
    if (sign == '-') p = skip_whitespace(src_, p);
    const int start_line = line_;
    size_t search = p;
    while (true) {
      const size_t open = src_.find("{%", search);
      if (open == std::string::npos) fail("missing end of raw directive '{% endraw %}'", start_line);
      size_t q = open + 2;
      const char open_sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : 0;
      if (open_sign) ++q;
      q = skip_whitespace(src_, q);
      if (src_.compare(q, 6, "endraw") != 0) {
        search = open + 2;
        continue;
      }
      q = skip_whitespace(src_, q + 6);
      char end_sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) end_sign = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) {
        search = open + 2;
        continue;
      }
      std::string body = src_.substr(p, open - p);
      line_ += static_cast<int>(std::count(src_.begin() + static_cast<long>(pos_), src_.begin() + static_cast<long>(open), '\n'));
      if (open_sign == '-') {
        body = rstrip_whitespace(body);
      } else if (open_sign != '+') {
        const size_t l_pos = body.rfind('\n') == std::string::npos ? 0 : body.rfind('\n') + 1;
        if (l_pos > 0 && all_whitespace(body.substr(l_pos))) body.erase(l_pos);
      }
      if (!body.empty()) tokens_.push_back({Tok::Text, body, start_line, {}});
      after_block_end(q + 2, end_sign);
      return true;
    }
  }

  void lex_tag(bool variable) {
    const int start_line = line_;
    tokens_.push_back({variable ? Tok::VarBegin : Tok::BlockBegin, "", line_, {}});
    std::vector<char> balance;
    const size_t first_token = tokens_.size();
    while (true) {
      // An expression's tree is at most as deep as its tag has tokens, and it is evaluated and destroyed
      // recursively: bounding the tokens bounds the stack a hostile template can take.
      if (tokens_.size() - first_token > kMaxTokensPerTag) {
        fail("a tag of more than " + std::to_string(kMaxTokensPerTag) + " tokens, which no chat template needs",
             start_line);
      }
      // Whitespace inside the tag.
      while (pos_ < src_.size()) {
        const size_t n = whitespace_len_at(src_, pos_);
        if (n == 0) break;
        if (src_[pos_] == '\n') ++line_;
        pos_ += n;
      }
      if (pos_ >= src_.size())
        fail(std::string("unexpected end of template inside '") + (variable ? "{{" : "{%") + "' opened on line " +
                 std::to_string(start_line),
             start_line);
      if (balance.empty()) {
        if (variable) {
          if (src_.compare(pos_, 3, "-}}") == 0) {
            tokens_.push_back({Tok::VarEnd, "", line_, {}});
            const size_t next = skip_whitespace(src_, pos_ + 3);
            const std::string consumed = src_.substr(pos_ + 3, next - pos_ - 3);
            line_ += static_cast<int>(std::count(consumed.begin(), consumed.end(), '\n'));
            line_starting_ = !consumed.empty() && consumed.back() == '\n';
            pos_ = next;
            return;
          }
          if (src_.compare(pos_, 2, "}}") == 0) {
            tokens_.push_back({Tok::VarEnd, "", line_, {}});
            line_starting_ = false;
            pos_ += 2;
            return;
          }
        } else {
          for (const char* end : {"-%}", "+%}", "%}"}) {
            const std::string e(end);
            if (src_.compare(pos_, e.size(), e) == 0) {
              tokens_.push_back({Tok::BlockEnd, "", line_, {}});
              after_block_end(pos_ + e.size(), e.size() == 3 ? e[0] : 0);
              return;
            }
          }
        }
      }
      lex_expression_token(balance);
    }
  }

  void lex_expression_token(std::vector<char>& balance) {
    const char c = src_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos_;
      while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
      tokens_.push_back({Tok::Name, src_.substr(pos_, end - pos_), line_, {}});
      pos_ = end;
      return;
    }
    if (c == '\'' || c == '"') return lex_string();
    static const char* const kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]",
                                       "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"};
    for (const char* op : kOps) {
      const std::string o(op);
      if (src_.compare(pos_, o.size(), o) != 0) continue;
      if (o == "(" || o == "[" || o == "{") {
        balance.push_back(o == "(" ? ')' : o == "[" ? ']' : '}');
      } else if (o == ")" || o == "]" || o == "}") {
        if (balance.empty()) fail("unexpected '" + o + "'", line_);
        if (balance.back() != o[0]) fail("unexpected '" + o + "', expected '" + std::string(1, balance.back()) + "'", line_);
        balance.pop_back();
      }
      tokens_.push_back({Tok::Op, o, line_, {}});
      pos_ += o.size();
      return;
    }
    fail(std::string("unexpected char '") + c + "'", line_);
  }

  void lex_number() {
    size_t p = pos_;
    auto digits = [&] {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) ||
                                 (src_[p] == '_' && p + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p + 1])))))
        ++p;
    };
    if (src_[p] == '0' && p + 1 < src_.size() && std::strchr("xXoObB", src_[p + 1]))
      fail("hexadecimal, octal and binary literals are not supported yet", line_);
    digits();
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' && std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
      ++p;
      digits();
      is_float = true;
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        p = q;
        digits();
        is_float = true;
      }
    }
    std::string spelling;
    for (size_t k = pos_; k < p; ++k)
      if (src_[k] != '_') spelling.push_back(src_[k]);
    Token t{is_float ? Tok::Float : Tok::Int, spelling, line_, {}};
    if (is_float) {
      t.number = Value::floating(std::strtod(spelling.c_str(), nullptr));
    } else {
      errno = 0;
      const long long v = std::strtoll(spelling.c_str(), nullptr, 10);
      if (errno == ERANGE) fail("integer literal " + spelling + " does not fit in 64 bits", line_);
      t.number = Value::integer(v);
    }
    tokens_.push_back(t);
    pos_ = p;
  }

  // Python string literal escapes, as jinja2 decodes them ("unicode-escape").
  void lex_string() {
    const char quote = src_[pos_];
    const int start_line = line_;
    std::string out;
    size_t p = pos_ + 1;
    auto hex = [&](size_t n) -> char32_t {
      if (p + n > src_.size()) fail("truncated \\x/\\u escape in string literal", line_);
      char32_t v = 0;
      for (size_t k = 0; k < n; ++k) {
        const char h = src_[p + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) fail("truncated \\x/\\u escape in string literal", line_);
        v = v * 16 + static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      p += n;
      return v;
    };
    while (true) {
      if (p >= src_.size()) fail("unterminated string literal", start_line);
      const char c = src_[p];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        out.push_back(c);
        ++p;
        continue;
      }
      if (p + 1 >= src_.size()) fail("unterminated string literal", start_line);
      const char e = src_[p + 1];
      p += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\n': ++line_; break;  // line continuation
        case 'x': out += utf8_encode(std::u32string(1, hex(2))); break;
        case 'u': out += utf8_encode(std::u32string(1, hex(4))); break;
        case 'U': out += utf8_encode(std::u32string(1, hex(8))); break;
        case 'N': fail("\\N{...} escapes in string literals are not supported yet", line_);
        default:
          if (e >= '0' && e <= '7') {
            char32_t v = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && p < src_.size() && src_[p] >= '0' && src_[p] <= '7'; ++k)
              v = v * 8 + static_cast<char32_t>(src_[p++] - '0');
            out += utf8_encode(std::u32string(1, v));
          } else {  // Python keeps unknown escapes verbatim
            out += '\\';
            out += e;
          }
      }
    }
    tokens_.push_back({Tok::String, out, start_line, {}});
    pos_ = p + 1;
  }

  std::string src_;
  const std::string& name_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& name) : t_(std::move(tokens)), name_(name) {}

  Body parse_document() {
    std::string end;
    Body body = parse_body({}, end, "", 0);
    return body;
  }

 private:
  [[noreturn]] void fail(const std::string& problem, int line) const {
    throw InputError(name_, "line " + std::to_string(line) + ": " + problem, kSyntaxRemedy);
  }
  [[noreturn]] void unsupported(const std::string& what, int line) const {
    throw InputError(name_, "line " + std::to_string(line) + ": " + what + " is not supported yet", kUnsupportedRemedy);
  }

  const Token& peek(size_t ahead = 0) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
  const Token& next() { return t_[std::min(p_++, t_.size() - 1)]; }
  bool at_op(const char* op, size_t ahead = 0) const { return peek(ahead).type == Tok::Op && peek(ahead).text == op; }
  bool at_name(const char* n, size_t ahead = 0) const { return peek(ahead).type == Tok::Name && peek(ahead).text == n; }
  bool accept_op(const char* op) {
    if (!at_op(op)) return false;
    ++p_;
    return true;
  }
  bool accept_name(const char* n) {
    if (!at_name(n)) return false;
    ++p_;
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::Eof: return "end of template";
      case Tok::VarEnd: return "end of print statement '}}'";
      case Tok::BlockEnd: return "end of statement block '%}'";
      case Tok::Name: return "name '" + t.text + "'";
      case Tok::String: return "string";
      case Tok::Int:
      case Tok::Float: return "number " + t.text;
      case Tok::Op: return "'" + t.text + "'";
      default: return "template data";
    }
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail(std::string("expected '") + op + "', got " + describe(peek()), peek().line);
  }
  std::string expect_name() {
    if (peek().type != Tok::Name) fail("expected a name, got " + describe(peek()), peek().line);
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != Tok::BlockEnd) fail("expected end of statement block '%}', got " + describe(peek()), peek().line);
    ++p_;
  }

  // Statements until one of `end_tags` (consumed, name returned in `found`), or the end of the document.
  Body parse_body(const std::vector<std::string>& end_tags, std::string& found, const std::string& opener,
                  int opener_line) {
    if (block_depth_ >= kMaxBlockNesting) {
      fail("blocks nest more than " + std::to_string(kMaxBlockNesting) + " deep", opener_line);
    }
    ++block_depth_;
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{block_depth_};
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == Tok::Eof) {
        if (end_tags.empty()) return body;
        std::string expected;
        for (size_t k = 0; k < end_tags.size(); ++k)
          expected += (k ? (k + 1 == end_tags.size() ? " or '" : ", '") : "'") + end_tags[k] + "'";
        fail("unexpected end of template: '{% " + opener + " %}' opened on line " + std::to_string(opener_line) +
                 " was never closed (expected " + expected + ")",
             t.line);
      }
      if (t.type == Tok::Text) {
        auto n = std::make_unique<Node>(Node::Kind::Text, t.line);
        n->text = t.text;
        body.push_back(std::move(n));
        ++p_;
      } else if (t.type == Tok::VarBegin) {
        ++p_;
        auto n = std::make_unique<Node>(Node::Kind::Output, t.line);
        n->expr = parse_tuple();
        if (peek().type != Tok::VarEnd) fail("expected end of print statement '}}', got " + describe(peek()), peek().line);
        ++p_;
        body.push_back(std::move(n));
      } else if (t.type == Tok::BlockBegin) {
        ++p_;
        if (peek().type != Tok::Name) fail("expected a statement name after '{%', got " + describe(peek()), peek().line);
        const std::string keyword = peek().text;
        if (std::find(end_tags.begin(), end_tags.end(), keyword) != end_tags.end()) {
          ++p_;
          found = keyword;
          return body;
        }
        body.push_back(parse_statement());
      } else {
        fail("unexpected " + describe(t), t.line);
      }
    }
  }

  std::unique_ptr<Node> parse_statement() {
    const Token& kw = next();
    const int line = kw.line;
    const std::string& k = kw.text;
    if (k == "if") return parse_if(line);
    if (k == "for") return parse_for(line);
    if (k == "set") return parse_set(line);
    if (k == "macro") return parse_macro(line);
    if (k == "break" || k == "continue") {
      if (loop_depth_ == 0) fail("'" + k + "' outside of a loop", line);
      expect_block_end();
      return std::make_unique<Node>(k == "break" ? Node::Kind::Break : Node::Kind::Continue, line);
    }
    if (k == "filter") {
      auto n = std::make_unique<Node>(Node::Kind::FilterBlock, line);
      n->expr = parse_filter(nullptr, line);
      while (accept_op("|")) n->expr = parse_filter(std::move(n->expr), line);
      expect_block_end();
      std::string found;
      n->body = parse_body({"endfilter"}, found, "filter", line);
      expect_block_end();
      return n;
    }
    if (k == "with") {
      auto n = std::make_unique<Node>(Node::Kind::With, line);
      while (peek().type != Tok::BlockEnd) {
        if (!n->params.empty()) expect_op(",");
        std::string target = expect_name();
        expect_op("=");
        n->params.emplace_back(target, parse_expression());
      }
      expect_block_end();
      std::string found;
      n->body = parse_body({"endwith"}, found, "with", line);
      expect_block_end();
      return n;
    }
    if (k == "generation") {  // transformers' AssistantTracker: renders its body, marks assistant tokens
      auto n = std::make_unique<Node>(Node::Kind::Scope, line);
      expect_block_end();
      std::string found;
      n->body = parse_body({"endgeneration"}, found, "generation", line);
      expect_block_end();
      return n;
    }
    static const std::set<std::string> kJinjaStatements = {"call", "include", "extends", "import", "from", "block",
                                                           "autoescape", "do", "trans", "debug", "raw"};
    if (kJinjaStatements.count(k)) unsupported("the '{% " + k + " %}' statement", line);
    fail("unknown tag '" + k + "'", line);
  }

  std::unique_ptr<Node> parse_if(int line) {
    auto n = std::make_unique<Node>(Node::Kind::If, line);
    ExprPtr cond = parse_tuple();
    expect_block_end();
    while (true) {
      std::string found;
      Body body = parse_body({"elif", "else", "endif"}, found, "if", line);
      n->branches.emplace_back(std::move(cond), std::move(body));
      if (found == "elif") {
        cond = parse_tuple();
        expect_block_end();
        continue;
      }
      if (found == "else") {
        expect_block_end();
        n->else_body = parse_body({"endif"}, found, "if", line);
      }
      expect_block_end();
      return n;
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> targets;
    const bool paren = accept_op("(");
    do {
      if (peek().type == Tok::Op && peek().text == ")" && paren) break;
      targets.push_back(expect_name());
    } while (accept_op(","));
    if (paren) expect_op(")");
    return targets;
  }

  std::unique_ptr<Node> parse_for(int line) {
    auto n = std::make_unique<Node>(Node::Kind::For, line);
    n->targets = parse_targets();
    if (!accept_name("in")) fail("expected 'in' in for loop, got " + describe(peek()), peek().line);
    n->expr = parse_or();  // no ternary here: a trailing `if` filters the loop
    if (at_op(",")) unsupported("iterating over a tuple literal without parentheses", line);
    if (accept_name("if")) n->condition = parse_expression();
    if (at_name("recursive")) unsupported("recursive for loops", line);
    expect_block_end();
    ++loop_depth_;
    std::string found;
    n->body = parse_body({"else", "endfor"}, found, "for", line);
    --loop_depth_;
    if (found == "else") {
      expect_block_end();
      n->else_body = parse_body({"endfor"}, found, "for", line);
    }
    expect_block_end();
    return n;
  }

  std::unique_ptr<Node> parse_set(int line) {
    std::vector<std::string> targets;
    std::string attribute;
    targets.push_back(expect_name());
    if (accept_op(".")) {
      attribute = expect_name();
    } else {
      while (accept_op(",")) targets.push_back(expect_name());
    }
    if (accept_op("=")) {
      auto n = std::make_unique<Node>(Node::Kind::Set, line);
      n->targets = std::move(targets);
      n->attribute = attribute;
      n->expr = parse_tuple();
      expect_block_end();
      return n;
    }
    if (targets.size() != 1) fail("expected '=' after the targets of 'set'", line);
    auto n = std::make_unique<Node>(Node::Kind::SetBlock, line);
    n->targets = std::move(targets);
    n->attribute = attribute;
    while (accept_op("|")) n->expr = parse_filter(std::move(n->expr), line);
    expect_block_end();
    std::string found;
    n->body = parse_body({"endset"}, found, "set", line);
    expect_block_end();
    return n;
  }

  std::unique_ptr<Node> parse_macro(int line) {
    auto n = std::make_unique<Node>(Node::Kind::Macro, line);
    n->targets.push_back(expect_name());
    expect_op("(");
    while (!accept_op(")")) {
      if (!n->params.empty()) expect_op(",");
      if (at_op("*") || at_op("**")) unsupported("*args/**kwargs in macro parameters", line);
      std::string param = expect_name();
      ExprPtr fallback;
      if (accept_op("=")) fallback = parse_expression();
      n->params.emplace_back(param, std::move(fallback));
    }
    expect_block_end();
    const int saved_depth = loop_depth_;
    loop_depth_ = 0;
    std::string found;
    n->body = parse_body({"endmacro"}, found, "macro", line);
    loop_depth_ = saved_depth;
    if (peek().type == Tok::Name) ++p_;  // {% endmacro name %}
    expect_block_end();
    return n;
  }

  // ---- expressions ----

  ExprPtr make(Expr::Kind k, int line) { return std::make_unique<Expr>(k, line); }

  ExprPtr parse_tuple() {
    const int line = peek().line;
    ExprPtr first = parse_expression();
    if (!at_op(",")) return first;
    auto t = make(Expr::Kind::TupleLit, line);
    t->items.push_back(std::move(first));
    while (accept_op(",")) {
      if (peek().type == Tok::VarEnd || peek().type == Tok::BlockEnd) break;
      t->items.push_back(parse_expression());
    }
    return t;
  }

  ExprPtr parse_expression() {
    ExprPtr e = parse_or();
    while (at_name("if")) {
      const int line = next().line;
      auto c = make(Expr::Kind::Cond, line);
      c->a = parse_or();
      c->b = std::move(e);
      if (accept_name("else")) c->c = parse_expression();
      e = std::move(c);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (at_name("or")) {
      auto n = make(Expr::Kind::Or, next().line);
      n->a = std::move(e);
      n->b = parse_and();
      e = std::move(n);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (at_name("and")) {
      auto n = make(Expr::Kind::And, next().line);
      n->a = std::move(e);
      n->b = parse_not();
      e = std::move(n);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      auto n = make(Expr::Kind::Not, next().line);
      n->a = parse_not();
      return n;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int line = peek().line;
    ExprPtr e = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (peek().type == Tok::Op && (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
                                     peek().text == "<=" || peek().text == ">" || peek().text == ">=")) {
        op = next().text;
      } else if (at_name("in")) {
        ++p_;
        op = "in";
      } else if (at_name("not") && at_name("in", 1)) {
        p_ += 2;
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Kind::Compare, line);
        cmp->items.push_back(std::move(e));
      }
      cmp->ops.push_back(op);
      cmp->items.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(e);
  }

  ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b, int line) {
    auto n = make(Expr::Kind::Binary, line);
    n->name = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (at_op("+") || at_op("-")) {
      const Token& t = next();
      e = binary(t.text, std::move(e), parse_concat(), t.line);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (at_op("~")) {
      const Token& t = next();
      e = binary("~", std::move(e), parse_math2(), t.line);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token& t = next();
      e = binary(t.text, std::move(e), parse_pow(), t.line);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (at_op("**")) {
      const Token& t = next();
      e = binary("**", std::move(e), parse_unary(true), t.line);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      const Token& t = next();
      e = make(Expr::Kind::Unary, t.line);
      e->name = t.text;
      e->a = parse_unary(false);
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    if (t.type == Tok::Name) {
      ++p_;
      static const std::map<std::string, int> kConstants = {{"true", 1}, {"True", 1}, {"false", 0}, {"False", 0},
                                                            {"none", 2}, {"None", 2}};
      auto it = kConstants.find(t.text);
      if (it != kConstants.end()) {
        auto e = make(Expr::Kind::Literal, t.line);
        e->value = it->second == 2 ? Value::none() : Value::boolean(it->second == 1);
        return e;
      }
      if (kUnsupportedGlobals.count(t.text)) unsupported("the global '" + t.text + "'", t.line);
      auto e = make(Expr::Kind::Name, t.line);
      e->name = t.text;
      return e;
    }
    if (t.type == Tok::String) {
      auto e = make(Expr::Kind::Literal, t.line);
      std::string s;
      while (peek().type == Tok::String) s += next().text;  // adjacent literals concatenate
      e->value = Value::string(s);
      return e;
    }
    if (t.type == Tok::Int || t.type == Tok::Float) {
      ++p_;
      auto e = make(Expr::Kind::Literal, t.line);
      e->value = t.number;
      return e;
    }
    if (t.type == Tok::Op && t.text == "(") {
      ++p_;
      if (accept_op(")")) return make(Expr::Kind::TupleLit, t.line);
      ExprPtr first = parse_expression();
      if (accept_op(")")) return first;
      auto tuple = make(Expr::Kind::TupleLit, t.line);
      tuple->items.push_back(std::move(first));
      while (accept_op(",")) {
        if (at_op(")")) break;
        tuple->items.push_back(parse_expression());
      }
      expect_op(")");
      return tuple;
    }
    if (t.type == Tok::Op && t.text == "[") {
      ++p_;
      auto list = make(Expr::Kind::ListLit, t.line);
      while (!accept_op("]")) {
        if (!list->items.empty()) expect_op(",");
        if (accept_op("]")) break;
        list->items.push_back(parse_expression());
      }
      return list;
    }
    if (t.type == Tok::Op && t.text == "{") {
      ++p_;
      auto dict = make(Expr::Kind::DictLit, t.line);
      while (!accept_op("}")) {
        if (!dict->items.empty()) expect_op(",");
        if (accept_op("}")) break;
        dict->items.push_back(parse_expression());
        expect_op(":");
        dict->items.push_back(parse_expression());
      }
      return dict;
    }
    fail("unexpected " + describe(t), t.line);
  }

  void parse_call_args(Expr& call) {
    // '(' already consumed
    while (!accept_op(")")) {
      if (!call.items.empty() || !call.kwargs.empty()) expect_op(",");
      if (accept_op(")")) break;
      if (at_op("*") || at_op("**")) unsupported("*args/**kwargs in calls", peek().line);
      if (peek().type == Tok::Name && at_op("=", 1)) {
        std::string key = next().text;
        ++p_;
        call.kwargs.emplace_back(key, parse_expression());
      } else {
        if (!call.kwargs.empty()) fail("positional argument follows keyword argument", peek().line);
        call.items.push_back(parse_expression());
      }
    }
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (at_op(".")) {
        const int line = next().line;
        if (peek().type == Tok::Int) {
          auto n = make(Expr::Kind::GetItem, line);
          n->a = std::move(e);
          n->b = make(Expr::Kind::Literal, line);
          n->b->value = next().number;
          e = std::move(n);
          continue;
        }
        auto n = make(Expr::Kind::GetAttr, line);
        n->a = std::move(e);
        n->name = expect_name();
        e = std::move(n);
      } else if (at_op("[")) {
        const int line = next().line;
        ExprPtr parts[3];
        bool is_slice = false;
        for (int k = 0; k < 3; ++k) {
          if (!at_op(":") && !at_op("]")) parts[k] = parse_expression();
          if (k < 2 && accept_op(":")) {
            is_slice = true;
            continue;
          }
          break;
        }
        if (at_op(",")) unsupported("tuple subscripts", line);
        expect_op("]");
        if (is_slice) {
          auto n = make(Expr::Kind::Slice, line);
          n->a = std::move(e);
          n->b = std::move(parts[0]);
          n->c = std::move(parts[1]);
          n->d = std::move(parts[2]);
          e = std::move(n);
        } else {
          if (!parts[0]) fail("expected a subscript inside '[]'", line);
          auto n = make(Expr::Kind::GetItem, line);
          n->a = std::move(e);
          n->b = std::move(parts[0]);
          e = std::move(n);
        }
      } else if (at_op("(")) {
        const int line = next().line;
        auto n = make(Expr::Kind::Call, line);
        n->a = std::move(e);
        parse_call_args(*n);
        e = std::move(n);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filter(ExprPtr target, int line) {
    std::string name = expect_name();
    while (accept_op(".")) name += "." + expect_name();
    if (!kSupportedFilters.count(name)) {
      if (kJinjaFilters.count(name)) unsupported("filter '" + name + "'", line);
      fail("no filter named '" + name + "'", line);
    }
    auto f = make(Expr::Kind::Filter, line);
    f->name = name;
    f->a = std::move(target);
    if (accept_op("(")) parse_call_args(*f);
    if (name == "tojson") {
      for (const auto& [k, v] : f->kwargs)
        if (k != "indent" && k != "ensure_ascii" && k != "separators" && k != "sort_keys")
          fail("filter 'tojson' got an unexpected keyword argument '" + k + "'", line);
    }
    return f;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (at_op("|")) {
        const int line = next().line;
        e = parse_filter(std::move(e), line);
      } else if (at_name("is")) {
        const int line = next().line;
        auto t = make(Expr::Kind::Test, line);
        t->negated = accept_name("not");
        t->name = expect_name();
        while (accept_op(".")) t->name += "." + expect_name();
        if (!kJinjaTests.count(t->name)) fail("no test named '" + t->name + "'", line);
        if (kUnsupportedTests.count(t->name)) unsupported("test '" + t->name + "'", line);
        t->a = std::move(e);
        if (accept_op("(")) {
          parse_call_args(*t);
        } else {
          const Token& n = peek();
          const bool arg_follows =
              n.type == Tok::String || n.type == Tok::Int || n.type == Tok::Float ||
              (n.type == Tok::Op && (n.text == "[" || n.text == "{" || n.text == "(")) ||
              (n.type == Tok::Name && n.text != "else" && n.text != "or" && n.text != "and" && n.text != "if" &&
               n.text != "in" && n.text != "not" && n.text != "is");
          if (arg_follows) t->items.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (at_op("(")) {
        const int line = next().line;
        auto n = make(Expr::Kind::Call, line);
        n->a = std::move(e);
        parse_call_args(*n);
        e = std::move(n);
      } else {
        return e;
      }
    }
  }

  std::vector<Token> t_;
  const std::string& name_;
  size_t p_ = 0;
  int loop_depth_ = 0;
  int block_depth_ = 0;
};

}  // namespace

std::shared_ptr<Template> parse_template(const std::string& source, const std::string& source_name) {
  auto tmpl = std::make_shared<Template>();
  tmpl->source_name = source_name;
  std::vector<Token> tokens = Lexer(source, tmpl->source_name).run();
  tmpl->body = Parser(std::move(tokens), tmpl->source_name).parse_document();
  return tmpl;
}

}  // namespace lowbit::tokenizer::jinja
