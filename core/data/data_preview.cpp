#include "core/data/data_preview.h"

#include <cmath>

#include "core/data/text_corpus.h"
#include "core/model/llama_config.h"

namespace lowbit::data {

DataPreview preview_data(const std::filesystem::path& path, const std::filesystem::path& model_dir, bool instruction,
                         int64_t cutoff, PromptTemplate prompt_template) {
  const tokenizer::Tokenizer tokenizer = tokenizer::Tokenizer::load(model_dir, model::load_llama_config(model_dir));
  DataPreview preview;
  if (instruction) {
    const InstructionDataset dataset = load_instruction_data(path);
    preview.format = dataset.json_lines ? "Alpaca JSON Lines" : "Alpaca JSON";
    const PromptFormat format = PromptFormat::for_model(model_dir, prompt_template, nullptr);
    const PreparedExamples prepared = prepare_examples(dataset, tokenizer, {cutoff, false, true}, format);
    preview.records = prepared.records_in_file();
    preview.usable = static_cast<int64_t>(prepared.usable.size());
    preview.malformed = prepared.malformed;
    preview.prompt_fills_cutoff = prepared.prompt_fills_cutoff;
    const InstructionRecord& first = dataset.records.front();
    const auto [prompt, response] = format.instruction_example(first.instruction, first.input, first.output);
    preview.first_example = prompt + response;
    const LengthStatistics statistics = length_statistics(prepared.usable);
    preview.statistics = statistics.describe(cutoff);
    preview.mean_tokens = statistics.mean;
    preview.tokens = static_cast<int64_t>(std::llround(statistics.mean * static_cast<double>(statistics.count)));
    for (const DataProblem& problem : prepared.problems) preview.problems.push_back(problem.describe(dataset.json_lines));
    return preview;
  }
  const TextCorpus corpus = load_text_corpus(path);
  preview.format = corpus.format == TextFormat::JsonLines ? "JSON Lines text" : "plain text";
  preview.records = static_cast<int64_t>(corpus.documents.size());
  const std::string joined = join_documents(corpus, "\n\n");
  preview.first_example = joined.substr(0, 600);
  preview.tokens = static_cast<int64_t>(tokenizer.encode(joined, true).size());
  preview.statistics = std::to_string(preview.tokens) + " tokens";
  return preview;
}

}  // namespace lowbit::data
