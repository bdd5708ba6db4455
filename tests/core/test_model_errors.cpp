// Bad model folders and texts end in an InputError that names the file, what is wrong and what to do — never a
// crash. Each case builds a broken copy of stories260K (or a file) in a scratch folder.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/data/text_corpus.h"
#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"
#include "tests/support/input_error.h"
#include "tests/support/testdata.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using testing::testdata_path;

class ScratchFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("lowbit-test-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
           std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  // A copy of stories260K-hf with config.json edited by `edit`.
  fs::path stories_copy(const std::function<void(nlohmann::json&)>& edit = {}) {
    const fs::path source = testdata_path("models/stories260K-hf");
    const fs::path copy = dir / "model";
    fs::create_directories(copy);
    for (const char* file : {"model.safetensors", "tokenizer.model", "generation_config.json"}) {
      fs::copy_file(source / file, copy / file);
    }
    std::ifstream in(source / "config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    if (edit) edit(config);
    std::ofstream(copy / "config.json") << config.dump(2);
    return copy;
  }

  void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
  }

  fs::path dir;
};

using testing::input_error_message;

TEST_F(ScratchFolder, UnknownArchitectureNamesWhatIsSupported) {
  LOWBIT_REQUIRE_TESTDATA("models/stories260K-hf");
  const fs::path model = stories_copy([](nlohmann::json& c) { c["architectures"] = {"GPT2LMHeadModel"}; });
  const std::string message = input_error_message([&] { model::LlamaModel::load(model, {}); });
  EXPECT_CONTAINS(message, "architecture 'GPT2LMHeadModel' is not supported");
  EXPECT_CONTAINS(message, "LlamaForCausalLM");
  EXPECT_CONTAINS(message, "config.json");
}

TEST_F(ScratchFolder, WrongShapeNamesTensorFoundAndExpected) {
  LOWBIT_REQUIRE_TESTDATA("models/stories260K-hf");
  const fs::path model = stories_copy([](nlohmann::json& c) { c["intermediate_size"] = 200; });
  const std::string message = input_error_message([&] { model::LlamaModel::load(model, {}); });
  EXPECT_CONTAINS(message, "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [172, 64], expected [200, 64]");
}

TEST_F(ScratchFolder, MissingTensorIsNamed) {
  LOWBIT_REQUIRE_TESTDATA("models/stories260K-hf");
  const fs::path model = stories_copy([](nlohmann::json& c) { c["tie_word_embeddings"] = false; });
  const std::string message = input_error_message([&] { model::LlamaModel::load(model, {}); });
  EXPECT_CONTAINS(message, "tensor 'lm_head.weight' is missing");
}

TEST_F(ScratchFolder, MissingConfigFieldIsNamed) {
  LOWBIT_REQUIRE_TESTDATA("models/stories260K-hf");
  const fs::path model = stories_copy([](nlohmann::json& c) { c.erase("hidden_size"); });
  const std::string message = input_error_message([&] { model::load_llama_config(model); });
  EXPECT_CONTAINS(message, "missing required field 'hidden_size'");
}

TEST_F(ScratchFolder, TruncatedWeightsAreReportedAsTruncated) {
  LOWBIT_REQUIRE_TESTDATA("models/stories260K-hf");
  const fs::path model = stories_copy();
  fs::resize_file(model / "model.safetensors", fs::file_size(model / "model.safetensors") / 2);
  const std::string message = input_error_message([&] { model::LlamaModel::load(model, {}); });
  EXPECT_CONTAINS(message, "model.safetensors");
  EXPECT_CONTAINS(message, "truncated");
}

TEST_F(ScratchFolder, HeaderLyingAboutSizesIsReported) {
  // A header that declares [4, 4] F32 (64 bytes) for a 32-byte range.
  const std::string header = R"({"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,32]}})";
  std::string bytes(8, '\0');
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
  write_file(dir / "lying.safetensors", bytes + header + std::string(32, '\0'));
  const std::string message = input_error_message([&] { model::SafetensorsFile::open(dir / "lying.safetensors"); });
  EXPECT_CONTAINS(message, "'w'");
  EXPECT_CONTAINS(message, "64");
  EXPECT_CONTAINS(message, "32");
}

TEST_F(ScratchFolder, PickledCheckpointsAreRefusedWithTheReason) {
  LOWBIT_REQUIRE_TESTDATA("models/stories260K-hf");
  const fs::path model = stories_copy();
  fs::remove(model / "model.safetensors");
  write_file(model / "pytorch_model.bin", "not opened");
  const std::string message = input_error_message([&] { model::LlamaModel::load(model, {}); });
  EXPECT_CONTAINS(message, "arbitrary code");
  EXPECT_CONTAINS(message, "safe_serialization=True");
}

TEST_F(ScratchFolder, MissingTokenizerSaysWhatToDo) {
  LOWBIT_REQUIRE_TESTDATA("models/stories260K-hf");
  const fs::path model = stories_copy();
  fs::remove(model / "tokenizer.model");
  const model::LlamaConfig config = model::load_llama_config(model);
  const std::string message = input_error_message([&] { tokenizer::Tokenizer::load(model, config); });
  EXPECT_CONTAINS(message, "has no tokenizer (neither tokenizer.json nor tokenizer.model)");
  EXPECT_CONTAINS(message, "copy the model's tokenizer files");
}

TEST_F(ScratchFolder, GarbageTokenizerIsNotASentencepieceModel) {
  write_file(dir / "tokenizer.model", "this is not a protobuf");
  const std::string message = input_error_message([&] { tokenizer::Tokenizer::load_file(dir / "tokenizer.model"); });
  EXPECT_CONTAINS(message, "is not a sentencepiece model");
}

TEST_F(ScratchFolder, NotAFolderAtAll) {
  const std::string message = input_error_message([&] { model::LlamaModel::load(dir / "nowhere", {}); });
  EXPECT_CONTAINS(message, "is not a folder");
}

TEST_F(ScratchFolder, NonUtf8TextNamesLineAndOffset) {
  write_file(dir / "latin1.txt", "first line\nsecond caf\xe9 line\n");
  const std::string message = input_error_message([&] { data::load_text_corpus(dir / "latin1.txt"); });
  EXPECT_CONTAINS(message, "not valid UTF-8: line 2, byte offset 21");
  EXPECT_CONTAINS(message, "iconv");
}

TEST_F(ScratchFolder, JsonLinesWithoutTextFieldNamesTheLine) {
  write_file(dir / "c4.jsonl", "{\"text\": \"fine\"}\n\n{\"content\": \"no text here\"}\n");
  const std::string message = input_error_message([&] { data::load_text_corpus(dir / "c4.jsonl"); });
  EXPECT_CONTAINS(message, "line 3 has no string field 'text'");
  write_file(dir / "broken.jsonl", "{\"text\": \"fine\"}\n{\"text\": \"unterminated\n");
  EXPECT_CONTAINS(input_error_message([&] { data::load_text_corpus(dir / "broken.jsonl"); }), "line 2 is not valid JSON");
}

TEST_F(ScratchFolder, EmptyTextIsRefused) {
  write_file(dir / "empty.txt", "\n  \n");
  EXPECT_CONTAINS(input_error_message([&] { data::load_text_corpus(dir / "empty.txt"); }), "holds no text");
}

TEST_F(ScratchFolder, TextIsNormalisedAndSplitLikePython) {
  write_file(dir / "crlf.txt", "\xEF\xBB\xBFone\r\ntwo\rthree\n");
  const data::TextCorpus corpus = data::load_text_corpus(dir / "crlf.txt");
  ASSERT_EQ(corpus.documents.size(), 1u);
  EXPECT_EQ(corpus.documents[0], "one\ntwo\nthree\n");
  EXPECT_EQ(data::corpus_rows(corpus), (std::vector<std::string>{"one", "two", "three", ""}));
}

TEST(Utf8, FindsTheFirstInvalidSequence) {
  EXPECT_EQ(tokenizer::find_invalid_utf8("plain ascii"), -1);
  EXPECT_EQ(tokenizer::find_invalid_utf8("caf\xc3\xa9 \xf0\x9f\xa6\x99"), -1);
  EXPECT_EQ(tokenizer::find_invalid_utf8("ab\xc3"), 2);           // truncated sequence
  EXPECT_EQ(tokenizer::find_invalid_utf8("\xc0\xaf"), 0);         // overlong '/'
  EXPECT_EQ(tokenizer::find_invalid_utf8("x\xed\xa0\x80"), 1);    // UTF-16 surrogate
  EXPECT_EQ(tokenizer::find_invalid_utf8("\xff"), 0);
}

}  // namespace
}  // namespace lowbit
