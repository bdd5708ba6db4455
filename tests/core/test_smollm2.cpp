// SmolLM2-135M-Instruct, a real instruction-tuned model imported from its GGUF file (ctest fixture
// smollm2_import), against transformers loading the same GGUF (scripts/smollm2_reference.py): the chat template
// renders the same prompt, the tokenizer gives the same ids, and greedy chat answers are the same token ids,
// stopping at <|im_end|>; the stream never shows a replacement character.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/generate/chat.h"
#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "core/tokenizer/tokenizer.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

const fs::path kModel = LOWBIT_SMOLLM2_DIR;
const fs::path kReference = LOWBIT_SMOLLM2_REFERENCE;

class SmolLM2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kModel / "config.json") || !fs::exists(kReference)) return;
    model_ = model::LlamaModel::load(kModel, {at::kCPU, at::kFloat});
    tokenizer_ = std::make_shared<tokenizer::Tokenizer>(tokenizer::Tokenizer::load(kModel, model_->config()));
    std::ifstream in(kReference);
    reference_ = nlohmann::json::parse(in);
  }
  static void TearDownTestSuite() {
    model_.reset();
    tokenizer_.reset();
  }
  void SetUp() override {
    if (!model_) {
      GTEST_SKIP() << kModel.string() << " or " << kReference.string()
                   << " missing: the SmolLM2 GGUF comes from scripts/setup.sh, the fixtures from ctest";
    }
  }
  static std::shared_ptr<model::LlamaModel> model_;
  static std::shared_ptr<tokenizer::Tokenizer> tokenizer_;
  static nlohmann::json reference_;
};

std::shared_ptr<model::LlamaModel> SmolLM2::model_;
std::shared_ptr<tokenizer::Tokenizer> SmolLM2::tokenizer_;
nlohmann::json SmolLM2::reference_;

class Tokens : public jobs::IgnoreEvents {
 public:
  void token(const jobs::Token& token) override { pieces.push_back(token.text); }
  std::vector<std::string> pieces;
};

// LowBit's forward on the imported folder against transformers' forward on the GGUF file itself (fp32).
TEST_F(SmolLM2, LogitsEqualTransformersOnTheGgufFile) {
  const fs::path reference = fs::path(LOWBIT_GGUF_FIXTURES_DIR) / "smollm2" / "logits.safetensors";
  if (!fs::exists(reference)) GTEST_SKIP() << reference.string() << " missing (ctest's fixtures.gguf makes it)";
  c10::InferenceMode inference;
  const auto file = model::SafetensorsFile::open(reference);
  const at::Tensor expected = file->tensor("logits").to(at::kDouble);
  const at::Tensor logits = model_->forward(file->tensor("input_ids").to(at::kLong)).to(at::kDouble);
  ASSERT_EQ(logits.sizes(), expected.sizes());
  const double scale = expected.abs().max().item<double>();
  ASSERT_GT(scale, 1.0) << "reference logits near zero: the comparison would prove nothing";
  const double relative = (logits - expected).abs().max().item<double>() / scale;
  std::printf("SmolLM2 (Q4_1 GGUF imported as F32): max |ours - transformers| / max |logit| = %.3g over %lld positions\n",
              relative, static_cast<long long>(logits.size(1)));
  EXPECT_LE(relative, 1e-5);
}

TEST_F(SmolLM2, ChatPromptsAndIdsEqualTransformers) {
  generate::ChatSession chat(model_, tokenizer_, {});
  ASSERT_EQ(chat.format().kind(), data::PromptTemplate::Model) << chat.format().describe();
  for (const auto& reference_case : reference_["cases"]) {
    const std::string question = reference_case["question"];
    EXPECT_EQ(chat.prompt_for(question), reference_case["prompt"].get<std::string>()) << question;
    EXPECT_EQ(tokenizer_->encode(chat.prompt_for(question), chat.format().add_special_tokens()),
              reference_case["prompt_ids"].get<std::vector<int64_t>>())
        << question;
  }
}

TEST_F(SmolLM2, GreedyAnswersAreTransformersGreedyIds) {
  generate::ChatSettings settings;
  settings.sampling.greedy = true;
  settings.keep_history = false;
  settings.max_new_tokens = reference_["max_new_tokens"].get<int64_t>();
  auto chat = std::make_shared<generate::ChatSession>(model_, tokenizer_, settings);
  for (const auto& reference_case : reference_["cases"]) {
    const std::string question = reference_case["question"];
    const std::string prompt = chat->prompt_for(question);
    generate::GenerateParams params;
    params.prompt = prompt;
    params.add_bos = false;
    params.max_new_tokens = settings.max_new_tokens;
    params.sampling.greedy = true;
    Tokens events;
    tokenizer::Tokenizer stopping = *tokenizer_;
    chat->format().add_stop_tokens(stopping);
    const generate::GenerateResult result = generate::generate_text(*model_, stopping, params, events, jobs::CancelToken());
    EXPECT_EQ(result.generated_ids, reference_case["new_ids"].get<std::vector<int64_t>>()) << question;
    EXPECT_EQ(result.stopped_at_eos, reference_case["stopped_at_end_of_turn"].get<bool>()) << question;
    // transformers decodes a character cut by the token limit as U+FFFD; LowBit leaves it out.
    std::string expected = reference_case["answer"].get<std::string>();
    while (expected.size() >= 3 && expected.compare(expected.size() - 3, 3, "\xEF\xBF\xBD") == 0) expected.resize(expected.size() - 3);
    EXPECT_EQ(result.text, expected) << question;
    std::string streamed;
    for (const std::string& piece : events.pieces) {
      EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "a replacement character was streamed: " << piece;
      streamed += piece;
    }
    EXPECT_EQ(streamed, result.text);
    std::printf("%s -> %s\n", question.c_str(), result.text.c_str());
  }
  const generate::ChatReply reply = chat->send("What is the capital of France?", *std::make_unique<Tokens>(), jobs::CancelToken());
  EXPECT_EQ(reply.text, "The capital of France is Paris.");
}

}  // namespace
}  // namespace lowbit
