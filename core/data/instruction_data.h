// Instruction-tuning data in the Alpaca format and how EMEF turns it into training examples, as alpaca-lora's
// finetune.py (the script the INT2.1 paper's EMEF fine-tuning runs) does.
//
// Files: a JSON array of objects, or JSON Lines (one object per line), with the fields `instruction`, `input`
// (optional) and `output`; other field names through InstructionColumns. A record that cannot be used (not an
// object, a field missing, not text, empty) is reported with its index and field and left out; the rest are
// used. A file that is not JSON at all, not UTF-8 or empty is an InputError naming the file and the place.
//
// Prompt (alpaca-lora's templates/alpaca.json):
//   with input:    "Below is an instruction that describes a task, paired with an input that provides further
//                   context. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
//   without input: "Below is an instruction that describes a task. Write a response that appropriately completes
//                   the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"
// Example (Alpaca): ids = [BOS] + encode(prompt + output), cut to `cutoff` tokens, EOS appended when it fits; labels = ids
// with the prompt's tokens set to −100 (ignored by the loss) unless training on inputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "core/data/prompt_format.h"
#include "core/tokenizer/tokenizer.h"

namespace lowbit::data {

struct InstructionColumns {
  std::string instruction = "instruction";
  std::string input = "input";
  std::string output = "output";
};

inline bool operator==(const InstructionColumns& a, const InstructionColumns& b) {
  return std::tie(a.instruction, a.input, a.output) == std::tie(b.instruction, b.input, b.output);
}

struct InstructionRecord {
  int64_t index = 0;  // position in the file: array index, or line number − 1 for JSON Lines
  std::string instruction, input, output;
};

struct DataProblem {
  int64_t index = 0;      // the record (array index or line number − 1)
  std::string field;      // "" when the record as a whole is at fault
  std::string message;    // "is missing", "is not text (number)", …
  std::string describe(bool json_lines) const;  // "record 17, field \"output\": is missing" / "line 18: …"
};

struct InstructionDataset {
  std::filesystem::path path;
  bool json_lines = false;
  std::vector<InstructionRecord> records;
  std::vector<DataProblem> problems;
};

// Throws InputError when the file cannot be read as JSON/JSONL at all or holds no usable record.
InstructionDataset load_instruction_data(const std::filesystem::path& path, const InstructionColumns& columns = {});

// The Alpaca (or raw, for None) prompt for an instruction and optional input that the response follows; the
// model's own chat template is rendered through PromptFormat (core/data/prompt_format.h).
std::string render_prompt(PromptTemplate prompt_template, const std::string& instruction, const std::string& input = "");

struct TokenizedExample {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> labels;  // −100 where the loss ignores the token
  bool truncated = false;
};

struct ExampleOptions {
  int64_t cutoff = 256;          // alpaca-lora's cutoff_len default; the paper's EMEF runs used 512
  bool train_on_inputs = false;  // false: the prompt's tokens are masked out of the loss
  bool add_eos = true;
};

inline bool operator==(const ExampleOptions& a, const ExampleOptions& b) {
  return std::tie(a.cutoff, a.train_on_inputs, a.add_eos) == std::tie(b.cutoff, b.train_on_inputs, b.add_eos);
}

// With the model's chat template, no EOS is appended: the template ends the assistant turn itself.
TokenizedExample tokenize_example(const tokenizer::Tokenizer& tokenizer, const InstructionRecord& record,
                                  const ExampleOptions& options, const PromptFormat& format = PromptFormat::alpaca());

// A dataset as a fine-tuning run uses it: the examples it learns from, and every record it leaves out — the
// malformed ones, then those whose prompt alone fills the cutoff (nothing left to learn from). One function, so
// that the wizard's check and the run leave out the same records.
struct PreparedExamples {
  std::vector<TokenizedExample> usable;
  std::vector<DataProblem> problems;  // every record left out, malformed first
  int64_t malformed = 0;              // of the file's records
  int64_t prompt_fills_cutoff = 0;
  int64_t records_in_file() const { return static_cast<int64_t>(usable.size()) + malformed + prompt_fills_cutoff; }
};
PreparedExamples prepare_examples(const InstructionDataset& dataset, const tokenizer::Tokenizer& tokenizer,
                                  const ExampleOptions& options, const PromptFormat& format);

struct LengthStatistics {
  int64_t count = 0, min = 0, max = 0, median = 0, truncated = 0;
  double mean = 0;
  std::string describe(int64_t cutoff) const;  // "1000 examples, tokens min 31 / median 84 / mean 96.2 / max 256; 12 truncated at 256"
};
LengthStatistics length_statistics(const std::vector<TokenizedExample>& examples);

// Seeded split of `count` records: `validation` = number when ≥ 1, fraction of count when in (0, 1).
struct Split {
  std::vector<int64_t> train, validation;  // indices into the records
};
Split split_records(int64_t count, double validation, uint64_t seed);

}  // namespace lowbit::data
