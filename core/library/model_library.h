// The model library behind the app's Models page: every model folder found under the folders the user added
// (a folder that is a model, or holds models one level down), what it is, which adapters were made for it, and
// whether each task fits the GPU found (the memory estimates of core/train for each job's default settings, and
// model_summary's for chatting). Above both core/model and core/train, which know nothing of it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/jobs/job.h"
#include "core/model/model_summary.h"
#include "core/train/memory_estimate.h"

namespace lowbit::library {

struct TaskFit {
  std::string task;         // "chat", "correct (LREC)", "fine-tune (EMEF)"
  int64_t needed_bytes = 0;
  train::Fit fit = train::Fit::NoGpu;
};

struct ModelCard {
  model::ModelSummary summary;
  std::vector<std::filesystem::path> adapters;  // adapter folders whose base_model_name_or_path is this model
  std::vector<TaskFit> tasks;
  std::string problem;                          // non-empty when the folder could not be read (why)
};

struct ModelLibrary {
  std::vector<ModelCard> cards;
  std::string gpu;         // "NVIDIA GeForce RTX 3070 Laptop GPU, 7.6 GiB free" or "no NVIDIA GPU found"
  int64_t free_bytes = 0;  // of the first GPU
};

ModelLibrary scan_model_library(const std::vector<std::filesystem::path>& folders);

class ModelLibraryJob : public jobs::Job {
 public:
  explicit ModelLibraryJob(std::vector<std::filesystem::path> folders) : folders_(std::move(folders)) {}
  std::string title() const override { return "Scan models"; }
  void run(jobs::JobEvents&, const jobs::CancelToken&) override { library_ = scan_model_library(folders_); }
  const ModelLibrary& library() const { return library_; }

 private:
  std::vector<std::filesystem::path> folders_;
  ModelLibrary library_;
};

}  // namespace lowbit::library
