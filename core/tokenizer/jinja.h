// The Jinja2 subset behind ChatTemplate (chat_template.h), internal to core/tokenizer.
//
// Values follow Python/Jinja semantics closely enough that Hugging Face chat templates render byte for byte as
// transformers renders them (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols):
// str is UTF-8 but indexed/measured by code point, bool is a number, dicts keep insertion order, printing uses
// Python's str()/repr(), and an undefined name behaves as jinja2.Undefined (prints "", iterates as empty, fails
// when its attributes are read or it is called).
//
//   jinja_value.cpp   Value, Python-compatible printing/comparison/JSON, string helpers
//   jinja_parser.cpp  lexer (whitespace control) and parser to the AST below; rejects unsupported constructs
//   jinja_render.cpp  evaluator, filters, tests, methods, globals
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::tokenizer::jinja {

struct Value;
using List = std::vector<Value>;
struct Dict;
struct CallArgs;
using NativeFunction = std::function<Value(CallArgs&)>;

struct Value {
  enum class Type { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

  Type type = Type::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;  // String; for Undefined: what jinja2 would say when it is used ("'x' is undefined")
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;  // Dict and Namespace
  std::shared_ptr<NativeFunction> fn;
  bool is_tuple = false;  // a List that Python would print as (a, b)
  int nesting = 0;        // a List: how deep lists and dicts are nested inside it (destroying one recurses that deep)

  static Value undefined(std::string hint = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value floating(double v);
  static Value string(std::string v);
  static Value make_list(List items = {}, bool tuple = false);
  static Value make_dict();
  static Value make_namespace();
  static Value function(NativeFunction f);

  bool is_undefined() const { return type == Type::Undefined; }
  bool is_none() const { return type == Type::None; }
  bool is_string() const { return type == Type::String; }
  bool is_number() const { return type == Type::Bool || type == Type::Int || type == Type::Float; }
  bool is_list() const { return type == Type::List; }
  bool is_dict() const { return type == Type::Dict; }
  bool truthy() const;
  // Python's type name, used in error messages the way Python words them.
  std::string type_name() const;
};

struct Dict {
  std::vector<std::pair<Value, Value>> items;  // insertion order, as Python dicts
  int nesting = 0;                              // as Value::nesting, kept up to date by set()
  const Value* find(const Value& key) const;
  const Value* find(const std::string& key) const;
  void set(const Value& key, Value value);
};

struct CallArgs {
  List positional;
  std::vector<std::pair<std::string, Value>> keyword;
  std::string callee;  // for error messages

  // Positional `index` or keyword `name`, or `fallback` when absent.
  Value get(size_t index, const std::string& name, Value fallback = Value::undefined()) const;
  void expect_at_most(size_t n_positional, const std::vector<std::string>& keywords) const;
};

// A failure while rendering, with the message jinja2/Python would give; the renderer adds source and line.
struct RenderError {
  std::string message;
  bool raised_by_template = false;  // raise_exception(msg): message is the template's own text
  bool unsupported = false;         // valid Jinja that this subset does not implement
  int line = 0;                     // template line, filled in as the error leaves the expression it came from
};

// What one render may build, so that a hostile template stops with a RenderError instead of exhausting memory,
// time or the stack. Real chat templates stay far below: a 1,000-message conversation renders in ~50,000 steps.
constexpr size_t kMaxStringBytes = size_t{16} << 20;   // any one string, the output included
constexpr size_t kMaxListItems = 1'000'000;            // any one list
constexpr int kMaxValueNesting = 200;                  // lists/dicts inside each other, as printed or compared
constexpr int kMaxMacroCallDepth = 100;                // macros calling macros (jinja2 hits Python's limit)
constexpr int64_t kMaxRenderSteps = 5'000'000;         // statements run plus expressions evaluated

// Python-compatible conversions (jinja_value.cpp).
std::string to_str(const Value& v);   // str(v); Undefined → ""
std::string to_repr(const Value& v);  // repr(v)
std::string python_float_repr(double x);
bool equal(const Value& a, const Value& b);
// a < b as Python orders them; throws RenderError for unorderable types.
bool less(const Value& a, const Value& b);
struct JsonOptions {
  int indent = -1;  // -1: compact one-line form
  std::string indent_text;
  std::string item_separator, key_separator;
  bool ensure_ascii = false;
  bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonOptions& options);

// UTF-8 helpers: Python strings are sequences of code points.
std::u32string utf8_decode(const std::string& s);
std::string utf8_encode(const std::u32string& s);
bool python_isspace(char32_t c);

// ---- AST ---------------------------------------------------------------------------------------------------

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal, Name, ListLit, TupleLit, DictLit, GetAttr, GetItem, Slice, Call, Filter, Test,
    Unary, Binary, Compare, And, Or, Not, Cond
  };
  Kind kind;
  int line = 0;
  Value value;                // Literal
  std::string name;           // Name; GetAttr attribute; Filter/Test name; Unary/Binary operator
  ExprPtr a, b, c, d;         // operands (target first); Slice: a[b:c:d]; Cond: b if a else c
  std::vector<ExprPtr> items; // list/tuple items, dict keys and values alternating, call/filter/test args, compare
  std::vector<std::string> ops;  // Compare operators between items
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;       // Test: `is not`

  Expr(Kind k, int l) : kind(k), line(l) {}
};

struct Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct Node {
  enum class Kind { Text, Output, If, For, Set, SetBlock, Macro, Break, Continue, FilterBlock, With, Scope };
  Kind kind;
  int line = 0;
  std::string text;                     // Text
  ExprPtr expr;                         // Output value; Set value; For iterable; FilterBlock filter (target null)
  ExprPtr condition;                    // For `if` filter
  std::vector<std::string> targets;     // For/Set names (several: tuple unpacking); Macro name in targets[0]
  std::string attribute;                // Set ns.attribute
  std::vector<std::pair<ExprPtr, Body>> branches;  // If/elif
  Body body, else_body;                 // For/Macro/SetBlock/FilterBlock/With/Scope body; If and For else
  std::vector<std::pair<std::string, ExprPtr>> params;  // Macro parameters (default or null); With assignments

  Node(Kind k, int l) : kind(k), line(l) {}
};

struct Template {
  Body body;
  std::string source_name;
};

// Parses `source`; throws InputError(source_name, "line N: ...") for malformed or unsupported templates.
std::shared_ptr<Template> parse_template(const std::string& source, const std::string& source_name);

// Renders with `context` (a Dict of top-level names). Throws InputError / TemplateRaisedError.
std::string render_template(const Template& tmpl, const Value& context);

}  // namespace lowbit::tokenizer::jinja
