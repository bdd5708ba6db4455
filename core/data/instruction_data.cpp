#include "core/data/instruction_data.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>

#include "core/util/errors.h"
#include "core/util/json_limits.h"

namespace lowbit::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPromptWithInput =
    "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
    "response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n"
    "### Response:\n";
constexpr const char* kPromptWithoutInput =
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string type_name(const json& value) {
  return value.is_null() ? "null" : value.is_number() ? "a number" : value.is_boolean() ? "true/false"
       : value.is_array() ? "a list" : value.is_object() ? "an object" : "something else";
}

bool is_blank(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

// Line and column (1-based) of a byte offset.
std::pair<int64_t, int64_t> line_and_column(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  const int64_t line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
  const size_t line_start = offset == 0 ? 0 : text.rfind('\n', offset - 1);
  const int64_t column = static_cast<int64_t>(offset - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
  return {line, column};
}

// One record, or the problem that keeps it out.
void add_record(InstructionDataset& dataset, int64_t index, const json& value, const InstructionColumns& columns) {
  auto problem = [&](const std::string& field, const std::string& message) {
    dataset.problems.push_back({index, field, message});
  };
  if (!value.is_object()) return problem("", "is " + type_name(value) + ", not an object with \"" +
                                                 columns.instruction + "\" and \"" + columns.output + "\"");
  InstructionRecord record;
  record.index = index;
  struct Field {
    const std::string& name;
    std::string* target;
    bool required;
  };
  for (const Field& field : {Field{columns.instruction, &record.instruction, true}, Field{columns.input, &record.input, false},
                             Field{columns.output, &record.output, true}}) {
    const auto found = value.find(field.name);
    if (found == value.end() || found->is_null()) {
      if (field.required) return problem(field.name, "is missing");
      continue;
    }
    if (!found->is_string()) return problem(field.name, "is " + type_name(*found) + ", not text");
    *field.target = found->get<std::string>();
    if (field.required && is_blank(*field.target)) return problem(field.name, "is empty");
  }
  dataset.records.push_back(std::move(record));
}

// encode() of at most `max_bytes` of `text`, cut at a character boundary: a record of megabytes costs no more
// than one that just passes the cutoff (a token never spans more than a few dozen bytes, so the kept tokens
// are the same).
std::vector<int64_t> encode_capped(const tokenizer::Tokenizer& tokenizer, const std::string& text, size_t max_bytes,
                                   bool add_special_tokens) {
  if (text.size() <= max_bytes) return tokenizer.encode(text, add_special_tokens);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return tokenizer.encode(text.substr(0, cut), add_special_tokens);
}

}  // namespace

std::string DataProblem::describe(bool json_lines) const {
  std::string where = json_lines ? "line " + std::to_string(index + 1) : "record " + std::to_string(index);
  if (!field.empty()) where += ", field \"" + field + "\"";
  return where + ": " + message;
}

InstructionDataset load_instruction_data(const fs::path& path, const InstructionColumns& columns) {
  if (!fs::exists(path)) throw InputError(path.string(), "does not exist", "check the path of the data file");
  if (fs::is_directory(path)) throw InputError(path.string(), "is a folder", "give an Alpaca .json or .jsonl file");
  std::string text = util::read_file_bytes(path, util::kDatasetJsonLimits.max_bytes);
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    throw InputError(path.string(), "is empty", "give a JSON array of {\"instruction\", \"input\", \"output\"} records");
  }
  InstructionDataset dataset;
  dataset.path = path;
  dataset.json_lines = path.extension() == ".jsonl" || text[first] == '{';
  if (!dataset.json_lines) {
    if (text[first] != '[') {
      throw InputError(path.string(), "is not Alpaca data: it starts with '" + text.substr(first, 1) + "'",
                       "give a JSON array of {\"instruction\", \"input\", \"output\"} records, or JSON Lines");
    }
    if (const int64_t bad = tokenizer::find_invalid_utf8(text); bad >= 0) {
      const auto [line, column] = line_and_column(text, static_cast<size_t>(bad));
      throw InputError(path.string(), "is not valid UTF-8: line " + std::to_string(line) + ", column " +
                                          std::to_string(column) + " (byte offset " + std::to_string(bad) + ")",
                       "save the file as UTF-8");
    }
    if (const auto problem = util::json_limit_problem(text, util::kDatasetJsonLimits)) {
      throw InputError(path.string(), *problem, "split the data into smaller files, or use JSON Lines");
    }
    json array;
    try {
      array = json::parse(text);
    } catch (const json::out_of_range& e) {  // a number like 1e99999
      throw InputError(path.string(), std::string("is not valid JSON: ") + e.what(), "fix the number the message names");
    } catch (const json::parse_error& e) {
      const auto [line, column] = line_and_column(text, e.byte > 0 ? e.byte - 1 : 0);
      // nlohmann's own words after its position ("syntax error while parsing object - unexpected …").
      const std::string what = e.what();
      const size_t detail = what.find(": ", what.find("column"));
      throw InputError(path.string(), "is not valid JSON: line " + std::to_string(line) + ", column " +
                                          std::to_string(column) +
                                          (detail == std::string::npos ? "" : ": " + what.substr(detail + 2)),
                       "fix the file there (a missing comma, quote or bracket is the usual cause)");
    }
    if (!array.is_array()) {
      throw InputError(path.string(), "holds " + type_name(array) + ", not a list of records", "give a JSON array");
    }
    for (size_t i = 0; i < array.size(); ++i) add_record(dataset, static_cast<int64_t>(i), array[i], columns);
  } else {
    std::istringstream lines(text);
    std::string line;
    for (int64_t number = 0; std::getline(lines, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (is_blank(line)) continue;
      if (const int64_t bad = tokenizer::find_invalid_utf8(line); bad >= 0) {
        dataset.problems.push_back({number, "", "is not valid UTF-8 (byte " + std::to_string(bad + 1) + " of the line)"});
        continue;
      }
      if (const auto problem = util::json_limit_problem(line, util::kDatasetLineLimits)) {
        dataset.problems.push_back({number, "", *problem});
        continue;
      }
      const json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) {
        dataset.problems.push_back({number, "", "is not valid JSON"});
        continue;
      }
      add_record(dataset, number, value, columns);
    }
  }
  if (dataset.records.empty()) {
    std::string reasons;
    for (size_t i = 0; i < std::min<size_t>(3, dataset.problems.size()); ++i) {
      reasons += (i ? "; " : " (") + dataset.problems[i].describe(dataset.json_lines);
    }
    if (!reasons.empty()) reasons += dataset.problems.size() > 3 ? "; …)" : ")";
    throw InputError(path.string(), "has no usable record" + reasons,
                     "records need the fields \"" + columns.instruction + "\" and \"" + columns.output +
                         "\" as text; name other fields with --instruction-field/--input-field/--output-field");
  }
  return dataset;
}

std::string render_prompt(PromptTemplate prompt_template, const std::string& instruction, const std::string& input) {
  if (prompt_template == PromptTemplate::Model) throw InternalError("render_prompt: the model's template goes through PromptFormat");
  if (prompt_template == PromptTemplate::None) return input.empty() ? instruction : instruction + "\n" + input;
  if (input.empty()) return replace_all(kPromptWithoutInput, "{instruction}", instruction);
  return replace_all(replace_all(kPromptWithInput, "{instruction}", instruction), "{input}", input);
}

TokenizedExample tokenize_example(const tokenizer::Tokenizer& tokenizer, const InstructionRecord& record,
                                  const ExampleOptions& options, const PromptFormat& format) {
  const size_t max_bytes = static_cast<size_t>(options.cutoff) * 64;
  const auto [prompt, reply] = format.instruction_example(record.instruction, record.input, record.output);
  const bool special = format.add_special_tokens();
  TokenizedExample example;
  example.input_ids = encode_capped(tokenizer, prompt + reply, max_bytes, special);
  if (static_cast<int64_t>(example.input_ids.size()) > options.cutoff) {
    example.input_ids.resize(static_cast<size_t>(options.cutoff));
    example.truncated = true;
  }
  const int64_t eos = tokenizer.eos_ids().front();
  if (options.add_eos && format.kind() != PromptTemplate::Model && example.input_ids.back() != eos &&
      static_cast<int64_t>(example.input_ids.size()) < options.cutoff) {
    example.input_ids.push_back(eos);
  }
  example.labels = example.input_ids;
  if (!options.train_on_inputs) {
    const size_t prompt_tokens = std::min(encode_capped(tokenizer, prompt, max_bytes, special).size(), example.labels.size());
    std::fill(example.labels.begin(), example.labels.begin() + static_cast<std::ptrdiff_t>(prompt_tokens), -100);
  }
  return example;
}

std::string LengthStatistics::describe(int64_t cutoff) const {
  char text[200];
  std::snprintf(text, sizeof(text), "%lld examples, tokens min %lld / median %lld / mean %.1f / max %lld; %lld truncated at %lld",
                static_cast<long long>(count), static_cast<long long>(min), static_cast<long long>(median), mean,
                static_cast<long long>(max), static_cast<long long>(truncated), static_cast<long long>(cutoff));
  return text;
}

LengthStatistics length_statistics(const std::vector<TokenizedExample>& examples) {
  LengthStatistics s;
  if (examples.empty()) return s;
  std::vector<int64_t> lengths;
  for (const TokenizedExample& e : examples) {
    lengths.push_back(static_cast<int64_t>(e.input_ids.size()));
    s.truncated += e.truncated ? 1 : 0;
  }
  std::sort(lengths.begin(), lengths.end());
  s.count = static_cast<int64_t>(lengths.size());
  s.min = lengths.front();
  s.max = lengths.back();
  s.median = lengths[lengths.size() / 2];
  s.mean = static_cast<double>(std::accumulate(lengths.begin(), lengths.end(), int64_t{0})) / static_cast<double>(s.count);
  return s;
}

Split split_records(int64_t count, double validation, uint64_t seed) {
  int64_t held = validation >= 1 ? static_cast<int64_t>(validation) : static_cast<int64_t>(std::llround(validation * static_cast<double>(count)));
  if (validation > 0 && count >= 2) held = std::max<int64_t>(held, 1);
  held = std::min<int64_t>(held, count - 1);
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 generator(seed);
  std::shuffle(order.begin(), order.end(), generator);
  Split split;
  split.validation.assign(order.begin(), order.begin() + std::max<int64_t>(held, 0));
  split.train.assign(order.begin() + std::max<int64_t>(held, 0), order.end());
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

PreparedExamples prepare_examples(const InstructionDataset& dataset, const tokenizer::Tokenizer& tokenizer,
                                  const ExampleOptions& options, const PromptFormat& format) {
  constexpr int64_t kIgnoredLabel = -100;
  PreparedExamples prepared;
  prepared.problems = dataset.problems;
  prepared.malformed = static_cast<int64_t>(dataset.problems.size());
  for (const InstructionRecord& record : dataset.records) {
    TokenizedExample example = tokenize_example(tokenizer, record, options, format);
    const bool learns = std::any_of(example.labels.begin() + 1, example.labels.end(),
                                    [](int64_t label) { return label != kIgnoredLabel; });
    if (learns) {
      prepared.usable.push_back(std::move(example));
    } else {
      ++prepared.prompt_fills_cutoff;
      prepared.problems.push_back({record.index, "", "its prompt alone fills the cutoff of " + std::to_string(options.cutoff) +
                                                         " tokens; raise --cutoff"});
    }
  }
  return prepared;
}

}  // namespace lowbit::data
