// What the app's wizard shows about a data file before a run: its detected format, record count, the first
// prompt rendered with the template, token statistics at the cutoff, and every record that will be left out.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/data/instruction_data.h"
#include "core/jobs/job.h"

namespace lowbit::data {

struct DataPreview {
  std::string format;               // "Alpaca JSON", "Alpaca JSON Lines", "plain text", "JSON Lines text"
  int64_t records = 0;              // records in the file (Alpaca) or documents (text)
  std::string first_example;        // rendered prompt + response of the first record, or the text's beginning
  std::string statistics;           // LengthStatistics::describe, or "N tokens"
  int64_t tokens = 0;               // all tokens (at the cutoff for Alpaca data)
  double mean_tokens = 0;           // per example (Alpaca data)
  std::vector<std::string> problems;  // DataProblem::describe of every left-out record
  // Alpaca data as the fine-tuning run will use it (its cutoff and prompt template): the records it learns from,
  // and those it leaves out because they are malformed or their prompt alone fills the cutoff.
  int64_t usable = 0, malformed = 0, prompt_fills_cutoff = 0;
  int64_t left_out() const { return malformed + prompt_fills_cutoff; }
};

// instruction: Alpaca data for fine-tuning, checked at `cutoff` in `prompt_template` (the model's own falls back to
// Alpaca as the run does); otherwise calibration text. Throws InputError like the loaders.
DataPreview preview_data(const std::filesystem::path& path, const std::filesystem::path& model_dir, bool instruction,
                         int64_t cutoff, PromptTemplate prompt_template = PromptTemplate::Alpaca);

class DataPreviewJob : public jobs::Job {
 public:
  DataPreviewJob(std::filesystem::path path, std::filesystem::path model_dir, bool instruction, int64_t cutoff,
                 PromptTemplate prompt_template = PromptTemplate::Alpaca)
      : path_(std::move(path)), model_dir_(std::move(model_dir)), instruction_(instruction), cutoff_(cutoff),
        template_(prompt_template) {}
  std::string title() const override { return "Inspect data"; }
  void run(jobs::JobEvents&, const jobs::CancelToken&) override {
    preview_ = preview_data(path_, model_dir_, instruction_, cutoff_, template_);
  }
  const DataPreview& preview() const { return preview_; }

 private:
  std::filesystem::path path_, model_dir_;
  bool instruction_;
  int64_t cutoff_;
  PromptTemplate template_;
  DataPreview preview_;
};

}  // namespace lowbit::data
