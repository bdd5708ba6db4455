// The model library behind the app's Models page: every model folder found under the folders the user added
// (a folder that is a model, or holds models one level down), what it is, which adapters were made for it, and
// whether each task fits the GPU found (the memory estimates of core/train for each job's default settings, and
// model_summary's for chatting). Above both core/model and core/train, which know nothing of it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/jobs/job.h"
#include "core/model/model_summary.h"
#include "core/quant/quant_config.h"
#include "core/train/memory_estimate.h"

namespace lowbit::library {

struct TaskFit {
  std::string task;         // "chat", "correct (LREC)", "fine-tune (EMEF)"
  int64_t needed_bytes = 0;
  train::Fit fit = train::Fit::NoGpu;
};

// What each task needs for a model of this config (the jobs' default settings, fp16 on the GPU; chat with a 2048-token
// context) and whether it fits free_bytes of GPU memory (0: no GPU). For a model on disk and one not yet downloaded.
std::vector<TaskFit> estimate_tasks(const model::LlamaConfig& config, const std::optional<quant::QuantConfig>& quant,
                                    int64_t weights_fp16_bytes, int64_t free_bytes);

// The same for a model not downloaded yet, from its config.json alone (the weights counted from the config, at fp16).
// InputError when LowBit cannot run such a model (source names the file in the message).
std::vector<TaskFit> estimate_tasks(const nlohmann::json& model_config, const std::string& source, int64_t free_bytes);

struct GpuMemory {
  int64_t free_bytes = 0;  // of the first NVIDIA GPU; 0 without one
  std::string described;   // "NVIDIA GeForce RTX 4060 Laptop GPU, 7.1 GiB free" or "no NVIDIA GPU found"
};
GpuMemory first_gpu_memory();

// An adapter folder made for a model, and what it stacks on: a fine-tune (EMEF) trained on top of a correction
// (LREC) adapter chats with both, the correction first.
struct AdapterInfo {
  std::filesystem::path folder;
  std::string kind;                                 // "correction (LREC)", "fine-tune (EMEF)" or "adapter"
  std::filesystem::path run;                        // the LowBit run folder that made it; empty for others
  std::vector<std::filesystem::path> base_adapters; // loaded under it, in order (from its run's config.json)
};

// One of the user's runs that started from a model.
struct RunFromModel {
  std::filesystem::path folder;
  std::string kind;  // "pipeline (New run)", "correction (LREC)", "fine-tune (EMEF)"
};

struct ModelCard {
  model::ModelSummary summary;
  std::vector<AdapterInfo> adapters;  // adapter folders whose base_model_name_or_path is this model
  std::vector<TaskFit> tasks;         // empty when the model cannot be used
  std::string problem;                // non-empty when the folder could not be read (why)
  std::string unusable;               // read, but LowBit cannot run it: why, and what to do
  std::filesystem::path made_by_run;  // the run folder that wrote this model (a quantized one); empty for others
  std::vector<RunFromModel> runs;     // the user's runs that started from this model (its run folder's settings)

  // What the model can chat with: itself, then each adapter with the adapters it stacks on (in load order).
  std::vector<std::vector<std::filesystem::path>> adapter_stacks() const;
};

// An added folder as the user sees it: how many models it gave, and what in it was passed over and why.
struct FolderReport {
  std::filesystem::path folder;
  int models = 0;
  std::vector<std::filesystem::path> gguf_files;  // GGUF files in it or one level down: importable
  std::vector<std::string> notes;                 // "no model in it: …", "x.bin: LowBit does not read …"
};

struct ModelLibrary {
  std::vector<ModelCard> cards;
  std::vector<FolderReport> folders;  // one per added folder, in order
  std::string gpu;         // "NVIDIA GeForce RTX 3070 Laptop GPU, 7.6 GiB free" or "no NVIDIA GPU found"
  int64_t free_bytes = 0;  // of the first GPU
};

// Why LowBit cannot quantize, train or chat with a model it could read ("" when it can): no tokenizer, or no weights.
std::string unusable_reason(const model::ModelSummary& summary);

// `folders`: the folders the user added (each a model, or a folder of models). `run_folders`: the user's runs,
// newest first; the models they wrote (a quantized model) become cards of their own, listed first, and their
// adapters join their models' cards.
ModelLibrary scan_model_library(const std::vector<std::filesystem::path>& folders,
                                const std::vector<std::filesystem::path>& run_folders = {});

class ModelLibraryJob : public jobs::Job {
 public:
  explicit ModelLibraryJob(std::vector<std::filesystem::path> folders, std::vector<std::filesystem::path> run_folders = {})
      : folders_(std::move(folders)), run_folders_(std::move(run_folders)) {}
  std::string title() const override { return "Scan models"; }
  void run(jobs::JobEvents&, const jobs::CancelToken&) override { library_ = scan_model_library(folders_, run_folders_); }
  const ModelLibrary& library() const { return library_; }

 private:
  std::vector<std::filesystem::path> folders_;
  std::vector<std::filesystem::path> run_folders_;
  ModelLibrary library_;
};

}  // namespace lowbit::library
