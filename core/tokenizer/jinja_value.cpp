// Values of the Jinja subset, printed, compared and serialized exactly as Python would (see jinja.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/tokenizer/hf_unicode.h"
#include "core/tokenizer/jinja.h"

namespace lowbit::tokenizer::jinja {

namespace {
int nesting_of(const Value& v) {
  if (v.type == Value::Type::List) return v.nesting;
  if (v.dict) return v.dict->nesting;
  return 0;
}

// Values are destroyed recursively, so a loop that wraps a value in a list 100,000 times would overflow the stack
// when the render ends: the nesting is counted as values are built and refused past kMaxValueNesting.
int checked_nesting(int nesting) {
  if (nesting > kMaxValueNesting) {
    throw RenderError{"values nest more than " + std::to_string(kMaxValueNesting) +
                      " levels deep (or hold themselves), which a chat template never needs"};
  }
  return nesting;
}
}  // namespace

Value Value::undefined(std::string hint) {
  Value v;
  v.s = std::move(hint);
  return v;
}
Value Value::none() {
  Value v;
  v.type = Type::None;
  return v;
}
Value Value::boolean(bool x) {
  Value v;
  v.type = Type::Bool;
  v.b = x;
  return v;
}
Value Value::integer(int64_t x) {
  Value v;
  v.type = Type::Int;
  v.i = x;
  return v;
}
Value Value::floating(double x) {
  Value v;
  v.type = Type::Float;
  v.f = x;
  return v;
}
Value Value::string(std::string x) {
  if (x.size() > kMaxStringBytes) {
    throw RenderError{"the template builds a string of " + std::to_string(x.size()) + " bytes, more than the limit of " +
                      std::to_string(kMaxStringBytes)};
  }
  Value v;
  v.type = Type::String;
  v.s = std::move(x);
  return v;
}
Value Value::make_list(List items, bool tuple) {
  if (items.size() > kMaxListItems) {
    throw RenderError{"the template builds a list of " + std::to_string(items.size()) + " items, more than the limit of " +
                      std::to_string(kMaxListItems)};
  }
  int deepest = 0;
  for (const Value& item : items) deepest = std::max(deepest, nesting_of(item));
  Value v;
  v.type = Type::List;
  v.nesting = checked_nesting(1 + deepest);
  v.list = std::make_shared<List>(std::move(items));
  v.is_tuple = tuple;
  return v;
}
Value Value::make_dict() {
  Value v;
  v.type = Type::Dict;
  v.dict = std::make_shared<Dict>();
  return v;
}
Value Value::make_namespace() {
  Value v = make_dict();
  v.type = Type::Namespace;
  return v;
}
Value Value::function(NativeFunction f) {
  Value v;
  v.type = Type::Function;
  v.fn = std::make_shared<NativeFunction>(std::move(f));
  return v;
}

bool Value::truthy() const {
  switch (type) {
    case Type::Undefined:
    case Type::None: return false;
    case Type::Bool: return b;
    case Type::Int: return i != 0;
    case Type::Float: return f != 0.0;
    case Type::String: return !s.empty();
    case Type::List: return !list->empty();
    case Type::Dict: return !dict->items.empty();
    case Type::Namespace:
    case Type::Function: return true;
  }
  return false;
}

std::string Value::type_name() const {
  switch (type) {
    case Type::Undefined: return "Undefined";
    case Type::None: return "NoneType";
    case Type::Bool: return "bool";
    case Type::Int: return "int";
    case Type::Float: return "float";
    case Type::String: return "str";
    case Type::List: return is_tuple ? "tuple" : "list";
    case Type::Dict: return "dict";
    case Type::Namespace: return "Namespace";
    case Type::Function: return "function";
  }
  return "object";
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (equal(k, key)) return &v;
  return nullptr;
}

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k.type == Value::Type::String && k.s == key) return &v;
  return nullptr;
}


void Dict::set(const Value& key, Value value) {
  nesting = std::max(nesting, checked_nesting(1 + std::max(nesting_of(key), nesting_of(value))));
  for (auto& [k, v] : items)
    if (equal(k, key)) {
      v = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

Value CallArgs::get(size_t index, const std::string& name, Value fallback) const {
  if (index < positional.size()) return positional[index];
  for (const auto& [k, v] : keyword)
    if (k == name) return v;
  return fallback;
}

void CallArgs::expect_at_most(size_t n_positional, const std::vector<std::string>& keywords) const {
  if (positional.size() > n_positional)
    throw RenderError{callee + "() takes at most " + std::to_string(n_positional) + " positional argument(s), got " +
                      std::to_string(positional.size())};
  for (const auto& [k, v] : keyword)
    if (std::find(keywords.begin(), keywords.end(), k) == keywords.end())
      throw RenderError{callee + "() got an unexpected keyword argument '" + k + "'"};
}

// ---- UTF-8 --------------------------------------------------------------------------------------------------

std::u32string utf8_decode(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) {  // invalid byte: keep it as a code point so no text is lost
      out.push_back(c);
      ++i;
      continue;
    }
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string utf8_encode(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) hf_detail::append_utf8(out, cp);
  return out;
}

// str.isspace()/str.strip() whitespace: Unicode White_Space plus the ASCII separators Python adds (0x1c-0x1f).
bool python_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// ---- printing -----------------------------------------------------------------------------------------------

std::string python_float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0.0) return std::signbit(x) ? "-0.0" : "0.0";
  // Shortest decimal that round-trips, as Python's repr.
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string sci(buf);
  const size_t e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  const int exponent = std::atoi(sci.c_str() + e_pos + 1);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits.push_back(c);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out = digits + std::string(static_cast<size_t>(exponent + 1) - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(exponent + 1)) + "." + digits.substr(static_cast<size_t>(exponent + 1));
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += e;
  }
  return negative ? "-" + out : out;
}

namespace {

bool python_isprintable(char32_t c) {
  // Close to str.isprintable() for what chat content holds: controls, separators other than space, and
  // unassigned surrogates/non-characters are escaped by repr.
  if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0xad) return false;
  if (python_isspace(c) && c != ' ') return false;
  if ((c >= 0xd800 && c <= 0xdfff) || c == 0xfeff || (c >= 0x200b && c <= 0x200f) || (c >= 0x2060 && c <= 0x2064))
    return false;
  return true;
}

std::string string_repr(const std::string& s) {
  const std::u32string cps = utf8_decode(s);
  const bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : cps) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (!python_isprintable(c)) {
      char buf[16];
      if (c < 0x100)
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      else if (c < 0x10000)
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      else
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += utf8_encode(std::u32string(1, c));
    }
  }
  out += quote;
  return out;
}

}  // namespace

namespace {
// Counts how deep the recursive conversions below are inside a value: a list holding itself, or one nested
// 100,000 deep by a loop, must end in an error, not a stack overflow.
thread_local int value_nesting = 0;
class NestingGuard {
 public:
  NestingGuard() {
    if (++value_nesting > kMaxValueNesting) {
      --value_nesting;
      throw RenderError{"values nest more than " + std::to_string(kMaxValueNesting) +
                        " levels deep (or hold themselves), which a chat template never needs"};
    }
  }
  ~NestingGuard() { --value_nesting; }
  NestingGuard(const NestingGuard&) = delete;
  NestingGuard& operator=(const NestingGuard&) = delete;
};
}  // namespace

std::string to_repr(const Value& v) {
  switch (v.type) {
    case Value::Type::Undefined: return "";
    case Value::Type::None: return "None";
    case Value::Type::Bool: return v.b ? "True" : "False";
    case Value::Type::Int: return std::to_string(v.i);
    case Value::Type::Float: return python_float_repr(v.f);
    case Value::Type::String: return string_repr(v.s);
    case Value::Type::List: {
      const NestingGuard guard;
      std::string out = v.is_tuple ? "(" : "[";
      for (size_t k = 0; k < v.list->size(); ++k) out += (k ? ", " : "") + to_repr((*v.list)[k]);
      if (v.is_tuple && v.list->size() == 1) out += ",";
      return out + (v.is_tuple ? ")" : "]");
    }
    case Value::Type::Dict: {
      const NestingGuard guard;
      std::string out = "{";
      bool first = true;
      for (const auto& [k, x] : v.dict->items) {
        out += (first ? "" : ", ") + to_repr(k) + ": " + to_repr(x);
        first = false;
      }
      return out + "}";
    }
    case Value::Type::Namespace: return "<Namespace>";
    case Value::Type::Function: return "<function>";
  }
  return "";
}

std::string to_str(const Value& v) {
  if (v.type == Value::Type::String) return v.s;
  return to_repr(v);
}

// ---- comparison ---------------------------------------------------------------------------------------------

namespace {
double as_double(const Value& v) {
  return v.type == Value::Type::Float ? v.f : v.type == Value::Type::Int ? static_cast<double>(v.i) : v.b ? 1.0 : 0.0;
}
}  // namespace

bool equal(const Value& a, const Value& b) {
  const NestingGuard guard;
  if (a.is_number() && b.is_number()) {
    if (a.type != Value::Type::Float && b.type != Value::Type::Float)
      return (a.type == Value::Type::Int ? a.i : a.b) == (b.type == Value::Type::Int ? b.i : b.b);
    return as_double(a) == as_double(b);
  }
  if (a.type != b.type) return false;
  switch (a.type) {
    case Value::Type::Undefined:
    case Value::Type::None: return true;
    case Value::Type::String: return a.s == b.s;
    case Value::Type::List:
      if (a.is_tuple != b.is_tuple || a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k)
        if (!equal((*a.list)[k], (*b.list)[k])) return false;
      return true;
    case Value::Type::Dict:
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [k, x] : a.dict->items) {
        const Value* y = b.dict->find(k);
        if (!y || !equal(x, *y)) return false;
      }
      return true;
    case Value::Type::Namespace: return a.dict == b.dict;
    case Value::Type::Function: return a.fn == b.fn;
    default: return false;
  }
}

bool less(const Value& a, const Value& b) {
  const NestingGuard guard;
  if (a.is_number() && b.is_number()) {
    if (a.type != Value::Type::Float && b.type != Value::Type::Float)
      return (a.type == Value::Type::Int ? a.i : a.b) < (b.type == Value::Type::Int ? b.i : b.b);
    return as_double(a) < as_double(b);
  }
  if (a.is_string() && b.is_string()) return a.s < b.s;  // UTF-8 byte order is code point order
  if (a.is_list() && b.is_list() && a.is_tuple == b.is_tuple) {
    const size_t n = std::min(a.list->size(), b.list->size());
    for (size_t k = 0; k < n; ++k)
      if (!equal((*a.list)[k], (*b.list)[k])) return less((*a.list)[k], (*b.list)[k]);
    return a.list->size() < b.list->size();
  }
  throw RenderError{"'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'"};
}

// ---- JSON as Python's json.dumps ------------------------------------------------------------------------------

namespace {

void json_string(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  for (char32_t c : utf8_decode(s)) {
    char buf[16];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || (ensure_ascii && c > 0x7e)) {
          if (c >= 0x10000) {
            const char32_t v = c - 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xd800 + (v >> 10)),
                          static_cast<unsigned>(0xdc00 + (v & 0x3ff)));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          }
          out += buf;
        } else {
          out += utf8_encode(std::u32string(1, c));
        }
    }
  }
  out += '"';
}

void json_value(const Value& v, const JsonOptions& o, int depth, std::string& out) {
  const NestingGuard guard;
  const bool pretty = o.indent >= 0;
  auto newline = [&](int level) {
    out += '\n';
    for (int k = 0; k < level; ++k) out += o.indent_text;
    if (out.size() > kMaxStringBytes) throw RenderError{"tojson would build a string past the limit"};
  };
  switch (v.type) {
    case Value::Type::None: out += "null"; return;
    case Value::Type::Bool: out += v.b ? "true" : "false"; return;
    case Value::Type::Int: out += std::to_string(v.i); return;
    case Value::Type::Float:
      out += std::isnan(v.f) ? "NaN" : std::isinf(v.f) ? (v.f > 0 ? "Infinity" : "-Infinity") : python_float_repr(v.f);
      return;
    case Value::Type::String: json_string(v.s, o.ensure_ascii, out); return;
    case Value::Type::List: {
      if (v.list->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += o.item_separator;
        if (pretty) newline(depth + 1);
        json_value((*v.list)[k], o, depth + 1, out);
      }
      if (pretty) newline(depth);
      out += ']';
      return;
    }
    case Value::Type::Dict: {
      if (v.dict->items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<Value, Value>*> entries;
      for (const auto& e : v.dict->items) entries.push_back(&e);
      if (o.sort_keys)
        std::stable_sort(entries.begin(), entries.end(), [](auto* x, auto* y) { return less(x->first, y->first); });
      out += '{';
      bool first = true;
      for (const auto* e : entries) {
        if (!first) out += o.item_separator;
        first = false;
        if (pretty) newline(depth + 1);
        const Value& key = e->first;
        if (key.is_string())
          json_string(key.s, o.ensure_ascii, out);
        else if (key.is_number() || key.is_none())
          json_string(key.is_none() ? "null" : key.type == Value::Type::Bool ? (key.b ? "true" : "false")
                                                                              : to_repr(key),
                      o.ensure_ascii, out);
        else
          throw RenderError{"keys must be str, int, float, bool or None, not " + key.type_name()};
        out += o.key_separator;
        json_value(e->second, o, depth + 1, out);
      }
      if (pretty) newline(depth);
      out += '}';
      return;
    }
    default: throw RenderError{"Object of type " + v.type_name() + " is not JSON serializable"};
  }
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options) {
  std::string out;
  json_value(v, options, 0, out);
  return out;
}

}  // namespace lowbit::tokenizer::jinja
