// Files made to hurt: every parser has limits checked before it builds anything, and a file past one is an
// InputError naming the file and the limit — never a stack overflow, an endless loop or a giant allocation.
// (tests/fuzz searches for more; these are the cases we know.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/data/instruction_data.h"
#include "core/lora/adapter_config.h"
#include "core/model/llama_config.h"
#include "core/model/safetensors.h"
#include "core/tokenizer/chat_template.h"
#include "core/train/metrics_log.h"
#include "core/util/errors.h"
#include "core/util/folder_lock.h"
#include "core/util/json_limits.h"
#include "tests/support/input_error.h"
#include "tests/support/temp_dir.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

using testing::input_error_message;

// {"a":{"a":…1…}} nested `depth` objects deep, as in the probe's model.safetensors.
std::string nested_objects(int depth) {
  std::string text;
  text.reserve(static_cast<size_t>(depth) * 6 + 1);
  for (int i = 0; i < depth; ++i) text += "{\"a\":";
  text += "1";
  text.append(static_cast<size_t>(depth), '}');
  return text;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(JsonLimits, NestingPastTheLimitIsAnInputErrorNamingTheLimit) {
  const std::string message = input_error_message(
      [] { util::parse_json(nested_objects(200000), "deep.json", util::kConfigJsonLimits); });
  EXPECT_CONTAINS(message, "deep.json: nests objects or lists more than 64 levels deep");
  EXPECT_NO_THROW(util::parse_json(nested_objects(64), "ok.json", util::kConfigJsonLimits));
}

TEST(JsonLimits, SizeStringsAndValueCountAreCheckedBeforeParsing) {
  const util::JsonLimits small{100, 8, 10, 5};
  EXPECT_CONTAINS(input_error_message([&] { util::parse_json(std::string(101, ' '), "big.json", small); }),
                  "more than the limit of 100 B");
  EXPECT_CONTAINS(input_error_message([&] { util::parse_json("[\"" + std::string(11, 'x') + "\"]", "s.json", small); }),
                  "holds a string of 11 B");
  EXPECT_CONTAINS(input_error_message([&] { util::parse_json("[1,2,3,4,5,6]", "n.json", small); }),
                  "more than 5 values");
  // Brackets and commas inside strings are text, not structure.
  EXPECT_NO_THROW(util::parse_json("[\"[[[,,,\\\"\"]", "quoted.json", small));
  EXPECT_CONTAINS(input_error_message([&] { util::parse_json("{\"a\": }", "bad.json", small); }),
                  "bad.json: is not valid JSON");
}

TEST(JsonLimits, FilesAreRefusedBySizeBeforeBeingRead) {
  testing::TempDir dir;
  write_file(dir.path() / "huge.json", "[" + std::string(200, ' ') + "]");
  const util::JsonLimits tiny{100, 8, 10, 100};
  EXPECT_CONTAINS(input_error_message([&] { util::read_json_file(dir.path() / "huge.json", tiny); }),
                  "huge.json: is 202 B, more than the limit of 100 B");
  EXPECT_FALSE(util::read_json_file_or_none(dir.path() / "huge.json", tiny).has_value());
  EXPECT_FALSE(util::read_json_file_or_none(dir.path() / "absent.json", tiny).has_value());
}

// The probe's file: `lowbit info` died with SIGSEGV (a recursive dump of the nested value) before this fix.
TEST(SafetensorsHeader, TwoHundredThousandNestedObjectsAreAnInputError) {
  testing::TempDir dir;
  std::string header = nested_objects(200000);
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  write_file(dir.path() / "model.safetensors", file + header);
  const std::string message =
      input_error_message([&] { model::SafetensorsFile::open(dir.path() / "model.safetensors"); });
  EXPECT_CONTAINS(message, "model.safetensors: the header nests objects or lists more than 8 levels deep");
}

TEST(SafetensorsHeader, ANestedValueInAnErrorIsNamedNotDumped) {
  const std::string header = "{\"w\": " + nested_objects(5) + "}";
  std::string file(8, '\0');
  file[0] = static_cast<char>(header.size());
  file += header;
  const std::string message = input_error_message([&] {
    model::parse_safetensors_header(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "x.safetensors");
  });
  EXPECT_CONTAINS(message, "has no \"dtype\"");
}

nlohmann::json small_llama_config() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"vocab_size", 512},       {"hidden_size", 64},
          {"intermediate_size", 172},              {"num_hidden_layers", 5},  {"num_attention_heads", 8},
          {"num_key_value_heads", 4},              {"rms_norm_eps", 1e-5},    {"eos_token_id", 2}};
}

struct BadField {
  const char* key;
  nlohmann::json value;
  const char* expected;
};

TEST(LlamaConfigRanges, ImpossibleValuesAreRefusedNamingTheField) {
  const std::vector<BadField> cases = {
      {"hidden_size", 64.5, "field 'hidden_size' must be a whole number, found 64.5"},
      {"hidden_size", 1000000000000, "field 'hidden_size' is 1000000000000, outside 1 to 131072"},
      {"hidden_size", 0, "field 'hidden_size' is 0, outside 1"},
      {"hidden_size", -64, "field 'hidden_size' is -64"},
      {"hidden_size", 60, "hidden_size is not a multiple of num_attention_heads"},
      {"num_hidden_layers", 1000000, "field 'num_hidden_layers' is 1000000, outside 1 to 1024"},
      {"vocab_size", "512", "field 'vocab_size' must be a whole number"},
      {"head_dim", 0, "field 'head_dim' is 0, outside 2 to 4096"},
      {"rope_theta", 0, "field 'rope_theta' is 0.000000, outside the open range"},
      {"rms_norm_eps", -1, "field 'rms_norm_eps' is -1.000000, outside the open range 0"},
      {"max_position_embeddings", -5, "field 'max_position_embeddings' is -5"},
      {"eos_token_id", 512, "token id 512 (bos/eos) is outside the vocabulary of 512 tokens"},
      {"bos_token_id", -1, "token id -1 (bos/eos) is outside the vocabulary"},
  };
  for (const BadField& bad : cases) {
    nlohmann::json config = small_llama_config();
    config[bad.key] = bad.value;
    EXPECT_CONTAINS(input_error_message([&] { model::parse_llama_config(config, "config.json"); }), bad.expected)
        << bad.key << " = " << bad.value.dump();
  }
  nlohmann::json whole_float = small_llama_config();
  whole_float["hidden_size"] = 64.0;  // transformers' int() accepts it, and so do we
  EXPECT_EQ(model::parse_llama_config(whole_float, "config.json").hidden_size, 64);
}

TEST(AdapterConfigRanges, RankOutsideOneTo65536IsRefused) {
  nlohmann::json config = {{"peft_type", "LORA"}, {"r", 8}, {"lora_alpha", 16}, {"target_modules", {"q_proj"}}};
  EXPECT_EQ(lora::parse_adapter_config(config, "adapter_config.json").shape.rank, 8);
  for (const nlohmann::json& rank : {nlohmann::json(0), nlohmann::json(-3), nlohmann::json(1000000000), nlohmann::json(2.5)}) {
    config["r"] = rank;
    EXPECT_CONTAINS(input_error_message([&] { lora::parse_adapter_config(config, "adapter_config.json"); }),
                    "r must be a whole number from 1 to 65536");
  }
  config["r"] = 8;
  config["lora_dropout"] = 1.5;
  EXPECT_CONTAINS(input_error_message([&] { lora::parse_adapter_config(config, "adapter_config.json"); }),
                  "lora_dropout from 0 to below 1");
}

std::string render_error(const std::string& source) {
  return input_error_message([&] {
    tokenizer::ChatTemplate::parse(source, "hostile.jinja").render({{"user", "hi"}}, true);
  });
}

TEST(ChatTemplateBounds, EndlessOrEnormousTemplatesStopWithAnError) {
  EXPECT_CONTAINS(render_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), "macros call each other more than 100");
  EXPECT_CONTAINS(render_error("{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}"),
                  "steps without finishing");
  EXPECT_CONTAINS(render_error("{{ 'a' * 1000000000000 }}"), "'*' would build a string past the limit");
  EXPECT_CONTAINS(render_error("{{ [1, 2] * 1000000000000 }}"), "'*' would build a list past the limit");
  EXPECT_CONTAINS(render_error("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
                               "{% endfor %}{{ ns.s }}"),
                  "more than the limit of 16777216");
  EXPECT_CONTAINS(render_error("{{ 'x' | indent(100000000000) }}"), "past the limit");
}

// Lists are immutable in the sandbox (append is refused, as by transformers), so a value cannot hold itself; a loop
// can still nest one 100,000 deep, and printing, serialising or comparing it must not overflow the stack.
TEST(ChatTemplateBounds, DeeplyNestedValuesStopWithAnError) {
  EXPECT_CONTAINS(render_error("{% set l = [] %}{% set _ = l.append(l) %}{{ l }}"), "'append' of 'list' object is unsafe");
  const std::string deep = "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}{% endfor %}";
  EXPECT_CONTAINS(render_error(deep + "{{ ns.l | tojson }}"), "values nest more than 200");
  EXPECT_CONTAINS(render_error(deep + "{{ ns.l == ns.l }}"), "values nest more than 200");
  EXPECT_CONTAINS(render_error("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}"
                               "{% endfor %}{{ ns.l }}"),
                  "values nest more than 200");
}

TEST(ChatTemplateBounds, ParsingDeepTemplatesStopsWithAnError) {
  std::string long_tag = "{{ 1";
  for (int i = 0; i < 1500; ++i) long_tag += " + 1";
  EXPECT_CONTAINS(input_error_message([&] { tokenizer::ChatTemplate::parse(long_tag + " }}", "t.jinja"); }),
                  "a tag of more than 1000 tokens");
  std::string deep_blocks;
  for (int i = 0; i < 150; ++i) deep_blocks += "{% if true %}";
  EXPECT_CONTAINS(input_error_message([&] { tokenizer::ChatTemplate::parse(deep_blocks, "t.jinja"); }),
                  "blocks nest more than 100 deep");
  std::string deep_parentheses(400, '(');
  EXPECT_NO_THROW(
      tokenizer::ChatTemplate::parse("{{ " + deep_parentheses + "1" + std::string(400, ')') + " }}", "t.jinja"));
}

TEST(MetricsLine, ALineOverTheLimitIsSkippedLikeAnyDamagedLine) {
  train::MetricRecord record;
  EXPECT_TRUE(train::parse_metrics_line("{\"step\": 1, \"train/loss\": 2.5}", record));
  EXPECT_FALSE(train::parse_metrics_line("{\"step\": 1, \"x\": " + nested_objects(100000) + "}", record));
  EXPECT_FALSE(train::parse_metrics_line("{\"step\": 1, \"x\": \"" + std::string(2 << 20, 'a') + "\"}", record));
}

TEST(InstructionDataLimits, ADeeplyNestedLineIsOneBadRecordNotACrash) {
  testing::TempDir dir;
  write_file(dir.path() / "data.jsonl",
             "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": " + nested_objects(100000) + "}\n");
  const data::InstructionDataset dataset = data::load_instruction_data(dir.path() / "data.jsonl");
  ASSERT_EQ(dataset.records.size(), 1u);
  ASSERT_EQ(dataset.problems.size(), 1u);
  EXPECT_CONTAINS(dataset.problems[0].message, "nests objects or lists more than 32 levels deep");
}

// A second writer is refused with the holder's pid (a second descriptor in this process counts as another writer,
// as flock does); once the holder lets go, the folder is free again.
TEST(FolderLock, ASecondWriterIsRefusedWithTheHoldersPidUntilTheFirstLetsGo) {
  testing::TempDir dir;
  const fs::path run = dir.path() / "run";
  {
    const FolderLock first = FolderLock::acquire(run, "a run");
    EXPECT_TRUE(fs::exists(run / kFolderLockFileName));
    EXPECT_TRUE(folder_is_empty_but_for_lock(run));
    EXPECT_CONTAINS(input_error_message([&] { FolderLock::acquire(run, "a run"); }),
                    "run: is in use: a run is being written there by another LowBit process (pid " +
                        std::to_string(::getpid()) + ")");
  }
  EXPECT_NO_THROW(FolderLock::acquire(run, "a run"));
}

}  // namespace
}  // namespace lowbit
