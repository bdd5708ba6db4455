// How conversations and EMEF records become text (core/data/prompt_format.h): the model's own chat template when
// its folder has one, Alpaca otherwise or when the template cannot be rendered (with the reason), end-of-turn
// stops, and EMEF examples in the model's template with the loss on the reply only.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "core/data/instruction_data.h"
#include "core/data/prompt_format.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"
#include "tests/support/testdata.h"

namespace lowbit::data {
namespace {

namespace fs = std::filesystem;
using testing::testdata_path;

constexpr const char* kSmolLM2 = "tokenizers/smollm2-135m-instruct";

class ScratchFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("lowbit-prompt-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
           std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST(PromptFormat, TheModelsOwnTemplateIsUsedWhenTheFolderHasOne) {
  LOWBIT_REQUIRE_TESTDATA(kSmolLM2);
  std::string notice;
  const PromptFormat format = PromptFormat::for_model(testdata_path(kSmolLM2), std::nullopt, &notice);
  EXPECT_EQ(format.kind(), PromptTemplate::Model);
  EXPECT_TRUE(notice.empty()) << notice;
  EXPECT_FALSE(format.add_special_tokens()) << "the template writes its own special tokens";
  EXPECT_EQ(format.conversation_prompt({{"Hi", "Hello!"}}, "Bye", "Be brief."),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
            "Hello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  const std::vector<std::string> stops = format.end_of_turn_tokens();
  EXPECT_NE(std::find(stops.begin(), stops.end(), "<|im_end|>"), stops.end());
  EXPECT_TRUE(format.stop_strings().empty());
}

TEST(PromptFormat, AFolderWithoutTemplateChatsInAlpaca) {
  LOWBIT_REQUIRE_TESTDATA("models/stories260K-hf");
  const fs::path model = testdata_path("models/stories260K-hf");
  EXPECT_EQ(PromptFormat::for_model(model, std::nullopt, nullptr).kind(), PromptTemplate::Alpaca);
  try {
    PromptFormat::for_model(model, PromptTemplate::Model, nullptr);
    ADD_FAILURE() << "asking for the model's template of a folder without one must fail";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has no chat template"), std::string::npos) << e.what();
  }
}

TEST_F(ScratchFolder, ATemplateLowBitCannotRenderFallsBackToAlpacaAndSaysWhy) {
  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": "{% include 'header.jinja' %}{{ messages[0].content }}"})";
  std::string notice;
  const PromptFormat format = PromptFormat::for_model(dir, std::nullopt, &notice);
  EXPECT_EQ(format.kind(), PromptTemplate::Alpaca);
  EXPECT_NE(notice.find("include"), std::string::npos) << notice;
  EXPECT_NE(notice.find("Alpaca"), std::string::npos) << notice;
  EXPECT_NE(notice.find("tokenizer_config.json"), std::string::npos) << notice;
  EXPECT_THROW(PromptFormat::for_model(dir, PromptTemplate::Model, nullptr), InputError);
}

TEST_F(ScratchFolder, ATemplateThatRejectsTheConversationIsAnInputErrorWithItsMessage) {
  LOWBIT_REQUIRE_TESTDATA("chat_templates/google-gemma-2-2b-it.jinja");
  fs::copy_file(testdata_path("chat_templates/google-gemma-2-2b-it.jinja"), dir / "chat_template.jinja");
  std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": "<bos>", "eos_token": "<eos>"})";
  const PromptFormat format = PromptFormat::for_model(dir, std::nullopt, nullptr);
  ASSERT_EQ(format.kind(), PromptTemplate::Model);
  EXPECT_EQ(format.conversation_prompt({}, "Hi"), "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  try {
    format.conversation_prompt({}, "Hi", "You are a pirate.");
    ADD_FAILURE() << "Gemma 2's template rejects a system turn";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("System role not supported"), std::string::npos) << e.what();
  }
  const std::vector<std::string> stops = format.end_of_turn_tokens();
  EXPECT_NE(std::find(stops.begin(), stops.end(), "<end_of_turn>"), stops.end());
}

// EMEF in the model's template: instruction (+ input) as the user turn, output as the reply; the loss sees only
// the reply, which ends with the template's <|im_end|> (no EOS appended after it).
TEST(PromptFormat, EmefExamplesInTheModelsTemplateLearnOnlyTheReply) {
  LOWBIT_REQUIRE_TESTDATA(kSmolLM2);
  const fs::path folder = testdata_path(kSmolLM2);
  const PromptFormat format = PromptFormat::for_model(folder, PromptTemplate::Model, nullptr);
  const tokenizer::Tokenizer tokenizer = tokenizer::Tokenizer::load_file(folder / "tokenizer.json");
  InstructionRecord record;
  record.instruction = "Add the numbers.";
  record.input = "2 and 3";
  record.output = "5";
  const auto [prompt, reply] = format.instruction_example(record.instruction, record.input, record.output);
  EXPECT_NE(prompt.find("<|im_start|>user\nAdd the numbers.\n\n2 and 3<|im_end|>"), std::string::npos) << prompt;
  EXPECT_EQ(reply, "5<|im_end|>\n");
  const TokenizedExample example = tokenize_example(tokenizer, record, {256, false, true}, format);
  const std::vector<int64_t> prompt_ids = tokenizer.encode(prompt, false);
  const std::vector<int64_t> all_ids = tokenizer.encode(prompt + reply, false);
  EXPECT_EQ(example.input_ids, all_ids);
  ASSERT_GT(all_ids.size(), prompt_ids.size());
  for (size_t i = 0; i < all_ids.size(); ++i) {
    EXPECT_EQ(example.labels[i], i < prompt_ids.size() ? -100 : all_ids[i]) << "position " << i;
  }
  EXPECT_EQ(tokenizer.decode({all_ids.begin() + static_cast<std::ptrdiff_t>(prompt_ids.size()), all_ids.end()}), "5\n");
}

}  // namespace
}  // namespace lowbit::data
