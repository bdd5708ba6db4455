// One home for each job's settings: every field survives the command line and config.json, in both directions;
// run folders written by earlier versions still read; the pipeline's command lines parse back to its steps; bad
// config files name the key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/quant/quantize_settings.h"
#include "core/train/emef_settings.h"
#include "core/train/lrec_settings.h"
#include "core/train/run_plan.h"
#include "core/util/errors.h"

namespace lowbit {
namespace {

using nlohmann::json;

template <typename Settings>
Settings parse_back(const SettingsSchema<Settings>& schema, const Settings& settings,
                    std::vector<OptionSpec> extra = {}) {
  return schema.parse(ArgParser(schema.command(), schema.arguments(settings), schema.options(std::move(extra))));
}

// Every field away from its default (and from the preset's), so that a field the schema forgot cannot pass.
train::LrecSettings unusual_lrec() {
  train::LrecSettings s;
  s.student_dir = "models/int2 with space";
  s.teacher_dir = "models/fp";
  s.calibration = "c4.jsonl";
  s.run_dir = "runs/lrec";
  s.resume = true;
  train::apply_preset(s, "int2");
  s.lora = {12, 7.5, 0.125};
  s.target_modules = {"q_proj", "down_proj"};
  s.loss = {0.5, 33.0, train::KlDirection::StudentTeacher, train::KlNormalisation::PerToken};
  s.schedule = {2.5e-5, 7, 321, train::ScheduleKind::Linear, 0.1};
  s.weight_decay = 0.003;
  s.max_grad_norm = 0.7;
  s.micro_batch = 3;
  s.accumulation = 5;
  s.seqlen = 384;
  s.calibration_windows = 77;
  s.held_out_fraction = 0.15;
  s.eval_windows = 9;
  s.eval_every = 11;
  s.checkpoint_every = 13;
  s.early_stop_patience = 3;
  s.loss.mse = 0.25;
  s.teacher_top_k = 0;
  s.gradient_checkpointing = false;
  s.seed = 12345678901ULL;
  s.device = "cuda:1";
  return s;
}

train::EmefSettings unusual_emef() {
  train::EmefSettings s;
  s.model_dir = "models/int2";
  s.base_adapters = {"runs/lrec/adapter", "other adapter"};
  s.data = "alpaca.json";
  s.columns = {"prompt", "context", "answer"};
  s.run_dir = "runs/emef";
  s.resume = true;
  s.lora = {16, 40.0, 0.1};
  s.target_modules = {"q_proj", "k_proj", "v_proj"};
  s.lr = 1.5e-4;
  s.schedule = train::ScheduleKind::Cosine;
  s.warmup_steps = 17;
  s.epochs = 1.5;
  s.steps = 99;
  s.batch = 32;
  s.micro_batch = 8;
  s.weight_decay = 0.01;
  s.max_grad_norm = 2.0;
  s.examples = {512, true, false};
  s.prompt_template = data::PromptTemplate::Model;
  s.validation = 100;
  s.eval_examples = 64;
  s.eval_every = 21;
  s.checkpoint_every = 42;
  s.early_stop_patience = 4;
  s.gradient_checkpointing = false;
  s.seed = 7;
  s.device = "cpu";
  return s;
}

quant::QuantizeSettings unusual_quantize() {
  quant::QuantizeSettings s;
  s.model_dir = "models/fp";
  s.out_dir = "models/int3";
  s.calibration = "wiki text.txt";
  s.config.bits = 3;
  s.config.group_size = 64;
  s.config.desc_act = true;
  s.config.static_groups = true;
  s.config.sym = false;
  s.config.true_sequential = false;
  s.config.damp_percent = 0.05;
  s.config.checkpoint_format = "gptq";  // not the asymmetric default
  s.config.method = quant::QuantMethod::Rtn;
  s.nsamples = 64;
  s.seqlen = 1024;
  s.seed = 3;
  s.device = "cuda";
  return s;
}

TEST(LrecSettings, EveryFieldSurvivesTheCommandLine) {
  const auto& schema = train::lrec_settings_schema();
  const train::LrecSettings s = unusual_lrec();
  EXPECT_TRUE(parse_back(schema, s) == s);
  for (const char* preset : {"int2", "int3", "int4"}) {
    train::LrecSettings plain;
    plain.student_dir = "q";
    plain.teacher_dir = "t";
    plain.calibration = "c";
    plain.run_dir = "r";
    train::apply_preset(plain, preset);
    EXPECT_TRUE(parse_back(schema, plain) == plain) << preset;
    // A preset's own values are not repeated: the line is what a person would type.
    std::vector<std::string> expected{"q", "--teacher", "t", "--calib", "c", "--out", "r", "--preset", preset};
    EXPECT_EQ(schema.arguments(plain), expected);
  }
}

// RILQ's recipe is one option on top of a preset; its own settings are not repeated, and every field still survives.
TEST(LrecSettings, TheRilqRecipeIsOneOptionAndSurvivesTheCommandLineAndConfigJson) {
  const auto& schema = train::lrec_settings_schema();
  const std::vector<std::string> line{"q", "--teacher", "t", "--calib", "c", "--out", "r", "--preset", "int2", "--loss", "rilq"};
  const train::LrecSettings rilq = schema.parse(ArgParser(schema.command(), line, schema.options()));
  EXPECT_EQ(rilq.loss.kind, train::CorrectionLoss::HiddenMseCe);
  EXPECT_EQ(rilq.loss.mse, 0.5);
  EXPECT_EQ(rilq.loss.ce, 0.5);
  EXPECT_EQ(rilq.lora.rank, 32);
  EXPECT_EQ(rilq.lora.alpha, 16.0);
  EXPECT_EQ(rilq.lora.dropout, 0.0);
  EXPECT_EQ(rilq.schedule.base_lr, 1e-4);
  EXPECT_EQ(rilq.weight_decay, 0.0);
  EXPECT_EQ(rilq.accumulation, 8);
  EXPECT_EQ(rilq.eval_every, 25);
  EXPECT_EQ(rilq.early_stop_patience, 5);
  EXPECT_EQ(schema.arguments(rilq), line);
  // The rank changes, α stays RILQ's; and an option after the recipe wins over it.
  train::LrecSettings changed = rilq;
  train::set_lrec_rank(changed, 8);
  EXPECT_EQ(changed.lora.alpha, 16.0);
  changed.schedule.base_lr = 3e-4;
  changed.early_stop_patience = 0;
  EXPECT_TRUE(parse_back(schema, changed) == changed);
  train::LrecSettings unusual = unusual_lrec();
  unusual.loss.kind = train::CorrectionLoss::HiddenMseCe;
  EXPECT_TRUE(parse_back(schema, unusual) == unusual);
  train::LrecSettings back = schema.from_json(json::parse(schema.to_json(unusual).dump()), "config.json");
  back.run_dir = unusual.run_dir;
  back.resume = unusual.resume;
  EXPECT_TRUE(back == unusual);
}

TEST(LrecSettings, EachRecipeHasOneNameBothWays) {
  for (const auto& [name, loss] : train::correction_recipes()) {
    EXPECT_EQ(train::correction_recipe_name(loss), name);
    EXPECT_EQ(train::correction_recipe_named(name), loss);
  }
  EXPECT_EQ(train::correction_recipe_name(train::CorrectionLoss::KlCe), "lrec");
  EXPECT_EQ(train::correction_recipe_name(train::CorrectionLoss::HiddenMseCe), "rilq");
  try {
    train::correction_recipe_named("gptq");
    FAIL() << "an unknown recipe was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("use lrec or rilq"), std::string::npos) << e.what();
  }
}

TEST(LrecSettings, EveryFieldSurvivesConfigJson) {
  const auto& schema = train::lrec_settings_schema();
  train::LrecSettings s = unusual_lrec();
  const json config = json::parse(schema.to_json(s).dump());  // through text, as on disk
  train::LrecSettings back = schema.from_json(config, "config.json");
  // The run folder and --resume are where the file is and how it is opened, not what it says.
  back.run_dir = s.run_dir;
  back.resume = s.resume;
  EXPECT_TRUE(back == s);
}

TEST(LrecSettings, ARunFolderOfThePreviousVersionStillResumes) {
  // config.json as LowBit 0.x wrote it (no "preset"; the device resolved).
  const json config = json::parse(R"({
    "kind": "lrec", "student": "int2", "teacher": "fp", "calibration": "c4.txt", "lora_rank": 32,
    "lora_alpha": 128.0, "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"], "kl_weight": 1.0,
    "ce_weight": 120.0, "lr": 3e-05, "warmup_steps": 0, "steps": 200, "weight_decay": 1e-05,
    "max_grad_norm": 1.0, "micro_batch": 1, "accumulation": 1, "seqlen": 512, "calibration_windows": 128,
    "held_out_fraction": 0.2, "eval_windows": 16, "teacher_top_k": 64, "gradient_checkpointing": true,
    "seed": 0, "device": "cuda:0", "schedule": "cosine", "min_lr_ratio": 0.0, "kl_direction": "teacher_student",
    "kl_normalisation": "per_sequence", "eval_every": 20, "checkpoint_every": 20})");
  const train::LrecSettings s = train::lrec_settings_schema().from_json(config, "runs/old/config.json");
  EXPECT_EQ(s.student_dir, "int2");
  EXPECT_EQ(s.loss.ce, 120.0);
  EXPECT_EQ(s.schedule.base_lr, 3e-5);
  EXPECT_EQ(s.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(s.eval_every, 20);
  EXPECT_EQ(s.device, "cuda:0");
}

TEST(LrecSettings, ABrokenConfigNamesTheKeyAndWhatToDo) {
  const auto& schema = train::lrec_settings_schema();
  json config = schema.to_json(train::LrecSettings{});
  config.erase("ce_weight");
  try {
    schema.from_json(config, "runs/x/config.json");
    ADD_FAILURE() << "a missing key is an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("runs/x/config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"ce_weight\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  config = schema.to_json(train::LrecSettings{});
  config["steps"] = "many";
  EXPECT_THROW(schema.from_json(config, "config.json"), InputError);
  config = schema.to_json(train::LrecSettings{});
  config["schedule"] = "sawtooth";
  EXPECT_THROW(schema.from_json(config, "config.json"), InputError);
}

TEST(EmefSettings, EveryFieldSurvivesTheCommandLineAndConfigJson) {
  const auto& schema = train::emef_settings_schema();
  const train::EmefSettings s = unusual_emef();
  EXPECT_TRUE(parse_back(schema, s) == s);
  train::EmefSettings without_steps = s;
  without_steps.steps.reset();
  EXPECT_TRUE(parse_back(schema, without_steps) == without_steps);
  train::EmefSettings back = schema.from_json(json::parse(schema.to_json(s).dump()), "config.json");
  back.run_dir = s.run_dir;
  back.resume = s.resume;
  EXPECT_TRUE(back == s);
  back = schema.from_json(json::parse(schema.to_json(without_steps).dump()), "config.json");
  EXPECT_FALSE(back.steps.has_value());
}

TEST(EmefSettings, ARunFolderOfThePreviousVersionStillResumes) {
  // No "template" (runs before chat templates were Alpaca's), steps as the count the run computed.
  const json config = json::parse(R"({
    "kind": "emef", "model": "int4", "base_adapters": ["lrec/adapter"], "data": "alpaca.json",
    "columns": ["instruction", "input", "output"], "cutoff": 256, "train_on_inputs": false, "lora_rank": 8,
    "lora_alpha": 16.0, "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"], "lr": 0.0003,
    "warmup_steps": 10, "schedule": "linear", "steps": 120, "epochs": 3.0, "batch": 128, "micro_batch": 4,
    "weight_decay": 0.0, "max_grad_norm": 1.0, "validation": 0.05, "gradient_checkpointing": true, "seed": 0,
    "device": "cpu", "add_eos": true, "eval_examples": 256, "eval_every": 200, "checkpoint_every": 200})");
  const train::EmefSettings s = train::emef_settings_schema().from_json(config, "config.json");
  EXPECT_EQ(s.prompt_template, data::PromptTemplate::Alpaca);
  ASSERT_TRUE(s.steps.has_value());
  EXPECT_EQ(*s.steps, 120);
  EXPECT_EQ(s.base_adapters, (std::vector<std::filesystem::path>{"lrec/adapter"}));
}

TEST(QuantizeSettings, EveryFieldSurvivesTheCommandLineAndConfigJson) {
  const auto& schema = quant::quantize_settings_schema();
  const quant::QuantizeSettings s = unusual_quantize();
  EXPECT_TRUE(parse_back(schema, s) == s);
  EXPECT_TRUE(schema.from_json(json::parse(schema.to_json(s).dump()), "settings.json") == s);
  // --asym alone gives gptq_v2, --sym (the default) gptq; RTN needs no calibration text.
  quant::QuantizeSettings asym;
  asym.model_dir = "m";
  asym.out_dir = "o";
  asym.config.sym = false;
  asym.config.checkpoint_format = "gptq_v2";
  EXPECT_EQ(schema.arguments(asym), (std::vector<std::string>{"m", "--out", "o", "--asym"}));
  EXPECT_TRUE(parse_back(schema, asym) == asym);
}

TEST(RunPlan, ThePipelineCommandsParseBackToItsSteps) {
  train::RunPlan plan;
  plan.model_dir = "models/fp";
  plan.quantize = unusual_quantize();
  plan.correct = unusual_lrec();
  plan.finetune = unusual_emef();
  const auto lines = train::run_plan_commands(plan);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0][0], "quantize");
  EXPECT_EQ(lines[1][0], "correct");
  EXPECT_EQ(lines[2][0], "finetune");
  auto rest = [](const std::vector<std::string>& line) { return std::vector<std::string>(line.begin() + 1, line.end()); };
  const auto& q = quant::quantize_settings_schema();
  const auto& l = train::lrec_settings_schema();
  const auto& e = train::emef_settings_schema();
  EXPECT_TRUE(q.parse(ArgParser("quantize", rest(lines[0]), q.options())) == *plan.quantize);
  EXPECT_TRUE(l.parse(ArgParser("correct", rest(lines[1]), l.options())) == *plan.correct);
  EXPECT_TRUE(e.parse(ArgParser("finetune", rest(lines[2]), e.options())) == *plan.finetune);
}

TEST(SettingsSchema, UsageListsEveryOptionAndNumbersReadBackExactly) {
  const auto& schema = train::lrec_settings_schema();
  const std::string help = schema.options_help();
  for (const OptionSpec& option : schema.options()) {
    EXPECT_NE(help.find(option.name), std::string::npos) << option.name << " is not in the usage text";
  }
  EXPECT_EQ(schema.usage(), "lowbit correct QUANT_DIR --teacher FP_DIR --calib FILE --out RUN_DIR [options]");
  EXPECT_NE(help.find("--steps N                    optimizer steps (default 200)"), std::string::npos) << help;
  for (double value : {3e-5, 1e-5, 0.1, 1.0 / 3.0, 128.0, 10.0, 2.5e-300}) {
    EXPECT_EQ(std::stod(shortest_number_text(value)), value);
  }
  EXPECT_EQ(shortest_number_text(3e-5), "3e-05");
  EXPECT_EQ(shortest_number_text(10.0), "10");
  EXPECT_THROW(schema.parse(ArgParser("correct", {"q", "--teacher", "t", "--calib", "c", "--out", "r", "--preset", "int5"},
                                      schema.options())),
               UsageError);
}

}  // namespace
}  // namespace lowbit
