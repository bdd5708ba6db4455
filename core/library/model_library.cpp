#include "core/library/model_library.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/system/nvidia_driver.h"
#include "core/train/emef_job.h"
#include "core/train/lrec_job.h"
#include "core/util/errors.h"
#include "core/util/format.h"

namespace lowbit::library {
namespace {

namespace fs = std::filesystem;

bool is_model_folder(const fs::path& dir) { return fs::exists(dir / "config.json") && !fs::exists(dir / "adapter_config.json"); }

std::vector<fs::path> adapters_for(const fs::path& model_dir, const std::vector<fs::path>& roots) {
  std::vector<fs::path> found;
  const fs::path canonical = fs::weakly_canonical(model_dir);
  auto consider = [&](const fs::path& dir) {
    std::ifstream in(dir / "adapter_config.json");
    const nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
    if (config.is_discarded() || !config.contains("base_model_name_or_path")) return;
    const std::string base = config.value("base_model_name_or_path", "");
    if (!base.empty() && fs::exists(base) && fs::weakly_canonical(base) == canonical) found.push_back(fs::weakly_canonical(dir));
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
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());  // one adapter reached through two folders
  return found;
}

}  // namespace

ModelLibrary scan_model_library(const std::vector<fs::path>& folders) {
  ModelLibrary library;
  const system::NvidiaDriverInfo driver = system::query_nvidia_driver();
  if (driver.available && !driver.gpus.empty()) {
    library.free_bytes = static_cast<int64_t>(driver.gpus.front().free_bytes);
    library.gpu = driver.gpus.front().name + ", " + format_bytes(library.free_bytes) + " free";
  } else {
    library.gpu = "no NVIDIA GPU found";
  }
  std::vector<fs::path> models;
  for (const fs::path& folder : folders) {
    if (!fs::is_directory(folder)) continue;
    if (is_model_folder(folder)) {
      models.push_back(folder);
      continue;
    }
    std::vector<fs::path> inside;
    for (const auto& entry : fs::directory_iterator(folder, fs::directory_options::skip_permission_denied)) {
      if (entry.is_directory() && is_model_folder(entry.path())) inside.push_back(entry.path());
    }
    std::sort(inside.begin(), inside.end());
    models.insert(models.end(), inside.begin(), inside.end());
  }
  std::vector<fs::path> seen;  // the same model reached through two added folders is listed once
  for (const fs::path& dir : models) {
    const fs::path canonical = fs::weakly_canonical(dir);
    if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) continue;
    seen.push_back(canonical);
    ModelCard card;
    card.summary.folder = dir;
    try {
      card.summary = model::summarize_model(dir);
    } catch (const Error& e) {
      card.problem = e.what();
      library.cards.push_back(std::move(card));
      continue;
    }
    card.adapters = adapters_for(dir, folders);
    const model::LlamaConfig& c = card.summary.config;
    const auto quant = quant::read_quant_config(dir.string());
    const int64_t chat = card.summary.weights_fp16_bytes + card.summary.kv_cache_fp16_bytes_per_token * std::min<int64_t>(c.max_position_embeddings, 2048);
    // The runs as the app starts them, in fp16 on the GPU.
    constexpr int64_t kGpuComputeBytes = 2;
    train::LrecSettings lrec;
    lrec.seqlen = std::min<int64_t>(lrec.seqlen, c.max_position_embeddings);
    const train::EmefSettings emef;
    card.tasks = {{"chat", chat, train::judge_fit(chat, library.free_bytes)}};
    const int64_t lrec_bytes =
        train::estimate_training_memory(c, quant, train::lrec_training_shape(lrec, kGpuComputeBytes)).total();
    const int64_t emef_bytes =
        train::estimate_training_memory(c, quant, train::emef_training_shape(emef, kGpuComputeBytes)).total();
    card.tasks.push_back({"correct (LREC)", lrec_bytes, train::judge_fit(lrec_bytes, library.free_bytes)});
    card.tasks.push_back({"fine-tune (EMEF)", emef_bytes, train::judge_fit(emef_bytes, library.free_bytes)});
    library.cards.push_back(std::move(card));
  }
  return library;
}

}  // namespace lowbit::library
