// Alpaca data: the first byte picks JSON (an array of records) or JSON Lines; the rest is the file.
#include "core/data/instruction_data.h"
#include "core/data/text_corpus.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  if (size == 0) return 0;
  const bool json_lines = data[0] & 1;
  const auto path = fuzz::write_scratch(json_lines ? "data.jsonl" : "data.json", fuzz::as_text(data + 1, size - 1));
  fuzz::expect_success_or_input_error([&] {
    const auto dataset = data::load_instruction_data(path);
    for (const auto& record : dataset.records) data::render_prompt(data::PromptTemplate::Alpaca, record.instruction, record.input);
  });
  fuzz::expect_success_or_input_error([&] { data::load_text_corpus(path); });
  return 0;
}
