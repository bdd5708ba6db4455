// The pretrained TinyStories model (stories260K, HF layout): greedy text, logits, tokenizer ids and perplexity
// against llama2.c's published story, transformers and python sentencepiece.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <fstream>
#include <sstream>

#include "core/data/text_corpus.h"
#include "core/eval/perplexity.h"
#include "core/generate/generate.h"
#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/support/fixtures.h"
#include "tests/support/cancel_at.h"
#include "tests/support/testdata.h"
#include "tests/support/tolerances.h"

namespace lowbit {
namespace {

using testing::fixtures_dir;
using testing::read_json;
using testing::testdata_path;

constexpr const char* kModel = "models/stories260K-hf";

struct Stories : ::testing::Test {
  void SetUp() override {
    LOWBIT_REQUIRE_TESTDATA(kModel);
    model = model::LlamaModel::load(testdata_path(kModel), {at::kCPU, at::kFloat});
    tokenizer = std::make_shared<tokenizer::Tokenizer>(tokenizer::Tokenizer::load(testdata_path(kModel), model->config()));
  }
  std::shared_ptr<model::LlamaModel> model;
  std::shared_ptr<tokenizer::Tokenizer> tokenizer;
};

class RecordTokens : public jobs::IgnoreEvents {
 public:
  void token(const jobs::Token& token) override { streamed += token.text; ++count; }
  std::string streamed;
  int count = 0;
};

TEST_F(Stories, GreedyContinuationIsLlama2cPublishedStory) {
  generate::GenerateParams params;
  params.prompt = "Once upon a time";
  params.max_new_tokens = 200;
  params.sampling.greedy = true;
  RecordTokens events;
  const jobs::CancelToken cancel;
  const generate::GenerateResult result = generate::generate_text(*model, *tokenizer, params, events, cancel);
  const std::string story = params.prompt + result.text;
  std::printf("%s\n", story.c_str());
  // llama2.c doc/stories260K.md, greedy from "Once upon a time".
  EXPECT_EQ(story.rfind("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", 0), 0u)
      << story;
  EXPECT_EQ(events.streamed, result.text) << "the streamed pieces must add up to the text";
  EXPECT_GT(events.count, 20);

  LOWBIT_REQUIRE_FIXTURE("stories260K/greedy.json");
  const nlohmann::json expected = read_json(fixtures_dir() / "stories260K/greedy.json");
  EXPECT_EQ(result.prompt_ids, expected["prompt_ids"].get<std::vector<int64_t>>());
  EXPECT_EQ(result.generated_ids, expected["generated_ids"].get<std::vector<int64_t>>());
  EXPECT_EQ(result.stopped_at_eos, expected.value("eos_hit", result.stopped_at_eos));
}

TEST_F(Stories, GenerationStopsWhenCancelled) {
  jobs::CancelToken cancel;
  testing::CancelAtProgress events(cancel, /*done=*/5);
  generate::GenerateParams params;
  params.prompt = "Once upon a time";
  params.max_new_tokens = 100;
  EXPECT_THROW(generate::generate_text(*model, *tokenizer, params, events, cancel), Cancelled);
}

TEST_F(Stories, SampledGenerationIsReproducibleWithASeed) {
  generate::GenerateParams params;
  params.prompt = "The dog";
  params.max_new_tokens = 40;
  params.seed = 7;
  params.sampling.repetition_penalty = 1.1;
  jobs::IgnoreEvents events;
  const jobs::CancelToken cancel;
  const auto first = generate::generate_text(*model, *tokenizer, params, events, cancel);
  const auto second = generate::generate_text(*model, *tokenizer, params, events, cancel);
  EXPECT_EQ(first.generated_ids, second.generated_ids);
  params.seed = 8;
  const auto other = generate::generate_text(*model, *tokenizer, params, events, cancel);
  EXPECT_NE(first.generated_ids, other.generated_ids);
}

TEST_F(Stories, LogitsMatchTransformers) {
  LOWBIT_REQUIRE_FIXTURE("stories260K/reference.safetensors");
  c10::InferenceMode inference;
  const auto reference = model::SafetensorsFile::open(fixtures_dir() / "stories260K/reference.safetensors");
  const at::Tensor expected = reference->tensor("logits");
  const at::Tensor logits = model->forward(reference->tensor("input_ids"));
  const double error = (logits - expected).abs().max().item<double>() / expected.abs().max().item<double>();
  std::printf("stories260K: relative max logit error %.3g\n", error);
  EXPECT_LE(error, testing::kLogitsRelativeTolerance);
}

void expect_perplexity_matches(const model::LlamaModel& model, const tokenizer::Tokenizer& tokenizer,
                               const std::string& text, eval::PerplexityParams params, const std::string& fixture) {
  LOWBIT_REQUIRE_FIXTURE("stories260K/" + fixture);
  const nlohmann::json expected = read_json(fixtures_dir() / "stories260K" / fixture);
  const data::TextCorpus corpus = data::load_text_corpus(testdata_path(text));
  jobs::IgnoreEvents events;
  const jobs::CancelToken cancel;
  params.batch_size = 8;
  const eval::PerplexityResult result = eval::evaluate_perplexity(
      model, eval::perplexity_tokens(corpus, tokenizer, params.protocol), params, events, cancel);
  const double reference = expected["ppl"].get<double>();
  std::printf("%s: PPL %.6f, transformers %.6f, relative difference %.2e, %lld windows\n", fixture.c_str(), result.ppl,
              reference, std::abs(result.ppl - reference) / reference, static_cast<long long>(result.n_windows));
  EXPECT_EQ(result.n_windows, expected["n_windows"].get<int64_t>());
  EXPECT_NEAR(result.ppl, reference, reference * testing::kPerplexityRelativeTolerance);
}

TEST_F(Stories, PerplexityGptqProtocolMatchesTransformers) {
  eval::PerplexityParams params;
  params.protocol = eval::PerplexityProtocol::Gptq;
  params.seqlen = 512;
  expect_perplexity_matches(*model, *tokenizer, "train_text/tinystories_val_sample.txt", params,
                            "perplexity_gptq_512.json");
}

TEST_F(Stories, PerplexityInt21ProtocolMatchesTransformers) {
  eval::PerplexityParams params;
  params.protocol = eval::PerplexityProtocol::Int21;
  params.seqlen = 512;
  params.stride = 128;
  params.max_tokens = 20000;
  expect_perplexity_matches(*model, *tokenizer, "train_text/tinystories_val_sample.txt", params,
                            "perplexity_int21_512_128.json");
}

TEST_F(Stories, PerplexityOnJsonLinesMatchesTransformers) {
  eval::PerplexityParams params;
  params.protocol = eval::PerplexityProtocol::Gptq;
  params.seqlen = 256;
  params.max_windows = 40;
  expect_perplexity_matches(*model, *tokenizer, "eval/c4/c4_demo.jsonl", params, "perplexity_gptq_c4_256.json");
}

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (size_t end; (end = text.find(separator, begin)) != std::string::npos; begin = end + separator.size()) {
    parts.push_back(text.substr(begin, end - begin));
  }
  parts.push_back(text.substr(begin));
  return parts;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(Tokenizer, MatchesLlamaCppTestStringsForTheLlama2Tokenizer) {
  LOWBIT_REQUIRE_TESTDATA("tokenizers/ggml-vocab-llama-spm.gguf.out");
  const auto tokenizer = tokenizer::Tokenizer::load_file(testdata_path("tokenizers/llama2_tokenizer.model"));
  // Every input is followed by the separator, so the piece after the last one is not an input.
  std::vector<std::string> inputs =
      split(read_file(testdata_path("tokenizers/ggml-vocab-llama-spm.gguf.inp")), "\n__ggml_vocab_test__\n");
  ASSERT_EQ(inputs.back(), "");
  inputs.pop_back();
  std::istringstream expected_lines(read_file(testdata_path("tokenizers/ggml-vocab-llama-spm.gguf.out")));
  size_t compared = 0;
  std::string line;
  for (const std::string& input : inputs) {
    if (!std::getline(expected_lines, line)) break;
    std::istringstream numbers(line);
    std::vector<int64_t> expected;
    for (int64_t id; numbers >> id;) expected.push_back(id);
    EXPECT_EQ(tokenizer.encode(input, false), expected) << "input #" << compared << ": '" << input << "'";
    ++compared;
  }
  EXPECT_EQ(compared, inputs.size());
  EXPECT_EQ(compared, 46u) << "llama.cpp's file holds 46 inputs (the empty string among them) and 46 answers";
}

void expect_ids_match_python(const std::string& tokenizer_file, const std::string& fixture) {
  LOWBIT_REQUIRE_TESTDATA(tokenizer_file);
  LOWBIT_REQUIRE_FIXTURE("tokenizer/" + fixture);
  const auto tokenizer = tokenizer::Tokenizer::load_file(testdata_path(tokenizer_file));
  const nlohmann::json expected = read_json(fixtures_dir() / "tokenizer" / fixture);
  const auto& lines = expected["lines"];
  const auto& ids = expected["ids"];
  ASSERT_EQ(lines.size(), ids.size());
  ASSERT_GT(lines.size(), 100u);
  size_t mismatches = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto ours = tokenizer.encode(lines[i].get<std::string>(), false);
    if (ours != ids[i].get<std::vector<int64_t>>() && ++mismatches <= 3) {
      ADD_FAILURE() << fixture << " line " << i << " differs: '" << lines[i].get<std::string>() << "'";
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << lines.size() << " lines";
}

TEST(Tokenizer, MatchesPythonSentencepieceOnWikiText2) {
  expect_ids_match_python("tokenizers/llama2_tokenizer.model", "llama2_wikitext.json");
}

TEST(Tokenizer, MatchesPythonSentencepieceOnTinyStories) {
  expect_ids_match_python("models/stories260K-hf/tokenizer.model", "tok512_tinystories.json");
}

TEST(Tokenizer, DecodesWhatItEncodes) {
  LOWBIT_REQUIRE_TESTDATA("tokenizers/llama2_tokenizer.model");
  const auto tokenizer = tokenizer::Tokenizer::load_file(testdata_path("tokenizers/llama2_tokenizer.model"));
  for (const std::string text : {"Hello world", "日本語のテキスト 🦙", "tab\tand\nnewline"}) {
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text, true)), text);
  }
  EXPECT_EQ(tokenizer.encode("Hello world", false), (std::vector<int64_t>{15043, 3186}));
}

}  // namespace
}  // namespace lowbit
