// Evaluator for the Jinja subset (jinja.h): statements, expressions, filters, tests, methods and globals, with
// jinja2's scoping (a for-loop iteration is a scope, `if` is not, `set` writes the innermost scope, namespace()
// objects are shared by reference) and jinja2.Undefined semantics.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <map>
#include <set>

#include "core/tokenizer/jinja.h"

namespace lowbit::tokenizer::jinja {
namespace {

[[noreturn]] void undefined_error(const Value& v) {
  throw RenderError{v.s.empty() ? "value is undefined" : v.s};
}

[[noreturn]] void unsupported(const std::string& what) {
  RenderError e{what + " is not supported yet"};
  e.unsupported = true;
  throw e;
}

void require_defined(const Value& v) {
  if (v.is_undefined()) undefined_error(v);
}

const std::string& require_string(const Value& v, const std::string& what) {
  if (!v.is_string()) {
    require_defined(v);
    throw RenderError{what + " requires a str, not '" + v.type_name() + "'"};
  }
  return v.s;
}

int64_t as_int(const Value& v, const std::string& what) {
  if (v.type == Value::Type::Int) return v.i;
  if (v.type == Value::Type::Bool) return v.b ? 1 : 0;
  require_defined(v);
  throw RenderError{what + ": '" + v.type_name() + "' object cannot be interpreted as an integer"};
}

double as_double(const Value& v) {
  return v.type == Value::Type::Float ? v.f : v.type == Value::Type::Int ? static_cast<double>(v.i) : v.b ? 1.0 : 0.0;
}

// ---- strings ----

// Case mapping for the scripts chat content mostly uses: ASCII, Latin-1, Latin Extended-A, Latin Extended
// Additional (Vietnamese), Greek, Cyrillic, fullwidth Latin. Code points in other cased blocks are an
// "unsupported" error rather than a silently different result from Python's full Unicode tables.
bool in_alternating_pairs(char32_t c, char32_t& upper, char32_t& lower) {
  struct Range {
    char32_t first, last;
    bool upper_even;
  };
  static const Range kRanges[] = {{0x100, 0x12f, true},   {0x132, 0x137, true},   {0x139, 0x148, false},
                                  {0x14a, 0x177, true},   {0x179, 0x17e, false},  {0x460, 0x481, true},
                                  {0x48a, 0x4bf, true},   {0x4d0, 0x52f, true},   {0x1e00, 0x1e95, true},
                                  {0x1ea0, 0x1eff, true}};
  for (const auto& r : kRanges) {
    if (c < r.first || c > r.last) continue;
    const bool is_upper = ((c % 2) == 0) == r.upper_even;
    upper = is_upper ? c : c - 1;
    lower = is_upper ? c + 1 : c;
    return true;
  }
  return false;
}

void check_case_supported(char32_t c) {
  static const std::pair<char32_t, char32_t> kUnsupported[] = {
      {0x130, 0x131}, {0x149, 0x149}, {0x17f, 0x24f}, {0x250, 0x2af}, {0x345, 0x345}, {0x370, 0x390},
      {0x3aa, 0x3b0}, {0x3ca, 0x3ff}, {0x4c0, 0x4cf}, {0x530, 0x58f}, {0x10a0, 0x10ff}, {0x13a0, 0x13ff},
      {0x1c80, 0x1cbf}, {0x1d00, 0x1dbf}, {0x1e96, 0x1e9f}, {0x1f00, 0x1fff}, {0x2126, 0x2133}, {0x2160, 0x2188},
      {0x24b6, 0x24e9}, {0x2c00, 0x2d2f}, {0xa640, 0xa7ff}, {0xab30, 0xabbf}, {0xfb00, 0xfb17}, {0x10400, 0x1e95f}};
  for (const auto& [first, last] : kUnsupported) {
    if (c >= first && c <= last && c != 0x178) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "upper/lower case mapping of U+%04X", static_cast<unsigned>(c));
      unsupported(buf);
    }
  }
}

char32_t lower_cp(char32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
  check_case_supported(c);
  char32_t upper, lower;
  if (in_alternating_pairs(c, upper, lower)) return lower;
  if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) || (c >= 0x410 && c <= 0x42f) ||
      (c >= 0xff21 && c <= 0xff3a))
    return c + 0x20;
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  if (c == 0x178) return 0xff;
  return c;
}

std::u32string upper_cps(const std::u32string& s) {
  std::u32string out;
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(c >= 'a' && c <= 'z' ? c - 0x20 : c);
      continue;
    }
    check_case_supported(c);
    char32_t upper, lower;
    if (in_alternating_pairs(c, upper, lower))
      out.push_back(upper);
    else if ((c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) ||
             (c >= 0x430 && c <= 0x44f) || (c >= 0xff41 && c <= 0xff5a))
      out.push_back(c - 0x20);
    else if (c >= 0x450 && c <= 0x45f)
      out.push_back(c - 0x50);
    else if (c == 0xdf)
      out += U"SS";
    else if (c == 0xff)
      out.push_back(0x178);
    else if (c == 0xb5)
      out.push_back(0x39c);
    else if (c == 0x3c2)
      out.push_back(0x3a3);
    else
      out.push_back(c);
  }
  return out;
}

std::string str_lower(const std::string& s) {
  std::u32string cps = utf8_decode(s);
  for (auto& c : cps) c = lower_cp(c);
  return utf8_encode(cps);
}
std::string str_upper(const std::string& s) { return utf8_encode(upper_cps(utf8_decode(s))); }

bool is_alnum_cp(char32_t c) {
  return (c < 0x80 && std::isalnum(static_cast<int>(c))) || (c >= 0xc0 && c != 0xd7 && c != 0xf7 && !python_isspace(c));
}

std::string str_capitalize(const std::string& s) {
  std::u32string cps = utf8_decode(s);
  if (cps.empty()) return s;
  std::u32string out = upper_cps(cps.substr(0, 1));
  for (size_t k = 1; k < cps.size(); ++k) out.push_back(lower_cp(cps[k]));
  return utf8_encode(out);
}

// Python's str.title(): a cased letter after an uncased character starts a word.
std::string str_title_python(const std::string& s) {
  std::u32string out;
  bool prev_cased = false;
  for (char32_t c : utf8_decode(s)) {
    const bool cased = lower_cp(c) != c || upper_cps(std::u32string(1, c)) != std::u32string(1, c);
    if (cased) {
      if (prev_cased)
        out.push_back(lower_cp(c));
      else
        out += upper_cps(std::u32string(1, c));
    } else {
      out.push_back(c);
    }
    prev_cased = cased;
  }
  return utf8_encode(out);
}

// jinja2's title filter: words start after whitespace or one of -([{<.
std::string str_title_jinja(const std::string& s) {
  std::u32string out;
  bool word_start = true;
  for (char32_t c : utf8_decode(s)) {
    const bool separator = python_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (separator) {
      out.push_back(c);
      word_start = true;
    } else {
      if (word_start)
        out += upper_cps(std::u32string(1, c));
      else
        out.push_back(lower_cp(c));
      word_start = false;
    }
  }
  return utf8_encode(out);
}

std::string str_strip(const std::string& s, const Value& chars, bool left, bool right) {
  const std::u32string cps = utf8_decode(s);
  std::u32string set;
  const bool whitespace = chars.is_none() || chars.is_undefined();
  if (!whitespace) set = utf8_decode(require_string(chars, "strip()"));
  auto strip_it = [&](char32_t c) { return whitespace ? python_isspace(c) : set.find(c) != std::u32string::npos; };
  size_t begin = 0, end = cps.size();
  if (left)
    while (begin < end && strip_it(cps[begin])) ++begin;
  if (right)
    while (end > begin && strip_it(cps[end - 1])) --end;
  return utf8_encode(cps.substr(begin, end - begin));
}

Value str_split(const std::string& s, const Value& sep, int64_t maxsplit) {
  List parts;
  if (sep.is_none() || sep.is_undefined()) {
    const std::u32string cps = utf8_decode(s);
    size_t k = 0;
    while (true) {
      while (k < cps.size() && python_isspace(cps[k])) ++k;
      if (k >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        size_t end = cps.size();
        while (end > k && python_isspace(cps[end - 1])) --end;
        parts.push_back(Value::string(utf8_encode(cps.substr(k, end - k))));
        break;
      }
      size_t start = k;
      while (k < cps.size() && !python_isspace(cps[k])) ++k;
      parts.push_back(Value::string(utf8_encode(cps.substr(start, k - start))));
    }
    return Value::make_list(std::move(parts));
  }
  const std::string& d = require_string(sep, "split()");
  if (d.empty()) throw RenderError{"empty separator"};
  size_t start = 0;
  while (true) {
    const size_t at = s.find(d, start);
    if (at == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit)) break;
    parts.push_back(Value::string(s.substr(start, at - start)));
    start = at + d.size();
  }
  parts.push_back(Value::string(s.substr(start)));
  return Value::make_list(std::move(parts));
}

std::string str_replace(const std::string& s, const std::string& old, const std::string& replacement, int64_t count) {
  std::string out;
  if (old.empty()) {  // Python inserts the replacement around every code point
    const std::u32string cps = utf8_decode(s);
    int64_t n = 0;
    for (char32_t c : cps) {
      if (count < 0 || n < count) out += replacement, ++n;
      out += utf8_encode(std::u32string(1, c));
    }
    if (count < 0 || n < count) out += replacement;
    return out;
  }
  size_t start = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    const size_t at = s.find(old, start);
    if (at == std::string::npos) break;
    out += s.substr(start, at - start) + replacement;
    start = at + old.size();
    ++n;
  }
  return out + s.substr(start);
}

std::vector<std::u32string> splitlines(const std::u32string& s) {
  std::vector<std::u32string> lines;
  std::u32string cur;
  for (size_t k = 0; k < s.size(); ++k) {
    const char32_t c = s[k];
    if (c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x85 ||
        c == 0x2028 || c == 0x2029) {
      if (c == '\r' && k + 1 < s.size() && s[k + 1] == '\n') ++k;
      lines.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// ---- sequences ----

List to_list(const Value& v) {
  switch (v.type) {
    case Value::Type::Undefined: return {};
    case Value::Type::List: return *v.list;
    case Value::Type::String: {
      List out;
      for (char32_t c : utf8_decode(v.s)) out.push_back(Value::string(utf8_encode(std::u32string(1, c))));
      return out;
    }
    case Value::Type::Dict: {
      List out;
      for (const auto& [k, x] : v.dict->items) out.push_back(k);
      return out;
    }
    default: throw RenderError{"'" + v.type_name() + "' object is not iterable"};
  }
}

int64_t length_of(const Value& v) {
  switch (v.type) {
    case Value::Type::Undefined: return 0;
    case Value::Type::String: return static_cast<int64_t>(utf8_decode(v.s).size());
    case Value::Type::List: return static_cast<int64_t>(v.list->size());
    case Value::Type::Dict:
    case Value::Type::Namespace: return static_cast<int64_t>(v.dict->items.size());
    default: throw RenderError{"object of type '" + v.type_name() + "' has no len()"};
  }
}

bool contains(const Value& container, const Value& needle) {
  switch (container.type) {
    case Value::Type::Undefined: return false;
    case Value::Type::String:
      if (!needle.is_string())
        throw RenderError{"'in <string>' requires string as left operand, not " + needle.type_name()};
      return container.s.find(needle.s) != std::string::npos;
    case Value::Type::List:
      return std::any_of(container.list->begin(), container.list->end(), [&](const Value& x) { return equal(x, needle); });
    case Value::Type::Dict: return container.dict->find(needle) != nullptr;
    default: throw RenderError{"argument of type '" + container.type_name() + "' is not iterable"};
  }
}

// n spaces (none for n <= 0), refusing a width that alone passes the string limit.
std::string spaces(int64_t n) {
  if (n > static_cast<int64_t>(kMaxStringBytes)) throw RenderError{"an indent of " + std::to_string(n) + " is past the limit"};
  return std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
}

// Python's slice index normalization.
void slice_indices(int64_t n, const Value& start_v, const Value& stop_v, const Value& step_v, int64_t& start,
                   int64_t& stop, int64_t& step) {
  step = step_v.is_none() || step_v.is_undefined() ? 1 : as_int(step_v, "slice step");
  if (step == 0) throw RenderError{"slice step cannot be zero"};
  auto norm = [&](const Value& v, int64_t fallback) {
    if (v.is_none() || v.is_undefined()) return fallback;
    int64_t x = as_int(v, "slice index");
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  start = norm(start_v, step > 0 ? 0 : n - 1);
  stop = norm(stop_v, step > 0 ? n : -1);
}

struct Frame {
  std::map<std::string, Value> vars;
  Frame* parent = nullptr;

  const Value* lookup(const std::string& name) const {
    for (const Frame* f = this; f; f = f->parent) {
      auto it = f->vars.find(name);
      if (it != f->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

enum class Flow { Normal, Break, Continue };

class Renderer {
 public:

  Flow exec(const Body& body, Frame& frame, std::string& out) {
    for (const auto& node : body) {
      const Flow flow = exec_node(*node, frame, out);
      if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
  }

 private:
  Flow exec_node(const Node& n, Frame& frame, std::string& out) {
    try {
      count_step();
      const Flow flow = exec_node_inner(n, frame, out);
      if (out.size() > kMaxStringBytes) {
        throw RenderError{"the template's output passed the limit of " + std::to_string(kMaxStringBytes) + " bytes"};
      }
      return flow;
    } catch (RenderError& e) {
      if (e.line == 0) e.line = n.line;
      throw;
    }
  }

  Flow exec_node_inner(const Node& n, Frame& frame, std::string& out) {
    switch (n.kind) {
      case Node::Kind::Text: out += n.text; return Flow::Normal;
      case Node::Kind::Output: {
        const Value v = eval(*n.expr, frame);
        if (v.type == Value::Type::Function) throw RenderError{"cannot print a function; call it"};
        out += to_str(v);
        return Flow::Normal;
      }
      case Node::Kind::If:
        for (const auto& [cond, body] : n.branches)
          if (eval(*cond, frame).truthy()) return exec(body, frame, out);
        return exec(n.else_body, frame, out);
      case Node::Kind::For: return exec_for(n, frame, out);
      case Node::Kind::Set: assign(n, eval(*n.expr, frame), frame); return Flow::Normal;
      case Node::Kind::SetBlock: {
        std::string captured;
        exec(n.body, frame, captured);
        Value v = Value::string(captured);
        if (n.expr) v = eval_filter_chain(*n.expr, v, frame);
        assign(n, v, frame);
        return Flow::Normal;
      }
      case Node::Kind::Macro: frame.vars[n.targets[0]] = make_macro(n, frame); return Flow::Normal;
      case Node::Kind::Break: return Flow::Break;
      case Node::Kind::Continue: return Flow::Continue;
      case Node::Kind::FilterBlock: {
        std::string captured;
        Frame inner{{}, &frame};
        exec(n.body, inner, captured);
        out += to_str(eval_filter_chain(*n.expr, Value::string(captured), frame));
        return Flow::Normal;
      }
      case Node::Kind::With: {
        Frame inner{{}, &frame};
        for (const auto& [name, expr] : n.params) inner.vars[name] = eval(*expr, frame);
        return exec(n.body, inner, out);
      }
      case Node::Kind::Scope: {
        Frame inner{{}, &frame};
        return exec(n.body, inner, out);
      }
    }
    return Flow::Normal;
  }

  void assign(const Node& n, const Value& v, Frame& frame) {
    if (!n.attribute.empty()) {
      const Value* target = frame.lookup(n.targets[0]);
      if (!target || target->type != Value::Type::Namespace)
        throw RenderError{"cannot assign attribute on non-namespace object"};
      target->dict->set(Value::string(n.attribute), v);
      return;
    }
    if (n.targets.size() == 1) {
      frame.vars[n.targets[0]] = v;
      return;
    }
    const List items = to_list(v);
    if (items.size() != n.targets.size())
      throw RenderError{(items.size() > n.targets.size() ? "too many values to unpack (expected "
                                                         : "not enough values to unpack (expected ") +
                        std::to_string(n.targets.size()) + ")"};
    for (size_t k = 0; k < items.size(); ++k) frame.vars[n.targets[k]] = items[k];
  }

  Flow exec_for(const Node& n, Frame& frame, std::string& out) {
    const Value iterable = eval(*n.expr, frame);
    if (iterable.is_none() || iterable.is_number()) throw RenderError{"'" + iterable.type_name() + "' object is not iterable"};
    List items = to_list(iterable);
    auto bind = [&](Frame& f, const Value& item) {
      if (n.targets.size() == 1) {
        f.vars[n.targets[0]] = item;
        return;
      }
      const List parts = to_list(item);
      if (parts.size() != n.targets.size())
        throw RenderError{(parts.size() > n.targets.size() ? "too many values to unpack (expected "
                                                           : "not enough values to unpack (expected ") +
                          std::to_string(n.targets.size()) + ")"};
      for (size_t k = 0; k < parts.size(); ++k) f.vars[n.targets[k]] = parts[k];
    };
    if (n.condition) {
      List kept;
      for (const Value& item : items) {
        Frame probe{{}, &frame};
        bind(probe, item);
        if (eval(*n.condition, probe).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      Frame inner{{}, &frame};
      return exec(n.else_body, inner, out);  // a break here belongs to an enclosing loop
    }
    const auto count = static_cast<int64_t>(items.size());
    for (int64_t k = 0; k < count; ++k) {
      Frame inner{{}, &frame};
      bind(inner, items[static_cast<size_t>(k)]);
      Value loop = Value::make_dict();
      auto& d = *loop.dict;
      d.set(Value::string("index0"), Value::integer(k));
      d.set(Value::string("index"), Value::integer(k + 1));
      d.set(Value::string("revindex0"), Value::integer(count - k - 1));
      d.set(Value::string("revindex"), Value::integer(count - k));
      d.set(Value::string("first"), Value::boolean(k == 0));
      d.set(Value::string("last"), Value::boolean(k == count - 1));
      d.set(Value::string("length"), Value::integer(count));
      d.set(Value::string("depth"), Value::integer(1));
      d.set(Value::string("depth0"), Value::integer(0));
      d.set(Value::string("previtem"),
            k > 0 ? items[static_cast<size_t>(k - 1)] : Value::undefined("there is no previous item"));
      d.set(Value::string("nextitem"),
            k + 1 < count ? items[static_cast<size_t>(k + 1)] : Value::undefined("there is no next item"));
      d.set(Value::string("cycle"), Value::function([k](CallArgs& args) -> Value {
              if (args.positional.empty()) throw RenderError{"no items for cycling given"};
              return args.positional[static_cast<size_t>(k) % args.positional.size()];
            }));
      inner.vars["loop"] = loop;
      if (exec(n.body, inner, out) == Flow::Break) break;
    }
    return Flow::Normal;
  }

  Value make_macro(const Node& n, Frame& defining) {
    const Node* node = &n;
    Frame* scope = &defining;
    return Value::function([this, node, scope](CallArgs& args) -> Value {
      Frame inner{{}, scope};
      if (args.positional.size() > node->params.size())
        throw RenderError{"macro '" + node->targets[0] + "' takes not more than " +
                          std::to_string(node->params.size()) + " argument(s)"};
      for (size_t k = 0; k < node->params.size(); ++k) {
        const auto& [name, fallback] = node->params[k];
        Value v = args.get(k, name);
        if (v.is_undefined() && fallback && k >= args.positional.size()) v = eval(*fallback, inner);
        if (v.is_undefined() && !fallback) v = Value::undefined("'" + name + "' is undefined");
        inner.vars[name] = v;
      }
      for (const auto& keyword : args.keyword) {
        const std::string& k = keyword.first;
        const bool known = std::any_of(node->params.begin(), node->params.end(),
                                       [&](const auto& p) { return p.first == k; });
        if (!known) throw RenderError{"macro '" + node->targets[0] + "' takes no keyword argument '" + k + "'"};
      }
      if (macro_depth_ >= kMaxMacroCallDepth) {
        throw RenderError{"macros call each other more than " + std::to_string(kMaxMacroCallDepth) +
                          " deep (endless recursion?)"};
      }
      ++macro_depth_;
      std::string out;
      try {
        exec(node->body, inner, out);
      } catch (...) {
        --macro_depth_;
        throw;
      }
      --macro_depth_;
      return Value::string(out);
    });
  }

  void count_step() {
    if (++steps_ > kMaxRenderSteps) {
      throw RenderError{"the template ran more than " + std::to_string(kMaxRenderSteps) +
                        " steps without finishing (an endless or enormous loop?)"};
    }
  }

  int64_t steps_ = 0;
  int macro_depth_ = 0;

  // ---- expressions ----

  Value eval(const Expr& e, Frame& frame) {
    try {
      count_step();
      return eval_inner(e, frame);
    } catch (RenderError& err) {
      if (err.line == 0) err.line = e.line;
      throw;
    }
  }

  Value eval_inner(const Expr& e, Frame& frame) {
    switch (e.kind) {
      case Expr::Kind::Literal: return e.value;
      case Expr::Kind::Name: {
        const Value* v = frame.lookup(e.name);
        return v ? *v : Value::undefined("'" + e.name + "' is undefined");
      }
      case Expr::Kind::ListLit:
      case Expr::Kind::TupleLit: {
        List items;
        for (const auto& x : e.items) items.push_back(eval(*x, frame));
        return Value::make_list(std::move(items), e.kind == Expr::Kind::TupleLit);
      }
      case Expr::Kind::DictLit: {
        Value d = Value::make_dict();
        for (size_t k = 0; k + 1 < e.items.size(); k += 2) d.dict->set(eval(*e.items[k], frame), eval(*e.items[k + 1], frame));
        return d;
      }
      case Expr::Kind::GetAttr: return get_attr(eval(*e.a, frame), e.name);
      case Expr::Kind::GetItem: return get_item(eval(*e.a, frame), eval(*e.b, frame));
      case Expr::Kind::Slice: {
        const Value obj = eval(*e.a, frame);
        const Value start = e.b ? eval(*e.b, frame) : Value::none();
        const Value stop = e.c ? eval(*e.c, frame) : Value::none();
        const Value step = e.d ? eval(*e.d, frame) : Value::none();
        return slice(obj, start, stop, step);
      }
      case Expr::Kind::Call: {
        const Value callee = eval(*e.a, frame);
        CallArgs args = eval_args(e, frame);
        if (callee.type != Value::Type::Function) {
          require_defined(callee);
          throw RenderError{"'" + callee.type_name() + "' object is not callable"};
        }
        if (e.a->kind == Expr::Kind::Name) args.callee = e.a->name;
        if (e.a->kind == Expr::Kind::GetAttr) args.callee = e.a->name;
        return (*callee.fn)(args);
      }
      case Expr::Kind::Filter: {
        const Value target = eval(*e.a, frame);
        CallArgs args = eval_args(e, frame);
        return apply_filter(e.name, target, args);
      }
      case Expr::Kind::Test: {
        const Value target = eval(*e.a, frame);
        CallArgs args = eval_args(e, frame);
        return Value::boolean(apply_test(e.name, target, args) != e.negated);
      }
      case Expr::Kind::Unary: {
        const Value v = eval(*e.a, frame);
        require_defined(v);
        if (!v.is_number()) throw RenderError{"bad operand type for unary " + e.name + ": '" + v.type_name() + "'"};
        if (e.name == "+") return v.type == Value::Type::Bool ? Value::integer(v.b) : v;
        if (v.type == Value::Type::Float) return Value::floating(-v.f);
        return Value::integer(-as_int(v, "-"));
      }
      case Expr::Kind::Binary: {
        const Value a = eval(*e.a, frame);
        const Value b = eval(*e.b, frame);
        return binary(e.name, a, b);
      }
      case Expr::Kind::Compare: {
        Value left = eval(*e.items[0], frame);
        for (size_t k = 0; k < e.ops.size(); ++k) {
          const Value right = eval(*e.items[k + 1], frame);
          if (!compare(e.ops[k], left, right)) return Value::boolean(false);
          left = right;
        }
        return Value::boolean(true);
      }
      case Expr::Kind::And: {
        Value a = eval(*e.a, frame);
        return a.truthy() ? eval(*e.b, frame) : a;
      }
      case Expr::Kind::Or: {
        Value a = eval(*e.a, frame);
        return a.truthy() ? a : eval(*e.b, frame);
      }
      case Expr::Kind::Not: return Value::boolean(!eval(*e.a, frame).truthy());
      case Expr::Kind::Cond:
        if (eval(*e.a, frame).truthy()) return eval(*e.b, frame);
        return e.c ? eval(*e.c, frame) : Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                                             " evaluated to false and no else section was defined.");
    }
    return Value::undefined();
  }

  CallArgs eval_args(const Expr& e, Frame& frame) {
    CallArgs args;
    for (const auto& x : e.items) args.positional.push_back(eval(*x, frame));
    for (const auto& [k, x] : e.kwargs) args.keyword.emplace_back(k, eval(*x, frame));
    args.callee = e.name;
    return args;
  }

  Value eval_filter_chain(const Expr& f, const Value& innermost, Frame& frame) {
    const Value target = f.a ? eval_filter_chain(*f.a, innermost, frame) : innermost;
    CallArgs args = eval_args(f, frame);
    return apply_filter(f.name, target, args);
  }

  bool compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return equal(a, b);
    if (op == "!=") return !equal(a, b);
    if (op == "in") return contains(b, a);
    if (op == "not in") return !contains(b, a);
    require_defined(a);
    require_defined(b);
    try {
      if (op == "<") return less(a, b);
      if (op == ">") return less(b, a);
      if (op == "<=") return !less(b, a);
      if (op == ">=") return !less(a, b);
    } catch (RenderError& err) {
      err.message = "'" + op + "' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'";
      throw;
    }
    throw RenderError{"unknown comparison " + op};
  }

  static Value checked_int(long double x, int64_t result) {
    if (x > static_cast<long double>(std::numeric_limits<int64_t>::max()) ||
        x < static_cast<long double>(std::numeric_limits<int64_t>::min()))
      unsupported("integer arithmetic beyond 64 bits");
    return Value::integer(result);
  }

  Value binary(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") return Value::string(to_str(a) + to_str(b));
    require_defined(a);
    require_defined(b);
    auto type_error = [&]() -> RenderError {
      if (op == "+" && a.is_string()) return RenderError{"can only concatenate str (not \"" + b.type_name() + "\") to str"};
      if (op == "+" && a.is_list()) return RenderError{"can only concatenate " + a.type_name() + " (not \"" + b.type_name() + "\") to " + a.type_name()};
      return RenderError{"unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'"};
    };
    const bool ints = a.is_number() && b.is_number() && a.type != Value::Type::Float && b.type != Value::Type::Float;
    if (a.is_number() && b.is_number()) {
      const double x = as_double(a), y = as_double(b);
      const int64_t i = ints ? as_int(a, op) : 0, j = ints ? as_int(b, op) : 0;
      if (op == "+") return ints ? checked_int(static_cast<long double>(i) + j, i + j) : Value::floating(x + y);
      if (op == "-") return ints ? checked_int(static_cast<long double>(i) - j, i - j) : Value::floating(x - y);
      if (op == "*") return ints ? checked_int(static_cast<long double>(i) * j, i * j) : Value::floating(x * y);
      if (op == "/") {
        if (y == 0) throw RenderError{"division by zero"};
        return Value::floating(x / y);
      }
      if (op == "//" || op == "%") {
        if (y == 0) throw RenderError{ints ? "integer division or modulo by zero" : "float divmod()"};
        if (ints) {
          int64_t q = i / j, r = i % j;
          if (r != 0 && ((r < 0) != (j < 0))) --q, r += j;
          return Value::integer(op == "//" ? q : r);
        }
        const double q = std::floor(x / y);
        double r = std::fmod(x, y);
        if (r != 0 && ((r < 0) != (y < 0))) r += y;
        return Value::floating(op == "//" ? q : r);
      }
      if (op == "**") {
        if (ints && j >= 0) {
          const long double approx = std::pow(static_cast<long double>(i), static_cast<long double>(j));
          int64_t r = 1;
          for (int64_t k = 0; k < j && std::fabs(approx) < 9.2e18L; ++k) r *= i;
          return checked_int(approx, r);
        }
        return Value::floating(std::pow(x, y));
      }
    }
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value::string(a.s + b.s);
      if (a.is_list() && b.is_list() && a.is_tuple == b.is_tuple) {
        List items = *a.list;
        items.insert(items.end(), b.list->begin(), b.list->end());
        return Value::make_list(std::move(items), a.is_tuple);
      }
    }
    if (op == "*") {
      const Value* seq = a.is_string() || a.is_list() ? &a : b.is_string() || b.is_list() ? &b : nullptr;
      const Value* count = seq == &a ? &b : &a;
      if (seq && (count->type == Value::Type::Int || count->type == Value::Type::Bool)) {
        const int64_t n = as_int(*count, "*");
        const size_t unit = seq->is_string() ? seq->s.size() : seq->list->size();
        const size_t limit = seq->is_string() ? kMaxStringBytes : kMaxListItems;
        if (n > 0 && unit > 0 && static_cast<uint64_t>(n) > limit / unit) {
          throw RenderError{"'*' would build " + std::string(seq->is_string() ? "a string" : "a list") +
                            " past the limit of " + std::to_string(limit) + (seq->is_string() ? " bytes" : " items")};
        }
        if (seq->is_string()) {
          std::string out;
          for (int64_t k = 0; k < n; ++k) out += seq->s;
          return Value::string(out);
        }
        List items;
        for (int64_t k = 0; k < n; ++k) items.insert(items.end(), seq->list->begin(), seq->list->end());
        return Value::make_list(std::move(items), seq->is_tuple);
      }
    }
    if (op == "%" && a.is_string()) unsupported("printf-style string formatting ('...' % value)");
    throw type_error();
  }

  // ---- attribute and item access (jinja2 sandbox getattr/getitem) ----

  static Value method(const Value& self, const std::string& name) {
    return Value::function([self, name](CallArgs& args) -> Value { return call_method(self, name, args); });
  }

  static bool is_method(const Value& obj, const std::string& name) {
    static const std::set<std::string> kStr = {"strip", "lstrip", "rstrip", "split", "startswith", "endswith",
                                               "lower", "upper", "title", "capitalize", "replace", "find", "count",
                                               "join", "splitlines", "isdigit", "isalpha", "isspace", "islower",
                                               "isupper", "format", "rsplit", "rfind", "index", "zfill", "center",
                                               "ljust", "rjust", "partition", "rpartition", "swapcase", "casefold",
                                               "encode", "isalnum", "isnumeric", "istitle", "removeprefix",
                                               "removesuffix", "expandtabs", "format_map", "translate"};
    static const std::set<std::string> kDict = {"items", "keys", "values", "get", "copy", "pop", "popitem", "update",
                                                "setdefault", "clear", "fromkeys"};
    static const std::set<std::string> kList = {"append", "extend", "insert", "pop", "remove", "clear", "sort",
                                                "reverse", "index", "count", "copy"};
    if (obj.is_string()) return kStr.count(name) > 0;
    if (obj.is_dict()) return kDict.count(name) > 0;
    if (obj.is_list()) return obj.is_tuple ? (name == "index" || name == "count") : kList.count(name) > 0;
    return false;
  }

  static std::string object_name(const Value& v) { return "'" + v.type_name() + " object'"; }

  static Value get_attr(const Value& obj, const std::string& name) {
    require_defined(obj);
    if (is_method(obj, name)) return method(obj, name);
    if (obj.is_dict() || obj.type == Value::Type::Namespace) {
      const Value* v = obj.dict->find(name);
      if (v) return *v;
    }
    return Value::undefined(object_name(obj) + " has no attribute '" + name + "'");
  }

  static Value get_item(const Value& obj, const Value& key) {
    require_defined(obj);
    if (obj.is_dict()) {
      const Value* v = obj.dict->find(key);
      if (v) return *v;
    } else if ((obj.is_list() || obj.is_string()) && (key.type == Value::Type::Int || key.type == Value::Type::Bool)) {
      const int64_t n = length_of(obj);
      int64_t i = as_int(key, "index");
      if (i < 0) i += n;
      if (i >= 0 && i < n) {
        if (obj.is_list()) return (*obj.list)[static_cast<size_t>(i)];
        return Value::string(utf8_encode(utf8_decode(obj.s).substr(static_cast<size_t>(i), 1)));
      }
      return Value::undefined(object_name(obj) + " has no element " + std::to_string(as_int(key, "index")));
    }
    if (key.is_string()) return get_attr(obj, key.s);
    return Value::undefined(object_name(obj) + " has no element " + to_repr(key));
  }

  static Value slice(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
    require_defined(obj);
    if (!obj.is_list() && !obj.is_string()) throw RenderError{"'" + obj.type_name() + "' object is not subscriptable"};
    const std::u32string cps = obj.is_string() ? utf8_decode(obj.s) : std::u32string();
    const int64_t n = obj.is_string() ? static_cast<int64_t>(cps.size()) : static_cast<int64_t>(obj.list->size());
    int64_t start, stop, step;
    slice_indices(n, start_v, stop_v, step_v, start, stop, step);
    std::u32string s;
    List items;
    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
      if (obj.is_string())
        s.push_back(cps[static_cast<size_t>(k)]);
      else
        items.push_back((*obj.list)[static_cast<size_t>(k)]);
    }
    return obj.is_string() ? Value::string(utf8_encode(s)) : Value::make_list(std::move(items), obj.is_tuple);
  }

  static Value call_method(const Value& self, const std::string& name, CallArgs& args) {
    args.callee = self.type_name() + "." + name;
    if (self.is_string()) {
      const std::string& s = self.s;
      if (name == "strip" || name == "lstrip" || name == "rstrip") {
        args.expect_at_most(1, {});
        return Value::string(str_strip(s, args.get(0, "", Value::none()), name != "rstrip", name != "lstrip"));
      }
      if (name == "split") {
        args.expect_at_most(2, {"sep", "maxsplit"});
        return str_split(s, args.get(0, "sep", Value::none()), as_int(args.get(1, "maxsplit", Value::integer(-1)), "maxsplit"));
      }
      if (name == "startswith" || name == "endswith") {
        args.expect_at_most(1, {});
        const Value arg = args.get(0, "");
        List options = arg.is_list() && arg.is_tuple ? *arg.list : List{arg};
        for (const Value& o : options) {
          const std::string& p = require_string(o, name + "()");
          if (name == "startswith" ? s.compare(0, p.size(), p) == 0
                                   : s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0)
            return Value::boolean(true);
        }
        return Value::boolean(false);
      }
      if (name == "lower") return Value::string(str_lower(s));
      if (name == "upper") return Value::string(str_upper(s));
      if (name == "title") return Value::string(str_title_python(s));
      if (name == "capitalize") return Value::string(str_capitalize(s));
      if (name == "replace") {
        args.expect_at_most(3, {"count"});
        return Value::string(str_replace(s, require_string(args.get(0, ""), "replace()"),
                                         require_string(args.get(1, ""), "replace()"),
                                         as_int(args.get(2, "count", Value::integer(-1)), "count")));
      }
      if (name == "find") {
        args.expect_at_most(1, {});
        const size_t at = s.find(require_string(args.get(0, ""), "find()"));
        return Value::integer(at == std::string::npos ? -1 : static_cast<int64_t>(utf8_decode(s.substr(0, at)).size()));
      }
      if (name == "count") {
        args.expect_at_most(1, {});
        const std::string& sub = require_string(args.get(0, ""), "count()");
        if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_decode(s).size()) + 1);
        int64_t n = 0;
        for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
        return Value::integer(n);
      }
      if (name == "join") {
        args.expect_at_most(1, {});
        std::string out;
        bool first = true;
        for (const Value& item : to_list(args.get(0, ""))) {
          if (!first) out += s;
          out += require_string(item, "join()");
          first = false;
        }
        return Value::string(out);
      }
      if (name == "splitlines") {
        List lines;
        for (const auto& l : splitlines(utf8_decode(s))) lines.push_back(Value::string(utf8_encode(l)));
        return Value::make_list(std::move(lines));
      }
      if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "islower" || name == "isupper") {
        const std::u32string cps = utf8_decode(s);
        if (cps.empty()) return Value::boolean(false);
        if (name == "islower" || name == "isupper") {
          bool cased = false;
          for (char32_t c : cps) {
            const bool lower = lower_cp(c) == c && upper_cps(std::u32string(1, c)) != std::u32string(1, c);
            const bool upper = lower_cp(c) != c;
            if (name == "islower" ? upper : lower) return Value::boolean(false);
            cased = cased || lower || upper;
          }
          return Value::boolean(cased);
        }
        for (char32_t c : cps) {
          const bool ok = name == "isdigit" ? (c >= '0' && c <= '9')
                          : name == "isspace" ? python_isspace(c)
                                              : (c < 0x80 ? std::isalpha(static_cast<int>(c)) != 0 : is_alnum_cp(c));
          if (!ok) return Value::boolean(false);
        }
        return Value::boolean(true);
      }
      unsupported("the str method '" + name + "'");
    }
    if (self.is_dict()) {
      if (name == "items") {
        List out;
        for (const auto& [k, v] : self.dict->items) out.push_back(Value::make_list({k, v}, true));
        return Value::make_list(std::move(out));
      }
      if (name == "keys" || name == "values") {
        List out;
        for (const auto& [k, v] : self.dict->items) out.push_back(name == "keys" ? k : v);
        return Value::make_list(std::move(out));
      }
      if (name == "get") {
        args.expect_at_most(2, {});
        const Value* v = self.dict->find(args.get(0, ""));
        return v ? *v : args.get(1, "", Value::none());
      }
      if (name == "copy") {
        Value copy = Value::make_dict();
        copy.dict->items = self.dict->items;
        return copy;
      }
      throw RenderError{"access to attribute '" + name + "' of 'dict' object is unsafe."};
    }
    if (self.is_list()) {
      if (name == "index") {
        for (size_t k = 0; k < self.list->size(); ++k)
          if (equal((*self.list)[k], args.get(0, ""))) return Value::integer(static_cast<int64_t>(k));
        throw RenderError{to_repr(args.get(0, "")) + " is not in list"};
      }
      if (name == "count") {
        return Value::integer(std::count_if(self.list->begin(), self.list->end(),
                                            [&](const Value& x) { return equal(x, args.get(0, "")); }));
      }
      if (name == "copy") return Value::make_list(*self.list);
      throw RenderError{"access to attribute '" + name + "' of 'list' object is unsafe."};
    }
    throw RenderError{"'" + self.type_name() + "' object has no attribute '" + name + "'"};
  }

  // ---- filters and tests ----

  // jinja2's attribute getter for map/selectattr/sort(attribute=…): dotted path, items first.
  static Value get_path(const Value& obj, const Value& path) {
    if (path.type == Value::Type::Int) return get_item(obj, path);
    Value v = obj;
    const std::string& p = require_string(path, "attribute");
    size_t start = 0;
    while (true) {
      const size_t dot = p.find('.', start);
      const std::string part = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
      v = numeric ? get_item(v, Value::integer(std::stoll(part))) : get_item(v, Value::string(part));
      if (dot == std::string::npos) return v;
      start = dot + 1;
    }
  }

  static Value case_key(const Value& v, bool case_sensitive) {
    return !case_sensitive && v.is_string() ? Value::string(str_lower(v.s)) : v;
  }

  Value apply_filter(const std::string& name, const Value& v, CallArgs& args) {
    args.callee = name;
    if (name == "trim") {
      args.expect_at_most(1, {"chars"});
      return Value::string(str_strip(to_str(v), args.get(0, "chars", Value::none()), true, true));
    }
    if (name == "length" || name == "count") return Value::integer(length_of(v));
    if (name == "upper") return Value::string(str_upper(to_str(v)));
    if (name == "lower") return Value::string(str_lower(to_str(v)));
    if (name == "capitalize") return Value::string(str_capitalize(to_str(v)));
    if (name == "title") return Value::string(str_title_jinja(to_str(v)));
    if (name == "string") return Value::string(to_str(v));
    if (name == "safe") return v;
    if (name == "e" || name == "escape") return Value::string(html_escape(to_str(v)));
    if (name == "tojson") {
      // transformers' override: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
      args.expect_at_most(4, {"ensure_ascii", "indent", "separators", "sort_keys"});
      JsonOptions o;
      o.ensure_ascii = args.get(0, "ensure_ascii", Value::boolean(false)).truthy();
      const Value indent = args.get(1, "indent", Value::none());
      if (indent.is_string()) {
        o.indent = 1;
        o.indent_text = indent.s;
      } else if (!indent.is_none()) {
        const int64_t n = as_int(indent, "tojson indent");
        o.indent = 1;
        o.indent_text = spaces(n);
      }
      o.item_separator = o.indent >= 0 ? "," : ", ";
      o.key_separator = ": ";
      const Value separators = args.get(2, "separators", Value::none());
      if (!separators.is_none()) {
        if (!separators.is_list() || separators.list->size() != 2)
          throw RenderError{"tojson separators must be an (item_separator, key_separator) pair"};
        o.item_separator = require_string((*separators.list)[0], "tojson separators");
        o.key_separator = require_string((*separators.list)[1], "tojson separators");
      }
      o.sort_keys = args.get(3, "sort_keys", Value::boolean(false)).truthy();
      if (v.is_undefined()) throw RenderError{"Object of type Undefined is not JSON serializable"};
      return Value::string(to_json(v, o));
    }
    if (name == "default" || name == "d") {
      args.expect_at_most(2, {"default_value", "boolean"});
      const bool boolean = args.get(1, "boolean", Value::boolean(false)).truthy();
      if (v.is_undefined() || (boolean && !v.truthy())) return args.get(0, "default_value", Value::string(""));
      return v;
    }
    if (name == "first" || name == "last") {
      const List items = to_list(v);
      if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
      return name == "first" ? items.front() : items.back();
    }
    if (name == "join") {
      args.expect_at_most(2, {"d", "attribute"});
      const std::string sep = to_str(args.get(0, "d", Value::string("")));
      const Value attribute = args.get(1, "attribute", Value::none());
      std::string out;
      bool first = true;
      for (const Value& item : to_list(v)) {
        if (!first) out += sep;
        out += to_str(attribute.is_none() ? item : get_path(item, attribute));
        first = false;
      }
      return Value::string(out);
    }
    if (name == "replace") {
      args.expect_at_most(3, {"old", "new", "count"});
      const Value count = args.get(2, "count", Value::none());
      return Value::string(str_replace(to_str(v), to_str(args.get(0, "old")), to_str(args.get(1, "new")),
                                       count.is_none() ? -1 : as_int(count, "count")));
    }
    if (name == "items") {
      if (v.is_undefined()) return Value::make_list();
      if (!v.is_dict()) throw RenderError{"Can only get item pairs from a mapping."};
      CallArgs none;
      return call_method(v, "items", none);
    }
    if (name == "list") return Value::make_list(to_list(v));
    if (name == "reverse") {
      if (v.is_string()) {
        std::u32string cps = utf8_decode(v.s);
        std::reverse(cps.begin(), cps.end());
        return Value::string(utf8_encode(cps));
      }
      List items = to_list(v);
      std::reverse(items.begin(), items.end());
      return Value::make_list(std::move(items));
    }
    if (name == "int") {
      args.expect_at_most(2, {"default", "base"});
      const Value fallback = args.get(0, "default", Value::integer(0));
      if (args.get(1, "base", Value::integer(10)).i != 10) unsupported("int filter with a base other than 10");
      if (v.type == Value::Type::Int) return v;
      if (v.type == Value::Type::Bool) return Value::integer(v.b);
      if (v.type == Value::Type::Float) return std::isfinite(v.f) ? Value::integer(static_cast<int64_t>(v.f)) : fallback;
      if (v.is_string()) {
        const std::string t = str_strip(v.s, Value::none(), true, true);
        char* end = nullptr;
        errno = 0;
        const long long i = std::strtoll(t.c_str(), &end, 10);
        if (!t.empty() && *end == '\0' && errno == 0) return Value::integer(i);
        const double f = std::strtod(t.c_str(), &end);
        if (!t.empty() && *end == '\0' && std::isfinite(f)) return Value::integer(static_cast<int64_t>(f));
      }
      return fallback;
    }
    if (name == "float") {
      args.expect_at_most(1, {"default"});
      const Value fallback = args.get(0, "default", Value::floating(0.0));
      if (v.is_number()) return Value::floating(as_double(v));
      if (v.is_string()) {
        const std::string t = str_strip(v.s, Value::none(), true, true);
        char* end = nullptr;
        const double f = std::strtod(t.c_str(), &end);
        if (!t.empty() && *end == '\0') return Value::floating(f);
      }
      return fallback;
    }
    if (name == "abs") {
      require_defined(v);
      if (v.type == Value::Type::Float) return Value::floating(std::fabs(v.f));
      const int64_t i = as_int(v, "abs");
      return Value::integer(i < 0 ? -i : i);
    }
    if (name == "round") {
      args.expect_at_most(2, {"precision", "method"});
      const int64_t precision = as_int(args.get(0, "precision", Value::integer(0)), "precision");
      const std::string method = to_str(args.get(1, "method", Value::string("common")));
      if (!v.is_number()) throw RenderError{"round() needs a number, not '" + v.type_name() + "'"};
      if (v.type != Value::Type::Float && method == "common") return Value::integer(as_int(v, "round"));
      const double scale = std::pow(10.0, static_cast<double>(precision));
      if (method == "common" && precision >= 0 && precision <= 300) {
        // Python's round() rounds the exact binary value half-to-even (round(2.675, 2) == 2.67); glibc's printf
        // does the same, where scaling by 10**precision first would not.
        char buf[400];
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), as_double(v));
        return Value::floating(std::strtod(buf, nullptr));
      }
      const double x = as_double(v) * scale;
      const double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
      return Value::floating(r / scale);
    }
    if (name == "indent") {
      args.expect_at_most(3, {"width", "first", "blank"});
      const Value width = args.get(0, "width", Value::integer(4));
      const std::string pad = width.is_string() ? width.s : spaces(as_int(width, "width"));
      const bool first = args.get(1, "first", Value::boolean(false)).truthy();
      const bool blank = args.get(2, "blank", Value::boolean(false)).truthy();
      const auto lines = splitlines(utf8_decode(to_str(v) + "\n"));
      std::string out;
      for (size_t k = 0; k < lines.size(); ++k) {
        const std::string line = utf8_encode(lines[k]);
        if (k > 0) out += "\n" + ((blank || !line.empty()) ? pad : "");
        out += line;
        if (out.size() > kMaxStringBytes) throw RenderError{"indent would build a string past the limit"};
      }
      return Value::string(first ? pad + out : out);
    }
    if (name == "attr") {
      args.expect_at_most(1, {});
      const std::string attribute = to_str(args.get(0, "name"));
      if (v.is_dict()) return is_method(v, attribute) ? method(v, attribute) : Value::undefined(object_name(v) + " has no attribute '" + attribute + "'");
      return get_attr(v, attribute);
    }
    if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
      const bool by_attr = name == "selectattr" || name == "rejectattr";
      const bool keep_if = name == "select" || name == "selectattr";
      const Value attribute = by_attr ? args.get(0, "") : Value::none();
      const size_t test_at = by_attr ? 1 : 0;
      const bool has_test = args.positional.size() > test_at;
      const std::string test = has_test ? to_str(args.positional[test_at]) : "";
      CallArgs test_args;
      for (size_t k = test_at + 1; k < args.positional.size(); ++k) test_args.positional.push_back(args.positional[k]);
      List out;
      for (const Value& item : to_list(v)) {
        const Value subject = by_attr ? get_path(item, attribute) : item;
        const bool passed = has_test ? apply_test(test, subject, test_args) : subject.truthy();
        if (passed == keep_if) out.push_back(item);
      }
      return Value::make_list(std::move(out));
    }
    if (name == "map") {
      List out;
      const Value attribute = args.get(100, "attribute");
      if (!attribute.is_undefined()) {
        const Value fallback = args.get(100, "default");
        for (const Value& item : to_list(v)) {
          Value x = get_path(item, attribute);
          out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
        }
        return Value::make_list(std::move(out));
      }
      if (args.positional.empty()) throw RenderError{"map requires a filter name or attribute="};
      const std::string filter = to_str(args.positional[0]);
      static const std::set<std::string> kMappable = {"trim", "length", "count", "upper", "lower", "capitalize",
                                                      "title", "string", "tojson", "int", "float", "abs", "first",
                                                      "last", "list", "reverse", "items", "default", "d", "join",
                                                      "replace", "round", "e", "escape", "safe"};
      if (!kMappable.count(filter)) unsupported("map with filter '" + filter + "'");
      for (const Value& item : to_list(v)) {
        CallArgs inner;
        inner.positional.assign(args.positional.begin() + 1, args.positional.end());
        inner.keyword = args.keyword;
        out.push_back(apply_filter(filter, item, inner));
      }
      return Value::make_list(std::move(out));
    }
    if (name == "unique" || name == "sort" || name == "min" || name == "max") {
      const bool case_sensitive = args.get(name == "sort" ? 1 : 0, "case_sensitive", Value::boolean(false)).truthy();
      const Value attribute = args.get(name == "sort" ? 2 : 1, "attribute", Value::none());
      auto key = [&](const Value& item) {
        return case_key(attribute.is_none() ? item : get_path(item, attribute), case_sensitive);
      };
      List items = to_list(v);
      if (name == "unique") {
        List out, seen;
        for (const Value& item : items) {
          const Value k = key(item);
          if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, k); })) {
            seen.push_back(k);
            out.push_back(item);
          }
        }
        return Value::make_list(std::move(out));
      }
      if (name == "sort") {
        const bool reverse = args.get(0, "reverse", Value::boolean(false)).truthy();
        std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
          return reverse ? less(key(y), key(x)) : less(key(x), key(y));
        });
        return Value::make_list(std::move(items));
      }
      if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
      Value best = items[0];
      for (const Value& item : items)
        if (name == "min" ? less(key(item), key(best)) : less(key(best), key(item))) best = item;
      return best;
    }
    if (name == "sum") {
      args.expect_at_most(2, {"attribute", "start"});
      const Value attribute = args.get(0, "attribute", Value::none());
      Value total = args.get(1, "start", Value::integer(0));
      for (const Value& item : to_list(v)) total = binary("+", total, attribute.is_none() ? item : get_path(item, attribute));
      return total;
    }
    unsupported("filter '" + name + "'");
  }

  bool apply_test(const std::string& name, const Value& v, CallArgs& args) {
    const Value arg = args.get(0, "");
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "boolean") return v.type == Value::Type::Bool;
    if (name == "true") return v.type == Value::Type::Bool && v.b;
    if (name == "false") return v.type == Value::Type::Bool && !v.b;
    if (name == "string") return v.is_string();
    if (name == "number") return v.is_number();
    if (name == "integer") return v.type == Value::Type::Int;
    if (name == "float") return v.type == Value::Type::Float;
    if (name == "mapping") return v.is_dict();
    // jinja2.Undefined defines __iter__, __len__ and __getitem__, so it passes both.
    if (name == "iterable" || name == "sequence") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
    if (name == "callable") return v.type == Value::Type::Function;
    if (name == "odd" || name == "even") {
      const int64_t i = as_int(v, name);
      return ((i % 2) != 0) == (name == "odd");
    }
    if (name == "divisibleby") {
      const int64_t d = as_int(arg, "divisibleby");
      if (d == 0) throw RenderError{"integer division or modulo by zero"};
      return as_int(v, "divisibleby") % d == 0;
    }
    if (name == "eq" || name == "equalto" || name == "==") return compare("==", v, arg);
    if (name == "ne" || name == "!=") return compare("!=", v, arg);
    if (name == "lt" || name == "lessthan" || name == "<") return compare("<", v, arg);
    if (name == "le" || name == "<=") return compare("<=", v, arg);
    if (name == "gt" || name == "greaterthan" || name == ">") return compare(">", v, arg);
    if (name == "ge" || name == ">=") return compare(">=", v, arg);
    if (name == "in") return contains(arg, v);
    if (name == "sameas") {
      if (v.type != arg.type) return false;
      switch (v.type) {
        case Value::Type::None:
        case Value::Type::Undefined: return true;
        case Value::Type::Bool: return v.b == arg.b;
        case Value::Type::List: return v.list == arg.list;
        case Value::Type::Dict:
        case Value::Type::Namespace: return v.dict == arg.dict;
        case Value::Type::Function: return v.fn == arg.fn;
        default: return equal(v, arg);  // small ints and interned strings: Python's identity is an accident here
      }
    }
    if (name == "lower" || name == "upper") {
      const std::string s = to_str(v);
      return (name == "lower" ? str_lower(s) : str_upper(s)) == s;
    }
    unsupported("test '" + name + "'");
  }
};

}  // namespace

std::string render_template(const Template& tmpl, const Value& context) {
  Frame globals;
  globals.vars["range"] = Value::function([](CallArgs& args) -> Value {
    args.callee = "range";
    args.expect_at_most(3, {});
    if (args.positional.empty()) throw RenderError{"range expected at least 1 argument, got 0"};
    int64_t start = 0, stop, step = 1;
    if (args.positional.size() == 1) {
      stop = as_int(args.positional[0], "range");
    } else {
      start = as_int(args.positional[0], "range");
      stop = as_int(args.positional[1], "range");
      if (args.positional.size() == 3) step = as_int(args.positional[2], "range");
    }
    if (step == 0) throw RenderError{"range() arg 3 must not be zero"};
    List out;
    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
      // The sandbox's MAX_RANGE: a template cannot allocate without bound.
      if (out.size() >= 100000) throw RenderError{"Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."};
      out.push_back(Value::integer(k));
    }
    return Value::make_list(std::move(out));
  });
  auto make_mapping = [](CallArgs& args, Value result) {
    if (args.positional.size() > 1) throw RenderError{args.callee + " expected at most 1 positional argument"};
    if (!args.positional.empty()) {
      const Value& init = args.positional[0];
      if (init.is_dict() || init.type == Value::Type::Namespace) {
        for (const auto& [k, v] : init.dict->items) result.dict->set(k, v);
      } else {
        for (const Value& pair : to_list(init)) {
          const List kv = to_list(pair);
          if (kv.size() != 2) throw RenderError{args.callee + "() sequence elements must be key/value pairs"};
          result.dict->set(kv[0], kv[1]);
        }
      }
    }
    for (const auto& [k, v] : args.keyword) result.dict->set(Value::string(k), v);
    return result;
  };
  globals.vars["namespace"] = Value::function([make_mapping](CallArgs& args) {
    args.callee = "namespace";
    return make_mapping(args, Value::make_namespace());
  });
  globals.vars["dict"] = Value::function([make_mapping](CallArgs& args) {
    args.callee = "dict";
    return make_mapping(args, Value::make_dict());
  });
  globals.vars["raise_exception"] = Value::function([](CallArgs& args) -> Value {
    RenderError e{to_str(args.get(0, "message", Value::string("")))};
    e.raised_by_template = true;
    throw e;
  });
  globals.vars["strftime_now"] = Value::function([](CallArgs& args) -> Value {
    args.callee = "strftime_now";
    args.expect_at_most(1, {"format"});
    const std::string format = require_string(args.get(0, "format"), "strftime_now()");
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    if (format.empty()) return Value::string("");
    // strftime returns 0 both for "buffer too small" and for an empty result; grow until it cannot be the former.
    for (size_t size = 256; size <= (1u << 20); size *= 4) {
      std::string buf(size, '\0');
      const size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &local);
      if (n > 0 || size > format.size() * 64) return Value::string(buf.substr(0, n));
    }
    return Value::string("");
  });

  Frame root{{}, &globals};
  if (context.is_dict())
    for (const auto& [k, v] : context.dict->items) root.vars[to_str(k)] = v;
  Renderer renderer;
  std::string out;
  renderer.exec(tmpl.body, root, out);
  return out;
}

}  // namespace lowbit::tokenizer::jinja
