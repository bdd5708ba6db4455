#include "core/train/teacher_cache.h"

#include <c10/core/GradMode.h>

#include "core/jobs/eta.h"
#include "core/model/safetensors.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

struct Part {
  const char* prefix;
  const at::Tensor& windows;
};

}  // namespace

void write_teacher_cache(const model::LlamaModel& teacher, const at::Tensor& train_windows,
                         const at::Tensor& eval_windows, int64_t top_k, const fs::path& path, jobs::JobEvents& events,
                         const jobs::CancelToken& cancel) {
  c10::NoGradGuard no_grad;
  const int64_t k = std::min<int64_t>(top_k, teacher.config().vocab_size);
  const int64_t total_rows = train_windows.size(0) + eval_windows.size(0);
  int64_t done = 0;
  jobs::EtaClock clock;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const Part& part : {Part{"train.", train_windows}, Part{"eval.", eval_windows}}) {
    const int64_t rows = part.windows.size(0), steps = part.windows.size(1);
    at::Tensor log_probs = at::empty({rows, steps, k}, at::kFloat);
    at::Tensor indices = at::empty({rows, steps, k}, at::kInt);
    at::Tensor tail = at::empty({rows, steps}, at::kFloat);
    for (int64_t row = 0; row < rows; ++row) {
      cancel.throw_if_cancelled();
      const TeacherTopK targets = teacher_top_k(teacher.forward(part.windows.narrow(0, row, 1)), k);
      log_probs[row].copy_(targets.log_probs[0]);
      indices[row].copy_(targets.indices[0]);
      tail[row].copy_(targets.tail_log_mass[0]);
      ++done;
      events.progress({"teacher", done, total_rows, clock.seconds_left(done, total_rows)});
    }
    tensors.emplace_back(std::string(part.prefix) + "input_ids", part.windows.to(at::kLong).contiguous());
    tensors.emplace_back(std::string(part.prefix) + "log_probs", log_probs);
    tensors.emplace_back(std::string(part.prefix) + "indices", indices);
    tensors.emplace_back(std::string(part.prefix) + "tail_log_mass", tail);
  }
  model::save_safetensors(path, tensors, {{"format", "lowbit-teacher-cache"}, {"top_k", std::to_string(top_k)},
                                          {"teacher", teacher.folder().string()}});
}

TeacherCache TeacherCache::open(const fs::path& path, const at::Tensor& train_windows, const at::Tensor& eval_windows,
                                int64_t top_k) {
  const auto file = model::SafetensorsFile::open(path);
  const auto& metadata = file->metadata();
  const auto stored_k = metadata.find("top_k");
  if (metadata.count("format") == 0 || metadata.at("format") != "lowbit-teacher-cache" || stored_k == metadata.end()) {
    throw InputError(path.string(), "is not a LowBit teacher cache", "delete it; the run writes a new one");
  }
  TeacherCache cache;
  for (const Part& part : {Part{"train.", train_windows}, Part{"eval.", eval_windows}}) {
    const std::string prefix = part.prefix;
    const at::Tensor ids = file->tensor(prefix + "input_ids");
    if (!ids.sizes().equals(part.windows.sizes()) || !ids.equal(part.windows.to(at::kLong).cpu())) {
      throw InputError(path.string(), "was made for other " + prefix.substr(0, prefix.size() - 1) + " text",
                       "delete it (the run writes a new one) or run with the calibration settings it was made with");
    }
    TeacherTopK& targets = prefix == "train." ? cache.train_ : cache.eval_;
    targets.log_probs = file->tensor(prefix + "log_probs");
    targets.indices = file->tensor(prefix + "indices");
    targets.tail_log_mass = file->tensor(prefix + "tail_log_mass");
    if (stored_k->second != std::to_string(top_k)) {
      throw InputError(path.string(), "holds the top " + stored_k->second + " log-probs, not " + std::to_string(top_k),
                       "delete it or use --teacher-top-k " + stored_k->second);
    }
  }
  return cache;
}

TeacherTopK TeacherCache::select(const TeacherTopK& all, const std::vector<int64_t>& rows) {
  const at::Tensor index = at::tensor(rows, at::kLong);
  return {all.log_probs.index_select(0, index), all.indices.index_select(0, index).to(at::kLong),
          all.tail_log_mass.index_select(0, index)};
}

}  // namespace lowbit::train
