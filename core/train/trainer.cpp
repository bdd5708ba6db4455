#include "core/train/trainer.h"
#include "core/util/folder_lock.h"
#include "core/util/json_limits.h"

#include <c10/core/GradMode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <algorithm>
#include <limits>
#include <random>

#include "core/jobs/eta.h"
#include "core/system/memory_usage.h"
#include "core/train/metric_names.h"
#include "core/train/run_status.h"
#include "core/train/metrics_log.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

namespace lowbit::train {

std::string checkpoint_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%06lld", static_cast<long long>(step));
  return name;
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Keeps the metrics a resumed run has already produced up to `step`, so the file reads as one run.
void truncate_metrics(const fs::path& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    MetricRecord record;
    if (parse_metrics_line(line, record) && record.step <= step) kept += line + "\n";
  }
  in.close();
  write_text_file_atomically(path, kept);
}

void set_training(const std::vector<lora::AdapterLayer>& adapter, bool training) {
  for (const auto& entry : adapter) entry.layer->set_training(training);
}

// "NAME.tmp": a write_file_atomically a killed process never finished.
bool is_unfinished_write(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
}

std::string first_line(const std::string& text) { return text.substr(0, std::min(text.find('\n'), size_t{200})); }

}  // namespace

Trainer::Trainer(TrainerSettings settings, std::vector<lora::AdapterLayer> adapter, lora::AdapterConfig config)
    : settings_(std::move(settings)), adapter_(std::move(adapter)), config_(std::move(config)) {}

int64_t Trainer::latest_checkpoint(const fs::path& run_dir) { return latest_checkpoint_step(run_dir); }

int64_t Trainer::check_run_directory(const fs::path& run_dir, bool resume) {
  if (resume) {
    const int64_t latest = latest_checkpoint(run_dir);
    // A run killed before its first checkpoint still has its settings (config.json comes first): it starts again.
    if (latest < 0 && !fs::exists(run_dir / "config.json")) {
      throw InputError(run_dir.string(), "has no checkpoint to resume from", "start a new run");
    }
    return std::max<int64_t>(latest, 0);
  }
  std::error_code error;
  if (fs::exists(run_dir, error) && !fs::is_directory(run_dir, error)) {
    throw InputError(run_dir.string(), "is a file, not a folder", "choose a folder for --out");
  }
  if (fs::exists(run_dir, error)) {
    // What a process killed while writing its first file leaves (the lock, a "*.tmp") is no run: it is cleared.
    std::vector<fs::path> leftovers;
    for (const auto& entry : fs::directory_iterator(run_dir)) {
      const std::string name = entry.path().filename().string();
      if (name == kFolderLockFileName) continue;
      if (is_unfinished_write(name)) {
        leftovers.push_back(entry.path());
        continue;
      }
      throw InputError(run_dir.string(), "already holds a run", "choose another --out, or add --resume to continue it");
    }
    for (const fs::path& leftover : leftovers) fs::remove(leftover, error);
  }
  return 0;
}

void Trainer::run_in_claimed_directory(const fs::path& run_dir, bool resume, const std::function<void()>& body) {
  std::error_code error;
  if (fs::exists(run_dir, error) && !fs::is_directory(run_dir, error)) check_run_directory(run_dir, resume);
  const bool created = !fs::exists(run_dir, error);
  // The lock first: a folder another process is writing is refused as in use (with its pid), not as "holds a run".
  const FolderLock lock = FolderLock::acquire(run_dir, "a run");
  check_run_directory(run_dir, resume);
  // "*.tmp" files are writes a killed process never finished (run_state.json.tmp, teacher_cache.safetensors.tmp);
  // under the lock no other writer can own them.
  for (fs::directory_iterator it(run_dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (is_unfinished_write(name)) fs::remove(it->path(), error);
  }
  try {
    body();
  } catch (const InputError&) {
    // Bad input found before the first checkpoint: nothing worth keeping was made, so no folder is left behind.
    if (created && latest_checkpoint(run_dir) < 0) fs::remove_all(run_dir, error);
    throw;
  } catch (...) {
    if (created && folder_is_empty_but_for_lock(run_dir)) fs::remove_all(run_dir, error);
    throw;
  }
}

TrainerResult Trainer::run(jobs::JobEvents& events, const jobs::CancelToken& cancel, int64_t example_count,
                           const std::function<MicroBatchLoss(const std::vector<int64_t>&)>& micro_batch_loss,
                           const std::function<std::vector<NamedValue>()>& evaluate) {
  const TrainerSettings& s = settings_;
  if (s.micro_batch < 1 || s.accumulation < 1 || s.schedule.total_steps < 1) {
    throw InputError("", "micro-batch, accumulation and steps must be positive", "");
  }
  if (example_count < 1) throw InputError("", "there is nothing to train on", "give more data");
  std::vector<at::Tensor> parameters;
  for (const auto& entry : adapter_) {
    parameters.push_back(entry.layer->lora_a());
    parameters.push_back(entry.layer->lora_b());
  }
  torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(s.schedule.base_lr).weight_decay(s.weight_decay));
  TrainerResult result;
  std::string last_checkpoint = "none";
  fs::create_directories(s.run_dir / "checkpoints");
  const bool early_stopping = s.early_stop_patience > 0;
  // Early stopping's state, kept in each checkpoint so that a resumed run stops where the uninterrupted one would.
  double best_value = std::numeric_limits<double>::infinity();
  int64_t evaluations_without_improvement = 0;
  // The newest checkpoint that loads: one damaged by hand or by a failing disk is passed over with a warning.
  int64_t resume_from = -1;
  if (s.resume) {
    const std::vector<int64_t> steps = checkpoint_steps(s.run_dir);
    for (auto step = steps.rbegin(); step != steps.rend() && resume_from < 0; ++step) {
      const fs::path from = s.run_dir / "checkpoints" / checkpoint_name(*step);
      try {
        torch::optim::AdamW probe(parameters, torch::optim::AdamWOptions(s.schedule.base_lr).weight_decay(s.weight_decay));
        torch::load(probe, (from / "optimizer.pt").string());
        lora::restore_adapter_weights(adapter_, from / "adapter");
        resume_from = *step;
      } catch (const std::exception& e) {
        events.log({jobs::LogLevel::Warning, from.string() + " cannot be loaded (" + first_line(e.what()) +
                                                 "); trying the checkpoint before it"});
      }
    }
  }
  if (s.resume && resume_from < 0) {
    events.log({jobs::LogLevel::Info, "no checkpoint was written before the run stopped: training again from step 0"});
    truncate_metrics(s.run_dir / "metrics.jsonl", 0);
    std::error_code error;
    fs::remove_all(s.run_dir / "best", error);
  } else if (s.resume) {
    result.start_step = resume_from;
    const fs::path from = s.run_dir / "checkpoints" / checkpoint_name(result.start_step);
    events.log({jobs::LogLevel::Info, "resuming from " + from.string()});
    torch::load(optimizer, (from / "optimizer.pt").string());
    truncate_metrics(s.run_dir / "metrics.jsonl", result.start_step);
    last_checkpoint = from.string();
    const json state =
        util::read_json_file_or_none(from / "trainer_state.json", util::kConfigJsonLimits).value_or(nullptr);
    if (state.is_object() && state.contains("best_step")) {
      result.best_step = state.value("best_step", int64_t{-1});
      best_value = state.value("best_value", best_value);
      evaluations_without_improvement = state.value("evaluations_without_improvement", int64_t{0});
    }
    // A best adapter saved after the checkpoint belongs to steps that are trained again.
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(s.run_dir / "best", error)) {
      if (entry.path().filename() != checkpoint_name(result.best_step)) fs::remove_all(entry.path());
    }
  }
  // Before any step: a front end shows the steps the folder keeps (a resumed run's, up to its checkpoint).
  events.artifact({"run_dir", s.run_dir.string()});
  std::ofstream metrics_file(s.run_dir / "metrics.jsonl", std::ios::app);
  // Each value goes out as an event and into metrics.jsonl under the same name, from the one list.
  auto report = [&](int64_t step, const std::vector<NamedValue>& values) {
    json record = {{"step", step}};
    for (const auto& [name, value] : values) {
      if (metrics::find_metric(name) == nullptr) throw InternalError("metric '" + name + "' is not in metric_names.h");
      record[name] = value;
      events.metric({name, step, value});
    }
    metrics_file << record.dump() << "\n";
    metrics_file.flush();
    if (!metrics_file) {
      throw ResourceError("cannot append to " + (s.run_dir / "metrics.jsonl").string() +
                          "; the disk may be full (free some space, then resume the run)");
    }
  };
  // Returns true when early stopping ends the run here.
  auto run_evaluation = [&](int64_t step) {
    std::vector<NamedValue> values;
    {
      c10::NoGradGuard no_grad;
      set_training(adapter_, false);
      values = evaluate();
      set_training(adapter_, true);
    }
    bool stop = false;
    if (early_stopping) {
      const auto watched = std::find_if(values.begin(), values.end(), [&](const NamedValue& v) { return v.first == s.early_stop_metric; });
      if (watched == values.end()) throw InternalError("early stopping watches '" + s.early_stop_metric + "', which the evaluation lacks");
      if (watched->second < best_value) {
        best_value = watched->second;
        if (result.best_step >= 0) fs::remove_all(s.run_dir / "best" / checkpoint_name(result.best_step));
        result.best_step = step;
        evaluations_without_improvement = 0;
        write_directory_atomically(s.run_dir / "best" / checkpoint_name(step),
                                   [&](const fs::path& dir) { lora::save_adapter(adapter_, config_, dir / "adapter"); });
      } else {
        stop = ++evaluations_without_improvement >= s.early_stop_patience;
      }
      values.emplace_back(metrics::kValBestStep, static_cast<double>(result.best_step));
    }
    report(step, values);
    return stop;
  };
  auto save_checkpoint = [&](int64_t step) {
    write_directory_atomically(s.run_dir / "checkpoints" / checkpoint_name(step), [&](const fs::path& dir) {
      lora::save_adapter(adapter_, config_, dir / "adapter");
      // Serialised in memory, then written like every other file: LibTorch's own file writer aborts the process
      // when the disk fills mid-write; this way a full disk is a ResourceError and no half-written file is left.
      std::ostringstream serialised;
      torch::save(optimizer, serialised);
      write_text_file_atomically(dir / "optimizer.pt", serialised.str());
      json state = {{"step", step}};
      if (early_stopping) {
        state.update({{"best_step", result.best_step}, {"best_value", best_value},
                      {"evaluations_without_improvement", evaluations_without_improvement}});
      }
      write_text_file_atomically(dir / "trainer_state.json", state.dump() + "\n");
    });
    last_checkpoint = (s.run_dir / "checkpoints" / checkpoint_name(step)).string();
  };

  if (result.start_step == 0) run_evaluation(0);
  set_training(adapter_, true);
  std::map<int64_t, std::vector<int64_t>> orders;  // epoch → example order, seeded by (seed, epoch)
  auto example_at = [&](int64_t global) {
    const int64_t epoch = global / example_count;
    auto& order = orders[epoch];
    if (order.empty()) {
      order.resize(static_cast<size_t>(example_count));
      std::iota(order.begin(), order.end(), 0);
      std::mt19937_64 generator(s.seed * 1000003 + static_cast<uint64_t>(epoch));
      std::shuffle(order.begin(), order.end(), generator);
    }
    return order[static_cast<size_t>(global % example_count)];
  };
  const int device_index = std::max<int>(0, s.device.index());
  // The dashboard's memory gauge: what this process holds now against what the device has.
  const int64_t device_total_bytes = s.device.is_cuda() ? system::vram_total_bytes(device_index) : system::total_ram_bytes();
  // Also kept in metrics.jsonl, so that a run opened after a restart shows it too.
  auto memory_values = [&]() -> std::vector<NamedValue> {
    if (s.device.is_cuda()) {
      return {{metrics::kVramUsed, static_cast<double>(system::reserved_vram_bytes(device_index))},
              {metrics::kVramTotal, static_cast<double>(device_total_bytes)},
              {metrics::kVramPeak, static_cast<double>(system::peak_vram_bytes(device_index))}};
    }
    return {{metrics::kRamUsed, static_cast<double>(system::current_ram_bytes())},
            {metrics::kRamTotal, static_cast<double>(device_total_bytes)}};
  };
  jobs::EtaClock clock;
  double later_steps_seconds = 0, first_step_seconds = 0;
  int64_t last_saved = result.start_step;
  int64_t steps_done = s.schedule.total_steps;
  for (int64_t step = result.start_step; step < s.schedule.total_steps; ++step) {
    clock.exclude(cancel.wait_while_paused());
    if (cancel.is_requested()) {
      // Stopping keeps the work done: a checkpoint at this step, from which --resume continues exactly (unless
      // the user cancelled, which keeps only the last periodic checkpoint).
      if (step > last_saved && cancel.save_on_stop()) {
        save_checkpoint(step);
        events.log({jobs::LogLevel::Info, "stopped at step " + std::to_string(step) + "; resume from " + last_checkpoint});
      }
      throw Cancelled();
    }
    const auto step_started = std::chrono::steady_clock::now();
    at::manual_seed(s.seed * 7919 + static_cast<uint64_t>(step));  // dropout masks depend on the step alone
    optimizer.zero_grad();
    std::vector<NamedValue> parts;
    double total = 0;
    int64_t tokens = 0;
    for (int64_t micro = 0; micro < s.accumulation; ++micro) {
      std::vector<int64_t> examples;
      for (int64_t b = 0; b < s.micro_batch; ++b) {
        examples.push_back(example_at((step * s.accumulation + micro) * s.micro_batch + b));
      }
      const MicroBatchLoss loss = micro_batch_loss(examples);
      (loss.total / static_cast<double>(s.accumulation)).backward();
      total += loss.total.item<double>() / static_cast<double>(s.accumulation);
      tokens += loss.tokens;
      if (parts.empty()) {
        for (const auto& [name, value] : loss.parts) parts.emplace_back(name, 0.0);
      }
      for (size_t i = 0; i < parts.size(); ++i) parts[i].second += loss.parts[i].second / static_cast<double>(s.accumulation);
    }
    const double lr = learning_rate(s.schedule, step);
    if (!std::isfinite(total)) {
      throw InputError(s.run_dir.string(),
                       "training diverged at step " + std::to_string(step + 1) + ": the loss is " +
                           (std::isnan(total) ? std::string("NaN") : std::string("infinite")) +
                           " at learning rate " + std::to_string(lr),
                       "the last good checkpoint is " + last_checkpoint + "; resume it with a lower --lr");
    }
    const double grad_norm = torch::nn::utils::clip_grad_norm_(parameters, s.max_grad_norm);
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
    optimizer.step();
    const double step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_started).count();
    const int64_t done = step + 1;
    (step > result.start_step ? later_steps_seconds : first_step_seconds) += step_seconds;
    const double epoch = static_cast<double>(done * s.accumulation * s.micro_batch) / static_cast<double>(example_count);
    std::vector<NamedValue> values = {{metrics::kTrainEpoch, epoch}};
    values.insert(values.end(), parts.begin(), parts.end());
    values.insert(values.end(), {{metrics::kTrainTotal, total},
                                 {metrics::kTrainLr, lr},
                                 {metrics::kTrainGradNorm, grad_norm},
                                 {metrics::kTrainTokensPerS, static_cast<double>(tokens) / step_seconds}});
    const std::vector<NamedValue> memory = memory_values();
    values.insert(values.end(), memory.begin(), memory.end());
    report(done, values);
    events.progress({"steps", done, s.schedule.total_steps,
                     clock.seconds_left(done - result.start_step, s.schedule.total_steps - result.start_step)});
    const bool stop_early = (done % s.eval_every == 0 || done == s.schedule.total_steps) && run_evaluation(done);
    if (stop_early || done % s.checkpoint_every == 0 || done == s.schedule.total_steps) {
      save_checkpoint(done);
      last_saved = done;
    }
    if (stop_early) {
      events.log({jobs::LogLevel::Info, "early stop at step " + std::to_string(done) + ": " +
                                            std::to_string(s.early_stop_patience) + " evaluations without a lower " +
                                            s.early_stop_metric + "; the adapter is step " +
                                            std::to_string(result.best_step) + "'s (" + s.early_stop_metric + " " +
                                            metrics::format_metric_value(*metrics::find_metric(s.early_stop_metric), best_value) + ")"});
      steps_done = done;
      break;
    }
  }
  if (early_stopping && result.best_step >= 0) {
    // The run's adapter is its best evaluation's, as RILQ keeps it.
    const fs::path best = s.run_dir / "best" / checkpoint_name(result.best_step) / "adapter";
    write_directory_atomically(s.run_dir / "adapter", [&](const fs::path& dir) { fs::copy(best, dir, fs::copy_options::recursive); });
  } else {
    write_directory_atomically(s.run_dir / "adapter", [&](const fs::path& dir) { lora::save_adapter(adapter_, config_, dir); });
  }
  result.steps_done = steps_done;
  const int64_t later_steps = steps_done - result.start_step - 1;
  result.seconds_per_step = later_steps > 0 ? later_steps_seconds / static_cast<double>(later_steps) : first_step_seconds;
  result.adapter_dir = s.run_dir / "adapter";
  events.artifact({"adapter", result.adapter_dir.string()});
  return result;
}

}  // namespace lowbit::train
