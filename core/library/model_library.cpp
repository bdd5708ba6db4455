#include "core/library/model_library.h"
#include "core/util/json_limits.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/system/nvidia_driver.h"
#include "core/train/emef_job.h"
#include "core/train/lrec_job.h"
#include "core/train/run_output.h"
#include "core/util/errors.h"
#include "core/util/format.h"

namespace lowbit::library {
namespace {

namespace fs = std::filesystem;

// A LowBit run folder has a config.json too ({"kind": "lrec", "total_steps": …}); a broken config.json still counts
// as a model's, so that its card can say what is wrong with it.
bool is_model_folder(const fs::path& dir) {
  if (!fs::exists(dir / "config.json") || fs::exists(dir / "adapter_config.json")) return false;
  const auto config = util::read_json_file_or_none(dir / "config.json", util::kConfigJsonLimits);
  return !config || !config->is_object() || !(config->contains("kind") && config->contains("total_steps"));
}

std::string lower_extension(const fs::path& file) {
  std::string extension = file.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

AdapterInfo describe_adapter(const fs::path& dir) {
  AdapterInfo adapter;
  adapter.folder = fs::weakly_canonical(dir);
  adapter.kind = "adapter";
  // A LowBit run keeps its adapter in <run>/adapter beside the run's config.json, which says what made it.
  const nlohmann::json run =
      util::read_json_file_or_none(dir.parent_path() / "config.json", util::kConfigJsonLimits).value_or(nullptr);
  if (!run.is_object() || !run.contains("kind")) return adapter;
  const std::string kind = run.value("kind", "");
  if (!train::run_kind_label(kind).empty()) adapter.kind = train::run_kind_label(kind);
  adapter.run = fs::weakly_canonical(dir.parent_path());
  const auto bases = run.find("base_adapters");
  if (bases != run.end() && bases->is_array()) {
    for (const auto& base : *bases) {
      if (base.is_string()) adapter.base_adapters.push_back(fs::weakly_canonical(base.get<std::string>()));
    }
  }
  return adapter;
}

std::vector<AdapterInfo> adapters_for(const fs::path& model_dir, const std::vector<fs::path>& roots) {
  std::vector<AdapterInfo> found;
  const fs::path canonical = fs::weakly_canonical(model_dir);
  auto consider = [&](const fs::path& dir) {
    const nlohmann::json config =
        util::read_json_file_or_none(dir / "adapter_config.json", util::kConfigJsonLimits).value_or(nullptr);
    if (!config.is_object() || !config.contains("base_model_name_or_path")) return;
    const nlohmann::json& base_json = config["base_model_name_or_path"];
    const std::string base = base_json.is_string() ? base_json.get<std::string>() : std::string();
    if (base.empty() || !fs::exists(base) || fs::weakly_canonical(base) != canonical) return;
    const fs::path folder = fs::weakly_canonical(dir);
    for (const AdapterInfo& known : found) {
      if (known.folder == folder) return;  // one adapter reached through two folders
    }
    found.push_back(describe_adapter(dir));
  };
  // Run folders keep their adapter in <run>/adapter, so two levels below each root.
  for (const fs::path& root : roots) {
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, error);
         it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (error) break;
      if (it.depth() > 2) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_directory() && fs::exists(it->path() / "adapter_config.json")) consider(it->path());
    }
  }
  std::sort(found.begin(), found.end(), [](const AdapterInfo& a, const AdapterInfo& b) { return a.folder < b.folder; });
  return found;
}

// The models in `folder` (itself, or its subfolders), and in the report what else is there that LowBit passes over.
std::vector<fs::path> models_in(const fs::path& folder, FolderReport& report) {
  report.folder = folder;
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    report.notes.push_back("it does not exist any more (moved or deleted?): remove it from the list, or add it "
                           "again where it is now");
    return {};
  }
  if (is_model_folder(folder)) {
    report.models = 1;
    return {folder};
  }
  std::vector<fs::path> models;
  std::vector<fs::path> unreadable;
  auto look_at_files = [&](const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, error)) {
      if (!entry.is_regular_file(error)) continue;
      const std::string extension = lower_extension(entry.path());
      if (extension == ".gguf") report.gguf_files.push_back(entry.path());
      if (extension == ".bin" || extension == ".pth" || extension == ".pt" || extension == ".ckpt") unreadable.push_back(entry.path());
    }
  };
  look_at_files(folder);
  for (const auto& entry : fs::directory_iterator(folder, fs::directory_options::skip_permission_denied, error)) {
    if (!entry.is_directory(error)) continue;
    if (entry.path().extension() == ".partial") {  // a download, import or export not finished: not a model yet
      report.notes.push_back(entry.path().filename().string() +
                             ": unfinished (a download resumes when started again with the same folder)");
      continue;
    }
    if (is_model_folder(entry.path())) {
      models.push_back(entry.path());
    } else {
      look_at_files(entry.path());
    }
  }
  std::sort(models.begin(), models.end());
  std::sort(report.gguf_files.begin(), report.gguf_files.end());
  std::sort(unreadable.begin(), unreadable.end());
  report.models = static_cast<int>(models.size());
  for (const fs::path& gguf : report.gguf_files) {
    report.notes.push_back(fs::relative(gguf, folder).string() + " is a GGUF file: import it to make a model LowBit can use");
  }
  for (const fs::path& file : unreadable) {
    report.notes.push_back(fs::relative(file, folder).string() + ": LowBit does not read " + lower_extension(file) +
                           " files (llama2.c checkpoints, PyTorch pickles); use the model's safetensors or GGUF copy");
  }
  if (models.empty() && report.gguf_files.empty()) {
    report.notes.insert(report.notes.begin(),
                        "no model in it: neither it nor a folder in it holds a config.json; add the model's own "
                        "folder (with config.json, *.safetensors and a tokenizer)");
  }
  return models;
}

}  // namespace

std::vector<std::vector<fs::path>> ModelCard::adapter_stacks() const {
  std::vector<std::vector<fs::path>> stacks = {{}};
  for (const AdapterInfo& adapter : adapters) {
    std::vector<fs::path> stack;
    bool complete = true;
    for (const fs::path& base : adapter.base_adapters) {
      complete = complete && fs::exists(base / "adapter_config.json");
      stack.push_back(base);
    }
    if (!complete) continue;  // a base adapter was deleted: this one alone would chat wrongly
    stack.push_back(adapter.folder);
    stacks.push_back(std::move(stack));
  }
  return stacks;
}

std::string unusable_reason(const model::ModelSummary& summary) {
  const std::string folder = summary.folder.string();
  if (!summary.has_tokenizer) {
    return "cannot be used: " + folder + " has no tokenizer (tokenizer.json or tokenizer.model); copy the tokenizer "
           "files from where the model came from into it";
  }
  if (summary.tensor_count == 0) {
    return "cannot be used: " + folder + " has no weights (*.safetensors); download the model's safetensors files into it";
  }
  return "";
}

std::vector<TaskFit> estimate_tasks(const model::LlamaConfig& c, const std::optional<quant::QuantConfig>& quant,
                                    int64_t weights_fp16_bytes, int64_t free_bytes) {
  const int64_t chat = weights_fp16_bytes + 2 * c.n_layer * c.n_head_kv * c.head_dim * 2 *
                                                std::min<int64_t>(c.max_position_embeddings, 2048);
  // The runs as the app starts them, in fp16 on the GPU.
  constexpr int64_t kGpuComputeBytes = 2;
  train::LrecSettings lrec;
  lrec.seqlen = std::min<int64_t>(lrec.seqlen, c.max_position_embeddings);
  const train::EmefSettings emef;
  const int64_t lrec_bytes =
      train::estimate_training_memory(c, quant, train::lrec_training_shape(lrec, kGpuComputeBytes)).total();
  const int64_t emef_bytes =
      train::estimate_training_memory(c, quant, train::emef_training_shape(emef, kGpuComputeBytes)).total();
  return {{"chat", chat, train::judge_fit(chat, free_bytes)},
          {"correct (LREC)", lrec_bytes, train::judge_fit(lrec_bytes, free_bytes)},
          {"fine-tune (EMEF)", emef_bytes, train::judge_fit(emef_bytes, free_bytes)}};
}

std::vector<TaskFit> estimate_tasks(const nlohmann::json& model_config, const std::string& source, int64_t free_bytes) {
  const model::LlamaConfig config = model::parse_llama_config(model_config, source);
  return estimate_tasks(config, quant::quant_config_from_model_config(model_config, source),
                        model::parameter_count(config) * 2, free_bytes);
}

GpuMemory first_gpu_memory() {
  const system::NvidiaDriverInfo driver = system::query_nvidia_driver();
  if (!driver.available || driver.gpus.empty()) return {0, "no NVIDIA GPU found"};
  const auto free_bytes = static_cast<int64_t>(driver.gpus.front().free_bytes);
  return {free_bytes, driver.gpus.front().name + ", " + format_bytes(free_bytes) + " free"};
}

ModelLibrary scan_model_library(const std::vector<fs::path>& folders, const std::vector<fs::path>& run_folders) {
  ModelLibrary library;
  const GpuMemory gpu = first_gpu_memory();
  library.free_bytes = gpu.free_bytes;
  library.gpu = gpu.described;
  std::vector<fs::path> models;
  for (const fs::path& folder : folders) {
    FolderReport report;
    const std::vector<fs::path> inside = models_in(folder, report);
    models.insert(models.end(), inside.begin(), inside.end());
    library.folders.push_back(std::move(report));
  }
  std::vector<std::pair<fs::path, fs::path>> run_models;  // (model, the run that wrote it)
  for (const fs::path& run : run_folders) {
    FolderReport ignored;
    for (const fs::path& model : models_in(run, ignored)) run_models.emplace_back(model, run);
  }
  // What the user's own runs made comes first (the runs are given newest first): it is what they come back for.
  std::vector<fs::path> from_runs;
  for (const auto& [model, run] : run_models) from_runs.push_back(model);
  models.insert(models.begin(), from_runs.begin(), from_runs.end());
  std::vector<fs::path> adapter_roots = folders;
  adapter_roots.insert(adapter_roots.end(), run_folders.begin(), run_folders.end());
  std::vector<fs::path> seen;  // the same model reached through two added folders is listed once
  for (const fs::path& dir : models) {
    const fs::path canonical = fs::weakly_canonical(dir);
    if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) continue;
    seen.push_back(canonical);
    ModelCard card;
    card.summary.folder = dir;
    for (const auto& [model, run] : run_models) {
      if (fs::weakly_canonical(model) == canonical) card.made_by_run = run;
    }
    try {
      card.summary = model::summarize_model(dir);
    } catch (const Error& e) {
      card.problem = e.what();
      library.cards.push_back(std::move(card));
      continue;
    }
    card.adapters = adapters_for(dir, adapter_roots);
    for (const fs::path& run : run_folders) {
      for (const train::RunSource& source : train::models_a_run_started_from(run)) {
        std::error_code error;
        if (fs::weakly_canonical(source.model, error) == canonical && !error) {
          card.runs.push_back({run, source.role});
          break;
        }
      }
    }
    card.unusable = unusable_reason(card.summary);
    if (!card.unusable.empty()) {
      library.cards.push_back(std::move(card));
      continue;
    }
    card.tasks = estimate_tasks(card.summary.config, quant::read_quant_config(dir.string()),
                                card.summary.weights_fp16_bytes, library.free_bytes);
    library.cards.push_back(std::move(card));
  }
  return library;
}

}  // namespace lowbit::library
