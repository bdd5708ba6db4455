// EMEF on stories260K: Alpaca examples tokenized exactly as alpaca-lora does, fine-tuning lowers the validation
// loss on a quantized model with a frozen adapter underneath, the saved adapter reproduces it, and chat stops
// at the template's markers without streaming them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/data/instruction_data.h"
#include "core/generate/chat.h"
#include "core/lora/peft_adapter.h"
#include "core/model/llama_model.h"
#include "core/quant/quantize_job.h"
#include "core/train/emef_job.h"
#include "core/train/metric_names.h"
#include "core/train/resume_run.h"
#include "core/train/trainer.h"
#include "core/util/errors.h"
#include "tests/support/files.h"
#include "tests/support/cancel_at.h"
#include "tests/support/run_metrics.h"
#include "tests/support/testdata.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;
using testing::read_metrics;
using testing::testdata_path;

constexpr const char* kModel = "models/stories260K-hf";
constexpr const char* kAlpaca = "alpaca/alpaca_data_1k.json";

class Emef : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(testdata_path(kModel))) return;
    dir = fs::temp_directory_path() / ("lowbit-emef-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    quant::QuantizeSettings q;
    q.device = "cpu";
    q.model_dir = testdata_path(kModel);
    q.out_dir = dir / "int4";
    q.config.bits = 4;
    q.config.group_size = 32;
    q.config.method = quant::QuantMethod::Rtn;
    jobs::IgnoreEvents events;
    quant::QuantizeJob(q).run(events, jobs::CancelToken());
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
  void SetUp() override {
    LOWBIT_REQUIRE_TESTDATA(kModel);
    LOWBIT_REQUIRE_TESTDATA(kAlpaca);
  }
  static tokenizer::Tokenizer stories_tokenizer() {
    return tokenizer::Tokenizer::load(testdata_path(kModel), model::load_llama_config(testdata_path(kModel)));
  }
  static fs::path dir;
};
fs::path Emef::dir;

TEST_F(Emef, ExamplesAreTokenizedAsAlpacaLoraDoes) {
  if (std::system((std::string("'") + LOWBIT_PYTHON + "' -c 'import transformers, sentencepiece' 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << LOWBIT_PYTHON << " has no transformers/sentencepiece (run scripts/setup.sh)";
  }
  const tokenizer::Tokenizer tokenizer = stories_tokenizer();
  const data::InstructionDataset dataset = data::load_instruction_data(testdata_path(kAlpaca));
  ASSERT_TRUE(dataset.problems.empty());
  for (const bool train_on_inputs : {false, true}) {
    // Cutoff 320: some of the first 100 records are cut, the rest get their EOS.
    const fs::path out = dir / ("reference-" + std::to_string(train_on_inputs) + ".json");
    const std::string command = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR +
                                "/scripts/alpaca_reference.py' '" + testdata_path(kAlpaca).string() + "' '" +
                                testdata_path(kModel).string() + "/tokenizer.model' --cutoff 320 --count 100 --out '" +
                                out.string() + "'" + (train_on_inputs ? " --train-on-inputs" : "");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    nlohmann::json expected;
    std::ifstream(out) >> expected;
    int truncated = 0;
    for (size_t i = 0; i < 100; ++i) {
      const data::TokenizedExample example = data::tokenize_example(tokenizer, dataset.records[i], {320, train_on_inputs, true});
      EXPECT_EQ(example.input_ids, expected["input_ids"][i].get<std::vector<int64_t>>()) << "record " << i;
      EXPECT_EQ(example.labels, expected["labels"][i].get<std::vector<int64_t>>()) << "record " << i;
      truncated += example.truncated ? 1 : 0;
    }
    EXPECT_GT(truncated, 10);
    EXPECT_LT(truncated, 90);
  }
}

TEST_F(Emef, AHugeRecordCostsNoMoreThanItsCutoff) {
  const tokenizer::Tokenizer tokenizer = stories_tokenizer();
  data::InstructionRecord record;
  record.instruction = "Tell a long story.";
  for (int i = 0; i < 200000; ++i) record.output += "Once upon a time there was a cat. ";  // 6.8 MB
  const auto started = std::chrono::steady_clock::now();
  const data::TokenizedExample example = data::tokenize_example(tokenizer, record, {256, false, true});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 5.0);
  EXPECT_TRUE(example.truncated);
  EXPECT_EQ(example.input_ids.size(), 256u);
  data::InstructionRecord short_record = record;
  short_record.output = record.output.substr(0, 4000);
  EXPECT_EQ(data::tokenize_example(tokenizer, short_record, {256, false, true}).input_ids, example.input_ids)
      << "cutting the text before tokenizing must not change the kept tokens";
}

TEST_F(Emef, FineTuningLowersTheValidationLossOnTopOfAFrozenAdapter) {
  // A frozen adapter under the trained one, as EMEF runs on top of LREC.
  {
    auto model = model::LlamaModel::load(dir / "int4", {at::kCPU, std::nullopt});
    lora::AdapterConfig frozen{{4, 8.0, 0.0}, {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
                               (dir / "int4").string()};
    const auto adapter = lora::attach_new_adapter(*model, frozen, false, 3);
    for (const auto& entry : adapter) entry.layer->lora_b().normal_(0.0, 0.02);
    lora::save_adapter(adapter, frozen, dir / "frozen");
  }
  EmefSettings p;
  p.device = "cpu";
  p.model_dir = dir / "int4";
  p.base_adapters = {dir / "frozen"};
  p.data = testdata_path(kAlpaca);
  p.run_dir = dir / "run";
  p.examples.cutoff = 256;
  p.batch = 8;
  p.micro_batch = 4;
  p.steps = 24;
  p.lr = 3e-3;
  p.eval_every = 12;
  p.eval_examples = 32;
  jobs::IgnoreEvents events;
  EmefJob job(p);
  job.run(events, jobs::CancelToken());
  const EmefResult& r = job.result();
  std::printf("EMEF INT4 stories260K, 24 steps × 8 examples: validation loss %.4f -> %.4f\n", r.first_val_loss, r.final_val_loss);
  EXPECT_LT(r.final_val_loss, r.first_val_loss - 0.05);
  EXPECT_GT(r.skipped_records, 0) << "prompts longer than 256 tokens are left out";
  for (const char* file : {"config.json", "metrics.jsonl", "data_report.txt", "adapter/adapter_config.json",
                           "adapter/adapter_model.safetensors", "checkpoints/step-000024/optimizer.pt"}) {
    EXPECT_TRUE(fs::exists(p.run_dir / file)) << file;
  }
  const nlohmann::json adapter_config = nlohmann::json::parse(std::ifstream(p.run_dir / "adapter/adapter_config.json"));
  EXPECT_EQ(adapter_config["r"], 8);
  EXPECT_EQ(adapter_config["target_modules"].size(), 2u);
  EXPECT_EQ(read_metrics(p.run_dir).back().at(metrics::kValCe), r.final_val_loss);

  // The saved adapter, stacked on the same frozen one, gives the reported validation loss again.
  auto model = model::LlamaModel::load(dir / "int4", {at::kCPU, std::nullopt});
  lora::load_adapter(*model, dir / "frozen", false);
  lora::load_adapter(*model, p.run_dir / "adapter", false);
  const tokenizer::Tokenizer tokenizer = stories_tokenizer();
  const data::InstructionDataset dataset = data::load_instruction_data(p.data);
  std::vector<data::TokenizedExample> usable;
  for (const auto& record : dataset.records) {
    data::TokenizedExample e = data::tokenize_example(tokenizer, record, p.examples);
    if (std::any_of(e.labels.begin() + 1, e.labels.end(), [](int64_t l) { return l != -100; })) usable.push_back(e);
  }
  const data::Split split = data::split_records(static_cast<int64_t>(usable.size()), p.validation, p.seed);
  c10::NoGradGuard no_grad;
  double summed = 0;
  int64_t counted = 0;
  for (size_t i = 0; i < 32; ++i) {
    const data::TokenizedExample& e = usable[static_cast<size_t>(split.validation[i])];
    const at::Tensor logits = model->forward(at::tensor(e.input_ids, at::kLong).unsqueeze(0))[0];
    const at::Tensor labels = at::tensor(e.labels, at::kLong);
    const int64_t n = labels.size(0);
    summed += at::cross_entropy_loss(logits.narrow(0, 0, n - 1), labels.narrow(0, 1, n - 1), {}, at::Reduction::Sum, -100).item<double>();
    counted += (labels.narrow(0, 1, n - 1) != -100).sum().item<int64_t>();
  }
  EXPECT_NEAR(summed / static_cast<double>(counted), r.final_val_loss, 1e-5);
}

// Every metric a real EMEF run emits is in the one list, and its metrics.jsonl, read by the one reader, holds
// exactly the events: the same names, steps and values.
TEST_F(Emef, EveryMetricIsListedAndTheFileHoldsTheEventsUnderTheSameNames) {
  EmefSettings p;
  p.device = "cpu";
  p.model_dir = dir / "int4";
  p.data = testdata_path(kAlpaca);
  p.run_dir = dir / "metric-names";
  p.examples.cutoff = 128;
  p.batch = 4;
  p.micro_batch = 2;
  p.steps = 4;
  p.eval_every = 2;
  p.checkpoint_every = 2;
  p.eval_examples = 8;
  testing::RecordedMetrics recorded;
  EmefJob(p).run(recorded, jobs::CancelToken());
  std::set<std::string> names;
  for (const auto& [name, step, value] : recorded.seen) {
    EXPECT_NE(metrics::find_metric(name), nullptr) << name << " is not in core/train/metric_names.h";
    names.insert(name);
  }
  for (const char* expected : {metrics::kTrainCe, metrics::kTrainTotal, metrics::kValCe, metrics::kValPpl, metrics::kRamUsed}) {
    EXPECT_EQ(names.count(expected), 1u) << expected;
  }
  EXPECT_EQ(names.count(metrics::kTrainKl), 0u) << "EMEF has no teacher";
  EXPECT_EQ(testing::metric_triples(p.run_dir), testing::by_step_and_name(recorded.seen));
}

// Early stopping watches the fine-tune's validation CE: with a learning rate too high to settle (better until step 5, then worse), the run ends
// after two evaluations without a lower one, before its 30 steps, and its adapter is the best evaluation's.
TEST_F(Emef, EarlyStoppingWatchesTheValidationLossAndKeepsTheBestAdapter) {
  EmefSettings p;
  p.device = "cpu";
  p.model_dir = dir / "int4";
  p.data = testdata_path(kAlpaca);
  p.run_dir = dir / "early";
  p.columns = {"instruction", "input", "output"};
  p.examples.cutoff = 128;
  p.batch = 4;
  p.micro_batch = 2;
  p.steps = 30;
  p.warmup_steps = 0;
  p.lr = 0.01;
  p.eval_every = 1;
  p.checkpoint_every = 1;
  p.eval_examples = 8;
  p.early_stop_patience = 2;
  jobs::IgnoreEvents quiet;
  EmefJob job(p);
  job.run(quiet, jobs::CancelToken());
  std::vector<std::pair<int64_t, double>> evaluations;
  for (const auto& record : testing::read_metrics(p.run_dir)) {
    if (record.has(metrics::kValCe)) evaluations.emplace_back(record.step, record.at(metrics::kValCe));
  }
  ASSERT_GE(evaluations.size(), 3u);
  const auto best = std::min_element(evaluations.begin(), evaluations.end(),
                                     [](const auto& x, const auto& y) { return x.second < y.second; });
  std::printf("EMEF early stop at step %lld of 30; best step %lld (val CE %.4f)\n",
              static_cast<long long>(evaluations.back().first), static_cast<long long>(best->first), best->second);
  EXPECT_LT(job.result().steps_done, 30);
  EXPECT_EQ(job.result().steps_done, evaluations.back().first);
  EXPECT_EQ(job.result().best_step, best->first);
  EXPECT_EQ(evaluations.end() - best - 1, 2);
  const std::string best_checkpoint = checkpoint_name(best->first);
  ASSERT_TRUE(fs::exists(p.run_dir / "checkpoints" / best_checkpoint / "adapter" / "adapter_model.safetensors"));
  EXPECT_EQ(testing::file_bytes(p.run_dir / "adapter" / "adapter_model.safetensors"),
            testing::file_bytes(p.run_dir / "checkpoints" / best_checkpoint / "adapter" / "adapter_model.safetensors"));
}

// Stopped at step 2 and resumed from the folder alone: the job rebuilt from config.json has the settings the run
// was started with, and finishes it.
TEST_F(Emef, AStoppedRunResumesWithTheSettingsItStartedWith) {
  EmefSettings p;
  p.device = "cpu";
  p.model_dir = dir / "int4";
  p.data = testdata_path(kAlpaca);
  p.run_dir = dir / "stopped";
  p.columns = {"instruction", "input", "output"};
  p.prompt_template = data::PromptTemplate::Alpaca;
  p.examples.cutoff = 128;
  p.batch = 4;
  p.micro_batch = 2;
  p.steps = 4;
  p.warmup_steps = 1;
  p.lr = 1e-3;
  p.eval_every = 2;
  p.checkpoint_every = 2;
  p.eval_examples = 8;
  p.seed = 5;
  jobs::CancelToken cancel;
  testing::CancelAtProgress stopper(cancel, /*done=*/2, "steps");
  EXPECT_THROW(EmefJob(p).run(stopper, cancel), Cancelled);
  const auto resumed = train::make_resume_job(p.run_dir, "cpu");
  const auto* job = dynamic_cast<const EmefJob*>(resumed.get());
  ASSERT_NE(job, nullptr);
  EmefSettings expected = p;
  expected.resume = true;
  // Stored absolute, so that a resume from any directory finds the same files.
  expected.model_dir = fs::absolute(expected.model_dir).lexically_normal();
  expected.data = fs::absolute(expected.data).lexically_normal();
  EXPECT_TRUE(job->settings() == expected);
  jobs::IgnoreEvents quiet;
  resumed->run(quiet, jobs::CancelToken());
  EXPECT_TRUE(fs::exists(p.run_dir / "adapter" / "adapter_model.safetensors"));
}

TEST_F(Emef, BadDataEndsTheRunBeforeAnythingIsWrittenAndAnExistingRunIsKept) {
  EmefSettings p;
  p.device = "cpu";
  p.model_dir = dir / "int4";
  p.run_dir = dir / "bad-run";
  p.data = dir / "empty.json";
  std::ofstream(p.data) << "";
  jobs::IgnoreEvents events;
  EXPECT_THROW(EmefJob(p).run(events, jobs::CancelToken()), InputError);
  EXPECT_FALSE(fs::exists(p.run_dir));
  fs::create_directories(dir / "taken");
  std::ofstream(dir / "taken" / "metrics.jsonl") << "{\"step\": 1}\n";
  p.run_dir = dir / "taken";
  p.data = testdata_path(kAlpaca);
  EXPECT_THROW(EmefJob(p).run(events, jobs::CancelToken()), InputError);
  std::ifstream kept(dir / "taken" / "metrics.jsonl");
  std::string line;
  std::getline(kept, line);
  EXPECT_EQ(line, "{\"step\": 1}");
}

class StreamedText : public jobs::IgnoreEvents {
 public:
  void token(const jobs::Token& token) override { text += token.text; }
  std::string text;
};

TEST_F(Emef, GenerationStopsBeforeAStopStringAndNeverStreamsIt) {
  auto model = std::shared_ptr<const model::LlamaModel>(model::LlamaModel::load(testdata_path(kModel), {at::kCPU, at::kFloat}));
  auto tokenizer = std::make_shared<const tokenizer::Tokenizer>(stories_tokenizer());
  generate::GenerateParams params;
  params.prompt = "Once upon a time";
  params.max_new_tokens = 60;
  params.sampling.greedy = true;
  StreamedText plain_events;
  const generate::GenerateResult plain = generate::generate_text(*model, *tokenizer, params, plain_events, jobs::CancelToken());
  ASSERT_NE(plain.text.find(" Lily"), std::string::npos) << plain.text;  // llama2.c's story
  params.stop_strings = {"never appears", " Lily"};
  StreamedText stopped_events;
  const generate::GenerateResult stopped = generate::generate_text(*model, *tokenizer, params, stopped_events, jobs::CancelToken());
  EXPECT_TRUE(stopped.stopped_at_stop_string);
  EXPECT_EQ(stopped.text, plain.text.substr(0, plain.text.find(" Lily")));
  EXPECT_EQ(stopped_events.text, stopped.text) << "no part of the stop string was streamed";
}

TEST_F(Emef, ChatWrapsMessagesInTheTemplateAndKeepsTheConversation) {
  auto model = std::shared_ptr<const model::LlamaModel>(model::LlamaModel::load(testdata_path(kModel), {at::kCPU, at::kFloat}));
  auto tokenizer = std::make_shared<const tokenizer::Tokenizer>(stories_tokenizer());
  generate::ChatSettings settings;
  settings.max_new_tokens = 24;
  settings.sampling.greedy = true;
  generate::ChatSession chat(model, tokenizer, settings);
  StreamedText events;
  const generate::ChatReply first = chat.send("Tell me about a cat.", events, jobs::CancelToken());
  EXPECT_GT(first.new_tokens, 0);
  EXPECT_EQ(first.text.find("### "), std::string::npos);
  EXPECT_EQ(chat.prompt_for("And a dog?"),
            data::render_prompt(data::PromptTemplate::Alpaca, "Tell me about a cat.") + first.text + "\n\n" +
                data::render_prompt(data::PromptTemplate::Alpaca, "And a dog?"));
  // A context of 512 tokens holds only a few turns of this template: the oldest are dropped, never the new one.
  int64_t dropped = 0;
  for (int i = 0; i < 6; ++i) dropped = std::max(dropped, chat.send("And then?", events, jobs::CancelToken()).dropped_turns);
  EXPECT_GT(dropped, 0);
  chat.reset();
  EXPECT_EQ(chat.prompt_for("Hi"), data::render_prompt(data::PromptTemplate::Alpaca, "Hi"));
}

}  // namespace
}  // namespace lowbit::train
