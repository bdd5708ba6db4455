// ChatTemplate against transformers' apply_chat_template: the fixtures written by
// scripts/make_chat_template_fixtures.py (real templates of Llama 3.1/3.2, Phi-3.5, Gemma 2, Mistral Nemo,
// DeepSeek-R1-Distill, SmolLM2, TinyLlama) must render byte for byte, or fail with the template's own message
// where transformers raises. Unit cases below were rendered by jinja2 3.1 with transformers' environment.
#include "core/tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/support/testdata.h"

namespace {

using lowbit::InputError;
using lowbit::tokenizer::ChatMessage;
using lowbit::tokenizer::ChatTemplate;
using lowbit::tokenizer::TemplateRaisedError;
using nlohmann::ordered_json;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string render(const std::string& source, const ordered_json& variables = ordered_json::object()) {
  return ChatTemplate::parse(source, "unit").render(std::vector<ChatMessage>{}, false, variables);
}

// The error a template gives, or "" when it renders.
std::string parse_error(const std::string& source) {
  try {
    ChatTemplate::parse(source, "bad.jinja");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

struct UnitCase {
  const char* source;
  const char* expected;
};

// Expected text as rendered once by transformers 4.57's _compile_jinja_template (jinja2 3.1.6,
// ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and its own tojson), pasted here so these run
// without Python.
const UnitCase kUnitCases[] = {
    {"a\n{% if true %}\nb\n{% endif %}\nc\n",
     "a\nb\nc"},
    {"  {% if true %}x{% endif %}  \n  y",
     "x  \n  y"},
    {"a  {%- if true -%}  b  {%- endif -%}  c",
     "abc"},
    {"a {{- ' b ' -}} c",
     "a b c"},
    {"  {{ 'v' }}  \n",
     "  v  "},
    {"{% for i in [1,2] %}\n  {{ i }}\n{% endfor %}\n",
     "  1\n  2\n"},
    {"x {#- comment -#} y\n{# c2 #}\nz",
     "xy\nz"},
    {"  {%+ if true %}k{% endif +%}\nq",
     "  k\nq"},
    {"{% raw %}{{ not rendered }}{% endraw %}",
     "{{ not rendered }}"},
    {"line1\r\nline2\r\n",
     "line1\nline2"},
    {"a\n\n",
     "a\n"},
    {"{{ [1, 'a', none, true, 1.5, {'k': \"it's\"}] }}|{{ (1,) }}|{{ 10/4 }}|{{ 7//2 }}|{{ -7 % 3 }}|{{ 2**10 }}|{{ 1e20 }}|{{ 0.1 + 0.2 }}",
     "[1, 'a', None, True, 1.5, {'k': \"it's\"}]|(1,)|2.5|3|2|1024|1e+20|0.30000000000000004"},
    {"{{ 'abc'[::-1] }}|{{ [1,2,3][1:] }}|{{ 'héllo'[1] }}|{{ 'héllo'|length }}|{{ [1,2,3][-1] }}|{{ 'a,b,,c'.split(',') }}|{{ '  x y  '.split() }}",
     "cba|[2, 3]|é|5|3|['a', 'b', '', 'c']|['x', 'y']"},
    {"{{ ' x '|trim }}|{{ 'AbC'|lower }}{{ 'abc'|upper }}|{{ 'hello world'|title }}|{{ 'hELLO'|capitalize }}|{{ none|string }}|{{ true }}",
     "x|abcABC|Hello World|Hello|None|True"},
    {"{{ {'b': 1, 'a': [1, 2.0, 'é\"\\n']}|tojson }}|{{ {'b': 1, 'a': [1, {}]}|tojson(indent=2) }}|{{ 'x'|tojson }}|{{ {'b':1,'a':2}|tojson(sort_keys=true) }}",
     "{\"b\": 1, \"a\": [1, 2.0, \"é\\\"\\n\"]}|{\n  \"b\": 1,\n  \"a\": [\n    1,\n    {}\n  ]\n}|\"x\"|{\"a\": 2, \"b\": 1}"},
    {"{% set ns = namespace(n=0) %}{% for i in range(5) if i is odd %}{% set ns.n = ns.n + i %}{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{% endfor %}={{ ns.n }}",
     "1/2,2/2=4"},
    {"{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}{% for x in [] %}no{% else %}empty{% endfor %}",
     "a=1;b=2;empty"},
    {"{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}",
     "013"},
    {"{{ x is defined }}{{ x is not defined }}{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ true is number }}{{ {} is mapping }}{{ 'a' is iterable }}{{ 3 is divisibleby 3 }}",
     "FalseTrueTrueTrueTrueTrueTrueTrueTrue"},
    {"{{ 'a' in 'cat' }}{{ 2 not in [1,2] }}{{ 'k' in {'k': 1} }}{{ 1 < 2 < 3 }}{{ 1 == 1.0 }}{{ [1] == [1] }}",
     "TrueFalseTrueTrueTrueTrue"},
    {"{{ x.y if x is defined else 'dflt' }}|{{ undefined_var }}|{{ undefined_var|default('d') }}|{{ ''|default('e', true) }}|{{ [1,2,3]|join('-') }}|{{ [3,1,2]|sort|list }}|{{ ['a','b']|first }}{{ ['a','b']|last }}",
     "dflt||d|e|1-2-3|[1, 2, 3]|ab"},
    {"{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }}",
     "Hi Bob! Hi Al?"},
    {"{{ 'Hello' ~ 1 ~ none }}|{{ 'a-b'.replace('-', '+') }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ '  pad '.rstrip() }}.|{{ {'a': 1}.get('b', 'z') }}",
     "Hello1None|a+b|True|True|  pad.|z"},
    {"{% set a, b = [1, 2] %}{{ a + b }}{% set t %}captured {{ a }}{% endset %}|{{ t }}|{{ [{'r': 'u'}, {'r': 'a'}]|selectattr('r', 'equalto', 'u')|list|length }}|{{ [{'r': 'u'}, {'r': 'a'}]|map(attribute='r')|join }}|{{ ['a', 'b', 'c']|reject('equalto', 'b')|join }}",
     "3|captured 1|1|ua|ac"},
    {"{{ 'x\ty'|tojson }}{{ 3.0|int }}{{ '42'|int + 1 }}{{ 2|float }}|{{ [1,2]|reverse|list }}|{{ ['b','a','b']|unique|list }}|{{ 'ß'|upper }}|{{ 'ÀÉ'|lower }}",
     "\"x\\ty\"3432.0|[2, 1]|['b', 'a']|SS|àé"},
    {"{{ \"\\u00e9\\x41\\n\" }}|{{ 'it\\'s' }}|{{ \"a\" 'b' }}|{{ -3|abs }}|{{ 2.5|round }}|{{ 3.14159|round(2) }}|{{ [1,2,3]|sum }}|{{ [4,2,9]|max }}{{ [4,2,9]|min }}",
     "éA\n|it's|ab|3|2.0|3.14|6|92"},
    {"{% with x = 5 %}{{ x * 2 }}{% endwith %}|{% filter upper %}shout {{ 'it' }}{% endfilter %}|{{ 'a\nb'|indent(2, true) }}|{{ loop is defined }}",
     "10|SHOUT IT|  a\n  b|False"},
    {"{{ [1,2,3][5] is defined }}|{{ {'a':1}['b'] is defined }}|{{ 'abc'.content is defined }}|{{ 'ab' * 3 }}|{{ [0] * 2 }}|{{ {'a': none}|tojson }}|{{ [1.0, -0.5, 1e-7]|tojson }}",
     "False|False|False|ababab|[0, 0]|{\"a\": null}|[1.0, -0.5, 1e-07]"},
};

TEST(ChatTemplate, MatchesJinjaOnUnitCases) {
  for (const auto& c : kUnitCases) {
    SCOPED_TRACE(c.source);
    try {
      EXPECT_EQ(render(c.source), c.expected);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST(ChatTemplate, WhitespaceControl) {
  // trim_blocks: the newline right after a block tag goes; lstrip_blocks: indentation before it goes.
  EXPECT_EQ(render("{% if true %}\n  yes\n{% endif %}\n"), "  yes\n");
  EXPECT_EQ(render("    {% if true %}x{% endif %}"), "x");
  // Neither applies to {{ }}; a single trailing newline of the template is dropped.
  EXPECT_EQ(render("  {{ 1 }}\n"), "  1");
  EXPECT_EQ(render("{{ 1 }}\n\n"), "1\n");
  // Explicit control: '-' eats all whitespace on that side, '+' keeps it.
  EXPECT_EQ(render("a \n {{- 1 -}} \n b"), "a1b");
  EXPECT_EQ(render("a\n  {%+ if true %}b{% endif +%}\nc"), "a\n  b\nc");
  EXPECT_EQ(render("{#- note -#}\n  x"), "x");
  EXPECT_EQ(render("\r\nx\r\n"), "\nx");
}

TEST(ChatTemplate, ParsesEveryRealTemplate) {
  LOWBIT_REQUIRE_TESTDATA("chat_templates");
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(lowbit::testing::testdata_path("chat_templates"))) {
    if (entry.path().extension() != ".jinja") continue;
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(ChatTemplate::parse(read_file(entry.path()), entry.path().string()));
    ++parsed;
  }
  EXPECT_EQ(parsed, 6);
}

TEST(ChatTemplate, MatchesTransformersFixtures) {
  const std::filesystem::path dir = LOWBIT_CHAT_TEMPLATE_FIXTURES_DIR;
  if (!std::filesystem::exists(dir / "done.json"))
    GTEST_SKIP() << (dir / "done.json").string()
                 << " not found; run scripts/make_chat_template_fixtures.py (needs transformers and jinja2)";
  const auto done = ordered_json::parse(read_file(dir / "done.json"));
  std::map<std::string, std::pair<int, int>> matched;  // template → (matched, total)
  for (const auto& [name, count] : done.at("cases").items()) {
    const auto fixture = ordered_json::parse(read_file(dir / (name + ".json")));
    ASSERT_EQ(fixture.at("cases").size(), count.get<size_t>()) << name;
    const ChatTemplate tmpl = ChatTemplate::parse(fixture.at("template").get<std::string>(), name);
    auto& [ok, total] = matched[name];
    for (const auto& c : fixture.at("cases")) {
      const std::string case_name = name + " " + c.at("name").get<std::string>();
      SCOPED_TRACE(case_name);
      ++total;
      std::string got, error;
      bool raised_by_template = false;
      try {
        got = tmpl.render_json(c.at("messages"), c.at("add_generation_prompt").get<bool>(), c.at("variables"));
      } catch (const TemplateRaisedError& e) {
        error = e.template_message();
        raised_by_template = true;
      } catch (const InputError& e) {
        error = e.what();
      }
      if (c.contains("expected")) {
        EXPECT_EQ(error, "");
        EXPECT_EQ(got, c.at("expected").get<std::string>());
        ok += error.empty() && got == c.at("expected").get<std::string>();
      } else {
        const auto& expected_error = c.at("error");
        EXPECT_NE(error, "") << "rendered instead of failing: " << got;
        if (expected_error.at("type") == "TemplateError") {
          // raise_exception(): the template's own words.
          EXPECT_TRUE(raised_by_template);
          EXPECT_EQ(error, expected_error.at("message").get<std::string>());
          ok += raised_by_template && error == expected_error.at("message").get<std::string>();
        } else {
          ok += !error.empty();
        }
      }
    }
  }
  EXPECT_EQ(matched.size(), 8u);
  // The loader hands the template the same special tokens transformers' AutoTokenizer does.
  for (const char* folder : {"smollm2-135m-instruct", "tinyllama"}) {
    const auto fixture = ordered_json::parse(read_file(dir / (std::string(folder) + ".json")));
    const auto loaded =
        lowbit::tokenizer::load_model_chat_template(lowbit::testing::testdata_path(std::string("tokenizers/") + folder));
    ASSERT_TRUE(loaded.has_value()) << folder;
    EXPECT_EQ(loaded->special_tokens, fixture.at("cases")[0].at("variables")) << folder;
    EXPECT_EQ(loaded->chat_template.render_json(fixture.at("cases")[0].at("messages"), false, loaded->special_tokens),
              fixture.at("cases")[0].at("expected").get<std::string>())
        << folder;
  }
  for (const auto& [name, counts] : matched)
    std::printf("[ fixtures ] %-45s %d/%d cases match transformers\n", name.c_str(), counts.first, counts.second);
}

TEST(ChatTemplate, LoadsSmolLM2Template) {
  LOWBIT_REQUIRE_TESTDATA("tokenizers/smollm2-135m-instruct/chat_template.jinja");
  const auto loaded =
      lowbit::tokenizer::load_model_chat_template(lowbit::testing::testdata_path("tokenizers/smollm2-135m-instruct"));
  ASSERT_TRUE(loaded.has_value());
  EXPECT_NE(loaded->source_name.find("chat_template.jinja"), std::string::npos);
  EXPECT_NE(loaded->chat_template.source().find("<|im_end|>"), std::string::npos);
  EXPECT_EQ(loaded->bos_token, "<|im_start|>");
  EXPECT_EQ(loaded->eos_token, "<|im_start|>");
  EXPECT_EQ(loaded->chat_template.render({{"user", "Hi"}}, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, LoadsTinyLlamaTemplateFromTokenizerConfig) {
  LOWBIT_REQUIRE_TESTDATA("tokenizers/tinyllama/tokenizer_config.json");
  const auto loaded = lowbit::tokenizer::load_model_chat_template(lowbit::testing::testdata_path("tokenizers/tinyllama"));
  ASSERT_TRUE(loaded.has_value());
  EXPECT_NE(loaded->source_name.find("tokenizer_config.json (chat_template)"), std::string::npos);
  EXPECT_EQ(loaded->bos_token, "<s>");
  EXPECT_EQ(loaded->eos_token, "</s>");
  const ordered_json vars = {{"bos_token", loaded->bos_token}, {"eos_token", loaded->eos_token}};
  EXPECT_EQ(loaded->chat_template.render({{"system", "Be brief."}, {"user", "Hi"}}, true, vars),
            "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n");
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("lowbit_chat_template_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

 private:
  std::filesystem::path path_;
};

TEST(ChatTemplate, LoaderHandlesNamedTemplatesTokenObjectsAndAbsence) {
  TempDir dir;
  EXPECT_FALSE(lowbit::tokenizer::load_model_chat_template(dir.path()).has_value());
  dir.write("tokenizer_config.json", R"({"bos_token": {"content": "<B>", "__type": "AddedToken"}, "eos_token": "<E>"})");
  EXPECT_FALSE(lowbit::tokenizer::load_model_chat_template(dir.path()).has_value());
  dir.write("tokenizer_config.json",
            R"({"bos_token": {"content": "<B>", "__type": "AddedToken"}, "eos_token": "<E>",
                "chat_template": [{"name": "tool_use", "template": "T"},
                                  {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}"}]})");
  const auto loaded = lowbit::tokenizer::load_model_chat_template(dir.path());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->bos_token, "<B>");
  EXPECT_EQ(loaded->eos_token, "<E>");
  EXPECT_EQ(loaded->chat_template.render({{"user", "x"}}, false, {{"bos_token", loaded->bos_token}}), "<B>x");
  dir.write("chat_template.jinja", "jinja file wins\n");
  EXPECT_EQ(lowbit::tokenizer::load_model_chat_template(dir.path())->chat_template.render(std::vector<ChatMessage>{}, false), "jinja file wins");
  dir.write("chat_template.jinja", "{% if %}");
  try {
    lowbit::tokenizer::load_model_chat_template(dir.path());
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("chat_template.jinja"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, MalformedTemplatesNameSourceAndLine) {
  EXPECT_EQ(parse_error("{% for m in messages %}\n{% if m %}\nx\n{% endfor %}"),
            "bad.jinja: line 4: unknown tag 'endfor' (fix the chat template's Jinja syntax)");
  const std::string unclosed = parse_error("a\n{% if x %}\nb");
  EXPECT_NE(unclosed.find("bad.jinja: line 3: unexpected end of template: '{% if %}' opened on line 2"),
            std::string::npos)
      << unclosed;
  EXPECT_NE(parse_error("\n\n{{ x | no_such_filter }}").find("bad.jinja: line 3: no filter named 'no_such_filter'"),
            std::string::npos);
  EXPECT_NE(parse_error("{{ 'abc }}").find("line 1: unterminated string literal"), std::string::npos);
  EXPECT_NE(parse_error("{{ x is frobnicated }}").find("no test named 'frobnicated'"), std::string::npos);
  EXPECT_NE(parse_error("{# never closed").find("missing end of comment tag"), std::string::npos);
  EXPECT_NE(parse_error("{{ (1 }}").find("line 1:"), std::string::npos);
  EXPECT_NE(parse_error("{% break %}").find("'break' outside of a loop"), std::string::npos);
}

TEST(ChatTemplate, UnsupportedConstructsAreNamed) {
  EXPECT_NE(parse_error("x\n{{ text | wordwrap(20) }}").find("bad.jinja: line 2: filter 'wordwrap' is not supported yet"),
            std::string::npos);
  EXPECT_NE(parse_error("{% include 'other.jinja' %}").find("the '{% include %}' statement is not supported yet"),
            std::string::npos);
  EXPECT_NE(parse_error("{% for x in xs recursive %}{% endfor %}").find("recursive for loops is not supported yet"),
            std::string::npos);
  EXPECT_NE(parse_error("{{ lipsum() }}").find("the global 'lipsum' is not supported yet"), std::string::npos);
  // Detectable only while rendering: a Python method the subset lacks.
  try {
    render("\n{{ '{}'.format(1) }}");
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.problem(), "line 2: the str method 'format' is not supported yet");
  }
}

TEST(ChatTemplate, RenderErrorsCarryTheTemplatesMessage) {
  const auto tmpl = ChatTemplate::parse("{{ raise_exception('Roles must alternate ' ~ messages|length) }}", "t.jinja");
  try {
    tmpl.render({{"user", "a"}, {"user", "b"}}, false);
    ADD_FAILURE() << "expected TemplateRaisedError";
  } catch (const TemplateRaisedError& e) {
    EXPECT_EQ(e.template_message(), "Roles must alternate 2");
    EXPECT_NE(std::string(e.what()).find("t.jinja"), std::string::npos);
  }
  // jinja2.Undefined: printing is empty, reading an attribute of it fails with jinja2's message and the line.
  EXPECT_EQ(render("[{{ nothing }}]"), "[]");
  try {
    render("\n\n{{ nothing.attr }}");
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.problem(), "line 3: 'nothing' is undefined");
  }
  try {
    render("{{ 'a' + 1 }}");
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.problem(), "line 1: can only concatenate str (not \"int\") to str");
  }
}

TEST(ChatTemplate, VariablesOverrideDefaults) {
  const auto tmpl = ChatTemplate::parse(
      "{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}|{{ tools|tojson }}", "t");
  EXPECT_EQ(tmpl.render(std::vector<ChatMessage>{}, true), "True|True|True|null");
  EXPECT_EQ(tmpl.render(std::vector<ChatMessage>{}, false, {{"tools", {{{"z", 1}, {"a", 2}}}}}),
            "False|True|False|[{\"z\": 1, \"a\": 2}]");
}

TEST(ChatTemplate, StrftimeNowUsesLocalTime) {
  const auto tmpl = ChatTemplate::parse("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%H') | length }}", "t");
  auto today = [] {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[64];
    std::strftime(buf, sizeof buf, "%d %b %Y", &local);
    return std::string(buf);
  };
  const std::string before = today();
  const std::string got = tmpl.render(std::vector<ChatMessage>{}, false);
  const std::string after = today();
  EXPECT_TRUE(got == before + "|2" || got == after + "|2") << got;
}

}  // namespace
