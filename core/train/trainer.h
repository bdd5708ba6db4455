// The LoRA training loop LREC and EMEF share: AdamW with weight decay, warmup + decay schedule, micro-batches
// with gradient accumulation, gradient clipping, a seeded example order per epoch, evaluation and atomic
// checkpoints every N steps, exact resume, pausing, stopping (which first saves a checkpoint at the step reached,
// unless the user cancelled without saving), a memory gauge (the "vram/…" or "ram/…" metrics), and a NaN/Inf stop that names the step, the learning
// rate and the last good checkpoint. What differs between the two — which examples exist and what the loss of
// a micro-batch is — comes in as two functions.
//
//   Trainer trainer(settings, adapter, adapter_config);
//   trainer.run(events, cancel, example_count,
//               [&](const std::vector<int64_t>& examples) { return MicroBatchLoss{…}; },
//               [&]() { return std::vector<NamedValue>{{metrics::kValCe, …}, {metrics::kValPpl, …}}; });
//
// Run directory (written by the trainer; the caller adds config.json and its own files):
//   metrics.jsonl   {"step", "train/epoch", <loss parts: "train/kl", …>, "train/total", "train/lr", "train/grad_norm",
//                   "train/tokens_per_s", "vram/used_bytes" + "vram/total_bytes" + "vram/peak_bytes" or
//                   "ram/used_bytes" + "ram/total_bytes"} per optimizer step, {"step", <evaluation values:
//                   "val/ce", …>} per evaluation — the names of core/train/metric_names.h, which are also the
//                   events' names; read back with core/train/metrics_log.h
//   checkpoints/step-NNNNNN/{adapter/, optimizer.pt, trainer_state.json}     adapter/   the final adapter
//   best/step-NNNNNN/adapter/   with early stopping: the best evaluation's adapter, which becomes adapter/
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/jobs/job.h"
#include "core/lora/peft_adapter.h"
#include "core/train/schedule.h"

namespace lowbit::train {

// "step-NNNNNN": the folder of step N under checkpoints/ and best/.
std::string checkpoint_name(int64_t step);

struct TrainerSettings {
  std::filesystem::path run_dir;
  bool resume = false;
  Schedule schedule;                 // total_steps = number of optimizer steps
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  int64_t micro_batch = 1;
  int64_t accumulation = 1;
  int64_t eval_every = 50;
  int64_t checkpoint_every = 50;
  // Early stopping: after this many evaluations in a row without a lower `early_stop_metric` (one of the
  // evaluation's values), the run ends and its adapter is the best evaluation's. 0: off.
  int64_t early_stop_patience = 0;
  std::string early_stop_metric;
  uint64_t seed = 0;
  at::Device device = at::kCPU;
};

// The trainer's settings from a job's (LrecSettings, EmefSettings: the same-named members), with the schedule,
// accumulation and device the job worked out.
template <typename JobSettings>
TrainerSettings trainer_settings(const JobSettings& job, Schedule schedule, int64_t accumulation, at::Device device) {
  TrainerSettings settings;
  settings.run_dir = job.run_dir;
  settings.resume = job.resume;
  settings.schedule = schedule;
  settings.weight_decay = job.weight_decay;
  settings.max_grad_norm = job.max_grad_norm;
  settings.micro_batch = job.micro_batch;
  settings.accumulation = accumulation;
  settings.eval_every = job.eval_every;
  settings.checkpoint_every = job.checkpoint_every;
  settings.early_stop_patience = job.early_stop_patience;
  settings.seed = job.seed;
  settings.device = device;
  return settings;
}

using NamedValue = std::pair<std::string, double>;

struct MicroBatchLoss {
  at::Tensor total;                 // scalar with the gradient, the mean over the micro-batch's examples
  std::vector<NamedValue> parts;    // reported per step averaged over micro-batches: {metrics::kTrainKl, …}, …
  int64_t tokens = 0;               // tokens the micro-batch processed (for tokens/s)
};

struct TrainerResult {
  int64_t start_step = 0;           // > 0 when resumed
  int64_t steps_done = 0;           // fewer than the schedule's when early stopping ended the run
  int64_t best_step = -1;           // with early stopping: the evaluation whose adapter is the run's
  double seconds_per_step = 0;      // mean over this run's steps after its first (which includes warm-up); the first alone if it is the only one
  std::filesystem::path adapter_dir;
};

class Trainer {
 public:
  // `adapter`: the trainable LoRA layers (their A and B are what AdamW updates); `config`: how to save them.
  Trainer(TrainerSettings settings, std::vector<lora::AdapterLayer> adapter, lora::AdapterConfig config);

  // The latest checkpoint's step in a run directory, -1 without one.
  static int64_t latest_checkpoint(const std::filesystem::path& run_dir);
  // What a job checks before any work: a new run needs an absent or empty folder (nothing the user made is
  // overwritten), a resumed one a checkpoint. Returns the step to resume from, 0 for a new run; InputError else.
  static int64_t check_run_directory(const std::filesystem::path& run_dir, bool resume);
  // Runs `body` holding the run folder's lock (util/folder_lock.h: a second correct/finetune/resume on the folder,
  // from the CLI or the app, is refused with this process's pid) after check_run_directory. A folder this call
  // created is removed again when `body` fails on bad input before its first checkpoint.
  static void run_in_claimed_directory(const std::filesystem::path& run_dir, bool resume,
                                       const std::function<void()>& body);

  // Trains for settings.schedule.total_steps optimizer steps over examples [0, example_count), each step taking
  // micro_batch × accumulation examples in a seeded order that is reshuffled every epoch. `evaluate` runs (with
  // autograd off and dropout off) at step 0 of a new run, every eval_every steps and at the end.
  TrainerResult run(jobs::JobEvents& events, const jobs::CancelToken& cancel, int64_t example_count,
                    const std::function<MicroBatchLoss(const std::vector<int64_t>& examples)>& micro_batch_loss,
                    const std::function<std::vector<NamedValue>()>& evaluate);

 private:
  TrainerSettings settings_;
  std::vector<lora::AdapterLayer> adapter_;
  lora::AdapterConfig config_;
};

}  // namespace lowbit::train
