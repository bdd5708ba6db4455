// HfTokenizer against the Python `tokenizers`/`transformers` reference (fixtures written by
// scripts/make_tokenizer_fixtures.py) and against llama.cpp's tokenizer test suites; plus added/special tokens,
// streaming decode and the errors for broken or unsupported tokenizer.json files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "core/model/gguf_import.h"
#include "core/tokenizer/hf_tokenizer.h"
#include "core/util/errors.h"
#include "tests/support/testdata.h"

namespace lowbit::tokenizer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)

const char* const kLlama3 = "tokenizers/llama3.2";
const char* const kTinyLlama = "tokenizers/tinyllama";
const char* const kSmolLM2 = "tokenizers/smollm2-135m-instruct";
const char* const kReplacement = "\xEF\xBF\xBD";  // U+FFFD

HfTokenizer load_vocabulary(const std::string& relative) {
  const fs::path dir = testing::testdata_path(relative);
  return HfTokenizer::load(dir / "tokenizer.json", dir / "tokenizer_config.json");
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string show_ids(const std::vector<int64_t>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out + "]";
}

fs::path fixtures_dir() { return fs::path(LOWBIT_TOKENIZER_FIXTURES_DIR); }

#define LOWBIT_REQUIRE_TOKENIZER_FIXTURES()                                                                    \
  do {                                                                                                         \
    if (!fs::exists(fixtures_dir() / "done.json"))                                                            \
      GTEST_SKIP() << (fixtures_dir() / "done.json").string()                                                  \
                   << " not found; run scripts/make_tokenizer_fixtures.py --out " << fixtures_dir().string()   \
                   << " --testdata ../shared/testdata";                                                        \
  } while (false)

// ---------------------------------------------------------------------------------------------------------------
// llama.cpp's tokenizer test suites: 47 inputs (one of them empty) and the ids without BOS.

void expect_llama_cpp_suite(const HfTokenizer& tok, const std::string& relative_base) {
  const std::string inputs = read_text(testing::testdata_path(relative_base + ".inp"));
  const std::string outputs = read_text(testing::testdata_path(relative_base + ".out"));
  std::vector<std::string> texts;
  const std::string separator = "\n__ggml_vocab_test__\n";
  for (std::size_t pos = 0;;) {
    const std::size_t next = inputs.find(separator, pos);
    texts.push_back(inputs.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + separator.size();
  }
  std::vector<std::vector<int64_t>> expected;
  std::istringstream lines(outputs);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream numbers(line);
    std::vector<int64_t> ids;
    for (int64_t id; numbers >> id;) ids.push_back(id);
    expected.push_back(ids);
  }
  expected.resize(texts.size());  // the trailing empty input has an empty last line
  ASSERT_EQ(texts.size(), 47u);

  int matched = 0;
  std::size_t total_ids = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tok.encode(texts[i], false);
    total_ids += ids.size();
    if (ids == expected[i]) ++matched;
    else ADD_FAILURE() << "input " << i << " " << json(texts[i]).dump() << "\n  got      " << show_ids(ids)
                       << "\n  expected " << show_ids(expected[i]);
  }
  EXPECT_GT(total_ids, 300u);  // guards against an empty or misread .out file
  EXPECT_EQ(matched, 47) << matched << "/47 llama.cpp strings match";
}

TEST(HfTokenizerLlamaCpp, Llama3BpeSuite) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kLlama3) + "/tokenizer.json");
  LOWBIT_REQUIRE_TESTDATA("tokenizers/llama.cpp/ggml-vocab-llama-bpe.gguf.out");
  expect_llama_cpp_suite(load_vocabulary(kLlama3), "tokenizers/llama.cpp/ggml-vocab-llama-bpe.gguf");
}

TEST(HfTokenizerLlamaCpp, TinyLlamaSpmSuite) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kTinyLlama) + "/tokenizer.json");
  LOWBIT_REQUIRE_TESTDATA("tokenizers/ggml-vocab-llama-spm.gguf.out");
  expect_llama_cpp_suite(load_vocabulary(kTinyLlama), "tokenizers/ggml-vocab-llama-spm.gguf");
}

// llama.cpp's vocab-only GGUFs (phi-3: sentencepiece BPE with byte fallback; starcoder: byte-level BPE with its
// own pre-tokenizer; llama-spm): the tokenizer.json `lowbit import` rebuilds from the GGUF metadata, read by this
// tokenizer, gives llama.cpp's ids.
class GgufVocabularyLlamaCpp : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufVocabularyLlamaCpp, RebuiltTokenizerJsonGivesLlamaCppIds) {
  const std::string base = GetParam();
  LOWBIT_REQUIRE_TESTDATA(base + ".out");
  const fs::path out = fs::temp_directory_path() / ("lowbit-gguf-vocab-" + fs::path(base).filename().string() + "-" +
                                                    std::to_string(::getpid()));
  fs::remove_all(out);
  model::write_tokenizer_from_gguf(testing::testdata_path(base), out);
  expect_llama_cpp_suite(HfTokenizer::load(out / "tokenizer.json", out / "tokenizer_config.json"), base);
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, GgufVocabularyLlamaCpp,
                         ::testing::Values("tokenizers/llama.cpp/ggml-vocab-phi-3.gguf",
                                           "tokenizers/llama.cpp/ggml-vocab-starcoder.gguf",
                                           "tokenizers/ggml-vocab-llama-spm.gguf"));

// ---------------------------------------------------------------------------------------------------------------
// Every corpus text against the Python fixtures: encode both ways, decode both ways.

class HfTokenizerVsPython : public ::testing::TestWithParam<std::string> {};

TEST_P(HfTokenizerVsPython, CorporaMatch) {
  const std::string vocabulary = GetParam();
  LOWBIT_REQUIRE_TESTDATA("tokenizers/" + vocabulary + "/tokenizer.json");
  LOWBIT_REQUIRE_TOKENIZER_FIXTURES();
  const fs::path fixture = fixtures_dir() / (vocabulary + ".jsonl");
  ASSERT_TRUE(fs::exists(fixture)) << fixture;
  const HfTokenizer tok = load_vocabulary("tokenizers/" + vocabulary);

  const std::map<std::string, std::size_t> expected_counts = {
      {"wikitext", 2891}, {"tinystories", 300}, {"alpaca", 1000}, {"llamacpp", 47}};
  std::map<std::string, std::size_t> counts, failures;
  std::size_t total_ids = 0, reported = 0;
  std::ifstream in(fixture);
  for (std::string line; std::getline(in, line);) {
    const json record = json::parse(line);
    const std::string corpus = record["corpus"], text = record["text"];
    ++counts[corpus];
    const auto ids = record["ids"].get<std::vector<int64_t>>();
    const auto ids_special = record["ids_special"].get<std::vector<int64_t>>();
    total_ids += ids.size();

    std::string what;
    const auto got = tok.encode(text, false);
    if (got != ids) what = "encode(text, false) " + show_ids(got) + " expected " + show_ids(ids);
    const auto got_special = tok.encode(text, true);
    if (what.empty() && got_special != ids_special)
      what = "encode(text, true) " + show_ids(got_special) + " expected " + show_ids(ids_special);
    const std::string decoded = tok.decode(ids_special, false), decoded_skip = tok.decode(ids_special, true);
    if (what.empty() && decoded != record["decoded"].get<std::string>())
      what = "decode(ids, false) " + json(decoded).dump() + " expected " + record["decoded"].dump();
    if (what.empty() && decoded_skip != record["decoded_skip"].get<std::string>())
      what = "decode(ids, true) " + json(decoded_skip).dump() + " expected " + record["decoded_skip"].dump();
    if (!what.empty()) {
      ++failures[corpus];
      if (reported++ < 8) ADD_FAILURE() << vocabulary << " " << corpus << " text " << json(text).dump() << ":\n  " << what;
    }
  }
  for (const auto& [corpus, expected] : expected_counts) {
    EXPECT_EQ(counts[corpus], expected) << corpus;
    EXPECT_EQ(failures[corpus], 0u) << vocabulary << ": " << failures[corpus] << "/" << counts[corpus] << " " << corpus
                                    << " texts differ from Python";
    std::cout << "[ " << vocabulary << " ] " << corpus << ": " << counts[corpus] - failures[corpus] << "/"
              << counts[corpus] << " texts identical to Python\n";
  }
  for (const char* corpus : {"edge", "random"}) {
    EXPECT_GT(counts[corpus], 0u) << corpus;
    EXPECT_EQ(failures[corpus], 0u) << vocabulary << ": " << failures[corpus] << "/" << counts[corpus] << " " << corpus
                                    << " texts differ from Python";
    std::cout << "[ " << vocabulary << " ] " << corpus << ": " << counts[corpus] - failures[corpus] << "/"
              << counts[corpus] << " texts identical to Python\n";
  }
  EXPECT_GT(total_ids, 100000u) << "fixtures look empty";
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, HfTokenizerVsPython,
                         ::testing::Values("llama3.2", "tinyllama", "smollm2-135m-instruct"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name;
                           for (const char c : param_info.param) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

// ---------------------------------------------------------------------------------------------------------------
// Added and special tokens, BOS/EOS.

TEST(HfTokenizerSpecialTokens, AddedTokenInTextStaysOneToken) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kSmolLM2) + "/tokenizer.json");
  const HfTokenizer tok = load_vocabulary(kSmolLM2);
  ASSERT_EQ(tok.token_to_id("<|im_start|>"), std::optional<int64_t>(1));
  ASSERT_EQ(tok.token_to_id("<|im_end|>"), std::optional<int64_t>(2));
  EXPECT_TRUE(tok.is_special(1));
  EXPECT_FALSE(tok.is_special(*tok.token_to_id("user")));
  EXPECT_EQ(tok.id_to_token(1), "<|im_start|>");

  const std::string text = "<|im_start|>user\nHi there<|im_end|>\n";
  const auto ids = tok.encode(text, false);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1);
  EXPECT_EQ(tok.decode(ids, false), text);
  EXPECT_EQ(tok.decode(ids, true), "user\nHi there\n");

  // SmolLM2's config names <|im_start|> as BOS and the file's template adds it.
  EXPECT_EQ(tok.bos_id(), std::optional<int64_t>(1));
  EXPECT_TRUE(tok.adds_bos());
  EXPECT_EQ(tok.encode("Hi", true).front(), 1);
  EXPECT_EQ(tok.vocab_size(), 49152);
}

TEST(HfTokenizerSpecialTokens, TinyLlamaBosFromConfig) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kTinyLlama) + "/tokenizer_config.json");
  const HfTokenizer tok = load_vocabulary(kTinyLlama);
  EXPECT_EQ(tok.bos_id(), std::optional<int64_t>(1));
  EXPECT_EQ(tok.eos_id(), std::optional<int64_t>(2));
  EXPECT_TRUE(tok.adds_bos());
  EXPECT_FALSE(tok.adds_eos());
  EXPECT_EQ(tok.encode("", true), std::vector<int64_t>({1}));
  EXPECT_EQ(tok.encode("Hello world", true), std::vector<int64_t>({1, 15043, 3186}));
  // <s> typed in the text is the added token; the normalizer's "▁" is prepended to the text after it.
  EXPECT_EQ(tok.encode("<s>Hello", false), std::vector<int64_t>({1, 15043}));
  EXPECT_EQ(tok.decode({1, 15043, 3186, 2}, true), "Hello world");
  EXPECT_EQ(tok.decode({1, 15043, 3186, 2}, false), "<s> Hello world</s>");
  EXPECT_EQ(tok.vocab_size(), 32000);
}

TEST(HfTokenizerSpecialTokens, Llama3WithoutConfigAddsNothing) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kLlama3) + "/tokenizer.json");
  const fs::path dir = testing::testdata_path(kLlama3);
  const HfTokenizer tok = HfTokenizer::load(dir / "tokenizer.json", dir / "no_such_tokenizer_config.json");
  EXPECT_FALSE(tok.adds_bos());
  EXPECT_EQ(tok.encode("Hello world", true), std::vector<int64_t>({9906, 1917}));
  EXPECT_EQ(tok.encode("<|begin_of_text|>Hello", false), std::vector<int64_t>({128000, 9906}));
  EXPECT_EQ(tok.vocab_size(), 128256);
  EXPECT_TRUE(tok.is_special(128000));
  EXPECT_EQ(tok.decode({128000, 9906}, true), "Hello");
  EXPECT_EQ(tok.decode({128000, 9906}, false), "<|begin_of_text|>Hello");
}

TEST(HfTokenizerSpecialTokens, InvalidUtf8IsAnInputError) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kLlama3) + "/tokenizer.json");
  const HfTokenizer tok = load_vocabulary(kLlama3);
  try {
    tok.encode("abc\xC3(", false);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_CONTAINS(std::string(e.what()), "not valid UTF-8");
    EXPECT_CONTAINS(std::string(e.what()), "offset 3");
  }
  EXPECT_THROW(tok.id_to_token(10'000'000), InputError);
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming decode.

const char* const kStreamText =
    "Hello, 世界！ 你好🦙🦙 and 😶\u200d🌫️ ✅ naïve café Ελληνικά ━━ done.\n  第二行: 1234";

void expect_stream_matches_decode(const HfTokenizer& tok, bool skip_special) {
  const auto ids = tok.encode(kStreamText, true);
  StreamingDecoder stream = StreamingDecoder::for_tokenizer(tok, skip_special);
  std::string streamed;
  std::size_t empty_pushes = 0;
  for (const int64_t id : ids) {
    const std::string piece = stream.push(id);
    EXPECT_EQ(piece.find(kReplacement), std::string::npos) << "push(" << id << ") gave " << json(piece).dump();
    if (piece.empty()) ++empty_pushes;
    streamed += piece;
  }
  const std::string tail = stream.finish();
  EXPECT_EQ(tail.find(kReplacement), std::string::npos);
  streamed += tail;
  const std::string whole = tok.decode(ids, skip_special);
  EXPECT_EQ(streamed, whole);
  EXPECT_EQ(whole.find(kReplacement), std::string::npos);
  EXPECT_NE(whole.find("🦙🦙"), std::string::npos) << whole;
  // Multi-byte characters split over several ids must have been held back at least once.
  EXPECT_GT(empty_pushes, 0u);
}

TEST(HfTokenizerStreaming, ByteLevelLlama3) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kLlama3) + "/tokenizer.json");
  const HfTokenizer tok = load_vocabulary(kLlama3);
  expect_stream_matches_decode(tok, true);
  expect_stream_matches_decode(tok, false);
}

TEST(HfTokenizerStreaming, ByteFallbackTinyLlama) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kTinyLlama) + "/tokenizer.json");
  const HfTokenizer tok = load_vocabulary(kTinyLlama);
  expect_stream_matches_decode(tok, true);
  expect_stream_matches_decode(tok, false);
  // The first token's "▁" is dropped by the decoder; later ones are spaces.
  StreamingDecoder stream = StreamingDecoder::for_tokenizer(tok, true);
  std::string text;
  for (const int64_t id : tok.encode("Hello world again", true)) text += stream.push(id);
  text += stream.finish();
  EXPECT_EQ(text, "Hello world again");
}

TEST(HfTokenizerStreaming, ByteLevelSmolLM2) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kSmolLM2) + "/tokenizer.json");
  expect_stream_matches_decode(load_vocabulary(kSmolLM2), true);
}

TEST(HfTokenizerStreaming, GenericDecodeFunctionHoldsIncompleteTail) {
  // A decode function over raw bytes, lossy like the library's: ids are byte values.
  StreamingDecoder stream([](const std::vector<int64_t>& ids) {
    std::string bytes;
    for (const int64_t id : ids) bytes.push_back(static_cast<char>(id));
    // Replace a trailing incomplete sequence the way a lossy decoder would.
    std::size_t start = bytes.size();
    while (start > 0 && (static_cast<unsigned char>(bytes[start - 1]) & 0xC0) == 0x80) --start;
    if (start > 0 && static_cast<unsigned char>(bytes[start - 1]) >= 0xC0) {
      const auto lead = static_cast<unsigned char>(bytes[start - 1]);
      const std::size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if (bytes.size() - (start - 1) < need) bytes = bytes.substr(0, start - 1) + kReplacement;
    }
    return bytes;
  });
  const std::string text = "a🦙b";
  std::string out;
  std::vector<std::string> pieces;
  for (const char c : text) pieces.push_back(stream.push(static_cast<unsigned char>(c)));
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "", "", "", "🦙", "b"}));
  EXPECT_EQ(stream.push(0xE4), "");
  EXPECT_EQ(stream.finish(), kReplacement);  // an incomplete tail comes out only at the end
}

// ---------------------------------------------------------------------------------------------------------------
// Small hand-made tokenizers: exact results and the errors for broken or unsupported files.

class HfTokenizerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
    dir = fs::temp_directory_path() / ("lowbit-" + std::string(test->test_suite_name()) + "-" + test->name() + "-" +
                                       std::to_string(ticks) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  // A byte-level-free toy BPE: vocab a b c ab abc <unk> <s>, merges "a b" then "ab c", Whitespace split.
  static json toy() {
    return json::parse(R"({
      "version": "1.0",
      "added_tokens": [{"id": 6, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
                        "normalized": false, "special": true}],
      "normalizer": {"type": "Lowercase"},
      "pre_tokenizer": {"type": "WhitespaceSplit"},
      "post_processor": {"type": "TemplateProcessing",
                         "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                         "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [6], "tokens": ["<s>"]}}},
      "decoder": null,
      "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": false, "ignore_merges": false,
                "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "<unk>": 5, "<s>": 6},
                "merges": ["a b", ["ab", "c"]]}
    })");
  }

  fs::path write(const std::string& text) {
    const fs::path path = dir / "tokenizer.json";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }

  // Loads `text` as tokenizer.json and returns the InputError's message (fails when none is thrown).
  std::string load_error(const std::string& text) {
    const fs::path path = write(text);
    try {
      HfTokenizer::load(path, dir / "tokenizer_config.json");
    } catch (const InputError& e) {
      EXPECT_EQ(e.path(), path.string());
      EXPECT_FALSE(e.remedy().empty());
      return e.what();
    }
    ADD_FAILURE() << "expected InputError";
    return {};
  }

  fs::path dir;
};

TEST_F(HfTokenizerFiles, ToyTokenizerEncodesExactly) {
  const HfTokenizer tok = HfTokenizer::load(write(toy().dump()), dir / "tokenizer_config.json");
  // "ABC" -> "abc" -> a b c -> ab c -> abc; "ba" stays b a; "xx" is one fused <unk>.
  EXPECT_EQ(tok.encode("ABC ba xxc", false), std::vector<int64_t>({4, 1, 0, 5, 2}));
  EXPECT_EQ(tok.encode("abc", true), std::vector<int64_t>({6, 4}));
  EXPECT_EQ(tok.decode({6, 4, 1}, false), "<s> abc b");  // no decoder: tokens joined by spaces
  EXPECT_EQ(tok.decode({6, 4, 1}, true), "abc b");
  EXPECT_EQ(tok.bos_id(), std::optional<int64_t>(6));
  EXPECT_TRUE(tok.adds_bos());
}

TEST_F(HfTokenizerFiles, MergeWithMissingTokenNamesIt) {
  json spec = toy();
  spec["model"]["merges"].push_back("c zz");
  const std::string message = load_error(spec.dump());
  EXPECT_CONTAINS(message, "tokenizer.json");
  EXPECT_CONTAINS(message, "model.merges[2]");
  EXPECT_CONTAINS(message, "\"zz\"");
}

TEST_F(HfTokenizerFiles, UnsupportedPreTokenizerIsNamed) {
  json spec = toy();
  spec["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers", json::array({{{"type", "UnicodeScripts"}}})}};
  const std::string message = load_error(spec.dump());
  EXPECT_CONTAINS(message, "tokenizer.json");
  EXPECT_CONTAINS(message, "pre_tokenizer type 'UnicodeScripts' is not supported yet");
  EXPECT_CONTAINS(message, "Metaspace");  // the remedy lists what is supported
}

TEST_F(HfTokenizerFiles, UnsupportedModelAndOptionsAreNamed) {
  json unigram = toy();
  unigram["model"]["type"] = "Unigram";
  EXPECT_CONTAINS(load_error(unigram.dump()), "model type 'Unigram' is not supported yet");
  json prefix = toy();
  prefix["model"]["continuing_subword_prefix"] = "##";
  EXPECT_CONTAINS(load_error(prefix.dump()), "continuing_subword_prefix");
  json decoder = toy();
  decoder["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
  EXPECT_CONTAINS(load_error(decoder.dump()), "decoder type 'WordPiece' is not supported yet");
  json normalizer = toy();
  normalizer["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}};
  EXPECT_CONTAINS(load_error(normalizer.dump()), "normalizer type 'Precompiled' is not supported yet");
}

TEST_F(HfTokenizerFiles, TruncatedJsonIsAnInputError) {
  const std::string text = toy().dump();
  const std::string message = load_error(text.substr(0, text.size() / 2));
  EXPECT_CONTAINS(message, "tokenizer.json");
  EXPECT_CONTAINS(message, "not valid JSON");
}

TEST_F(HfTokenizerFiles, UnkTokenMissingFromVocab) {
  json spec = toy();
  spec["model"]["unk_token"] = "<missing-unk>";
  const std::string message = load_error(spec.dump());
  EXPECT_CONTAINS(message, "tokenizer.json");
  EXPECT_CONTAINS(message, "unk_token \"<missing-unk>\" is not in model.vocab");
}

TEST_F(HfTokenizerFiles, DuplicatedVocabIdIsNamed) {
  json spec = toy();
  spec["model"]["vocab"]["abc"] = 3;
  const std::string message = load_error(spec.dump());
  EXPECT_CONTAINS(message, "gives id 3 to both");
}

TEST_F(HfTokenizerFiles, MissingFileIsAnInputError) {
  EXPECT_THROW(HfTokenizer::load(dir / "absent.json", dir / "tokenizer_config.json"), InputError);
}

TEST_F(HfTokenizerFiles, ConfigBosMissingFromVocab) {
  const fs::path path = write(toy().dump());
  std::ofstream(dir / "tokenizer_config.json") << R"({"tokenizer_class": "LlamaTokenizer", "bos_token": "<bos>"})";
  try {
    HfTokenizer::load(path, dir / "tokenizer_config.json");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.path(), (dir / "tokenizer_config.json").string());
    EXPECT_CONTAINS(std::string(e.what()), "bos_token \"<bos>\"");
  }
}

// transformers overrides a ByteLevel pre-tokenizer's add_prefix_space from the config (absent = false, except for
// LlamaTokenizerFast; null = no change). Expected ids from transformers 4.57 on these exact files.
TEST_F(HfTokenizerFiles, ConfigAddPrefixSpaceAsTransformers) {
  LOWBIT_REQUIRE_TESTDATA(std::string(kSmolLM2) + "/tokenizer.json");
  json spec = json::parse(read_text(testing::testdata_path(std::string(kSmolLM2) + "/tokenizer.json")));
  spec["pre_tokenizer"]["add_prefix_space"] = true;
  const fs::path path = write(spec.dump());
  const std::vector<int64_t> with_space = {38699, 905}, without_space = {19556, 905};
  const std::vector<std::pair<std::string, std::vector<int64_t>>> cases = {
      {R"({"tokenizer_class": "GPT2Tokenizer"})", without_space},
      {R"({"tokenizer_class": "GPT2Tokenizer", "add_prefix_space": null})", with_space},
      {R"({"tokenizer_class": "LlamaTokenizer", "add_bos_token": false})", with_space},
      {R"({"tokenizer_class": "PreTrainedTokenizerFast"})", without_space}};
  for (const auto& [config, expected] : cases) {
    std::ofstream(dir / "tokenizer_config.json", std::ios::trunc) << config;
    EXPECT_EQ(HfTokenizer::load(path, dir / "tokenizer_config.json").encode("Hello world", false), expected) << config;
  }
  std::ofstream(dir / "tokenizer_config.json", std::ios::trunc) << R"({"tokenizer_class": "LlamaTokenizerFast", "add_prefix_space": true})";
  EXPECT_THROW(HfTokenizer::load(path, dir / "tokenizer_config.json"), InputError);
}

TEST(HfTokenizerBench, ReadsWikiTextLines) {
  LOWBIT_REQUIRE_TESTDATA("eval/wikitext2/wiki.test.raw.nonempty-crlf");
  LOWBIT_REQUIRE_TESTDATA(std::string(kSmolLM2) + "/tokenizer.json");
  const auto lines = read_bench_lines(testing::testdata_path("eval/wikitext2/wiki.test.raw.nonempty-crlf"));
  ASSERT_EQ(lines.size(), 2891u);
  for (const auto& line : lines) ASSERT_EQ(line.find('\r'), std::string::npos);
  const std::vector<std::string> sample(lines.begin(), lines.begin() + 50);
  const TokenizerBenchResult result = bench_encode_lines(load_vocabulary(kSmolLM2), sample);
  EXPECT_EQ(result.n_lines, 50);
  EXPECT_GT(result.n_tokens, 1000);
  EXPECT_GT(result.tokens_per_s, 0.0);
}

TEST(HfTokenizerThreads, ConcurrentEncodeMatchesSerial) {
  LOWBIT_REQUIRE_TESTDATA("eval/wikitext2/wiki.test.raw.nonempty-crlf");
  LOWBIT_REQUIRE_TESTDATA(std::string(kLlama3) + "/tokenizer.json");
  const auto all_lines = read_bench_lines(testing::testdata_path("eval/wikitext2/wiki.test.raw.nonempty-crlf"));
  const std::vector<std::string> lines(all_lines.begin(), all_lines.begin() + 400);
  std::vector<std::vector<int64_t>> serial;
  {
    const HfTokenizer tok = load_vocabulary(kLlama3);
    for (const auto& line : lines) serial.push_back(tok.encode(line, false));
  }
  // A fresh tokenizer, so the threads fill its word cache concurrently; copies share it.
  const HfTokenizer shared = load_vocabulary(kLlama3);
  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const HfTokenizer copy = shared;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t k = (i * 7 + static_cast<std::size_t>(t) * 101) % lines.size();
        if (copy.encode(lines[k], false) != serial[k]) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace lowbit::tokenizer
