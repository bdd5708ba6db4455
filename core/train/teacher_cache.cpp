#include "core/train/teacher_cache.h"

#include <c10/core/GradMode.h>

#include <functional>
#include <map>
#include <memory>

#include "core/jobs/eta.h"
#include "core/model/safetensors.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTopKFormat = "lowbit-teacher-cache";
constexpr const char* kHiddenFormat = "lowbit-hidden-state-cache";

struct Part {
  const char* prefix;
  const at::Tensor& windows;
};

// One teacher pass per window of both sets; `targets` turns a window [1, T] into named tensors [1, …] that are
// stacked per set as "<set>.<name>" beside "<set>.input_ids", so that a cache is never paired with other text.
void write_window_cache(const model::LlamaModel& teacher, const at::Tensor& train_windows, const at::Tensor& eval_windows,
                        const std::function<std::vector<std::pair<std::string, at::Tensor>>(const at::Tensor&)>& targets,
                        const fs::path& path, std::map<std::string, std::string> metadata, jobs::JobEvents& events,
                        const jobs::CancelToken& cancel) {
  c10::NoGradGuard no_grad;
  const int64_t total_rows = train_windows.size(0) + eval_windows.size(0);
  int64_t done = 0;
  jobs::EtaClock clock;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const Part& part : {Part{"train.", train_windows}, Part{"eval.", eval_windows}}) {
    const int64_t rows = part.windows.size(0);
    std::vector<std::pair<std::string, at::Tensor>> stacked;
    for (int64_t row = 0; row < rows; ++row) {
      cancel.throw_if_cancelled();
      const auto row_targets = targets(part.windows.narrow(0, row, 1));
      if (stacked.empty()) {
        for (const auto& [name, tensor] : row_targets) {
          std::vector<int64_t> shape = tensor.sizes().vec();
          shape[0] = rows;
          stacked.emplace_back(std::string(part.prefix) + name, at::empty(shape, tensor.options().device(at::kCPU)));
        }
      }
      for (size_t i = 0; i < row_targets.size(); ++i) stacked[i].second[row].copy_(row_targets[i].second[0]);
      ++done;
      events.progress({"teacher", done, total_rows, clock.seconds_left(done, total_rows)});
    }
    tensors.emplace_back(std::string(part.prefix) + "input_ids", part.windows.to(at::kLong).contiguous());
    tensors.insert(tensors.end(), stacked.begin(), stacked.end());
  }
  metadata["teacher"] = teacher.folder().string();
  model::save_safetensors(path, tensors, metadata);
}

// The file if it is a cache of `format` made for exactly these windows; InputError naming what differs.
std::shared_ptr<model::SafetensorsFile> open_window_cache(const fs::path& path, const std::string& format,
                                                          const at::Tensor& train_windows, const at::Tensor& eval_windows) {
  auto file = model::SafetensorsFile::open(path);
  const auto& metadata = file->metadata();
  const auto stored = metadata.find("format");
  if (stored == metadata.end() || stored->second != format) {
    throw InputError(path.string(), "is not a LowBit teacher cache of this kind", "delete it; the run writes a new one");
  }
  for (const Part& part : {Part{"train.", train_windows}, Part{"eval.", eval_windows}}) {
    const std::string prefix = part.prefix;
    const at::Tensor ids = file->tensor(prefix + "input_ids");
    if (!ids.sizes().equals(part.windows.sizes()) || !ids.equal(part.windows.to(at::kLong).cpu())) {
      throw InputError(path.string(), "was made for other " + prefix.substr(0, prefix.size() - 1) + " text",
                       "delete it (the run writes a new one) or run with the calibration settings it was made with");
    }
  }
  return file;
}

}  // namespace

int64_t teacher_cache_bytes(int64_t windows, int64_t steps, int64_t top_k) {
  return windows * steps * (8 + top_k * 8 + 4);
}

int64_t hidden_state_cache_bytes(int64_t windows, int64_t steps, int64_t hidden_size, int64_t element_bytes) {
  return windows * steps * (8 + hidden_size * element_bytes);
}

void write_teacher_cache(const model::LlamaModel& teacher, const at::Tensor& train_windows,
                         const at::Tensor& eval_windows, int64_t top_k, const fs::path& path, jobs::JobEvents& events,
                         const jobs::CancelToken& cancel) {
  const int64_t k = std::min<int64_t>(top_k, teacher.config().vocab_size);
  write_window_cache(
      teacher, train_windows, eval_windows,
      [&](const at::Tensor& window) -> std::vector<std::pair<std::string, at::Tensor>> {
        const TeacherTopK targets = teacher_top_k(teacher.forward(window), k);
        return {{"log_probs", targets.log_probs.cpu()},
                {"indices", targets.indices.to(at::kCPU, at::kInt)},
                {"tail_log_mass", targets.tail_log_mass.cpu()}};
      },
      path, {{"format", kTopKFormat}, {"top_k", std::to_string(top_k)}}, events, cancel);
}

TeacherCache TeacherCache::open(const fs::path& path, const at::Tensor& train_windows, const at::Tensor& eval_windows,
                                int64_t top_k) {
  const auto file = open_window_cache(path, kTopKFormat, train_windows, eval_windows);
  const auto stored_k = file->metadata().find("top_k");
  if (stored_k == file->metadata().end() || stored_k->second != std::to_string(top_k)) {
    const std::string stored = stored_k == file->metadata().end() ? "?" : stored_k->second;
    throw InputError(path.string(), "holds the top " + stored + " log-probs, not " + std::to_string(top_k),
                     "delete it or use --teacher-top-k " + stored);
  }
  TeacherCache cache;
  for (const char* prefix : {"train.", "eval."}) {
    TeacherTopK& targets = std::string(prefix) == "train." ? cache.train_ : cache.eval_;
    targets.log_probs = file->tensor(std::string(prefix) + "log_probs");
    targets.indices = file->tensor(std::string(prefix) + "indices");
    targets.tail_log_mass = file->tensor(std::string(prefix) + "tail_log_mass");
  }
  return cache;
}

TeacherTopK TeacherCache::select(const TeacherTopK& all, const std::vector<int64_t>& rows) {
  const at::Tensor index = at::tensor(rows, at::kLong);
  return {all.log_probs.index_select(0, index), all.indices.index_select(0, index).to(at::kLong),
          all.tail_log_mass.index_select(0, index)};
}

void write_hidden_state_cache(const model::LlamaModel& teacher, const at::Tensor& train_windows,
                              const at::Tensor& eval_windows, const fs::path& path, jobs::JobEvents& events,
                              const jobs::CancelToken& cancel) {
  write_window_cache(
      teacher, train_windows, eval_windows,
      [&](const at::Tensor& window) -> std::vector<std::pair<std::string, at::Tensor>> {
        // In the dtype the teacher computes in, so that the cached target is exactly the online one.
        return {{"hidden", teacher.final_hidden_state(window).to(at::kCPU)}};
      },
      path, {{"format", kHiddenFormat}, {"hidden_size", std::to_string(teacher.config().hidden_size)}}, events, cancel);
}

HiddenStateCache HiddenStateCache::open(const fs::path& path, const at::Tensor& train_windows,
                                        const at::Tensor& eval_windows, int64_t hidden_size) {
  const auto file = open_window_cache(path, kHiddenFormat, train_windows, eval_windows);
  HiddenStateCache cache;
  cache.train_ = file->tensor("train.hidden");
  cache.eval_ = file->tensor("eval.hidden");
  if (cache.train_.dim() != 3 || cache.train_.size(2) != hidden_size) {
    throw InputError(path.string(), "holds hidden states of another model (width " + std::to_string(cache.train_.size(-1)) +
                                        ", not " + std::to_string(hidden_size) + ")",
                     "delete it; the run writes a new one");
  }
  return cache;
}

at::Tensor HiddenStateCache::select(const at::Tensor& all, const std::vector<int64_t>& rows) {
  return all.index_select(0, at::tensor(rows, at::kLong));
}

}  // namespace lowbit::train
