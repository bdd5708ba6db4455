// Every metric a job reports, listed once: the trainer sends each as a job event and writes it to the run's
// metrics.jsonl under the same name (a download reports its speed), and the dashboard, the CLI and the tests read them by these names.
// The label and unit let a front end show a value without parsing its name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::train::metrics {

enum class MetricUnit { Number, Bytes, BytesPerSecond };

struct MetricInfo {
  const char* name;   // "train/kl": the event name and the metrics.jsonl key
  const char* label;  // "KL": for people
  MetricUnit unit;
};

// Per optimizer step (averaged over its micro-batches where the loss has parts).
inline constexpr const char* kTrainKl = "train/kl";
inline constexpr const char* kTrainMse = "train/mse";  // RILQ: the final hidden state's distance to the teacher's
inline constexpr const char* kTrainCe = "train/ce";
inline constexpr const char* kTrainTotal = "train/total";
inline constexpr const char* kTrainLr = "train/lr";
inline constexpr const char* kTrainGradNorm = "train/grad_norm";
inline constexpr const char* kTrainTokensPerS = "train/tokens_per_s";
inline constexpr const char* kTrainEpoch = "train/epoch";
// Per evaluation on the held-out windows or records.
inline constexpr const char* kValKl = "val/kl";
inline constexpr const char* kValMse = "val/mse";
inline constexpr const char* kValCe = "val/ce";
inline constexpr const char* kValTotal = "val/total";          // the training loss on the held-out windows
inline constexpr const char* kValBestStep = "val/best_step";   // with early stopping: the best evaluation so far
inline constexpr const char* kValPpl = "val/ppl";
// The memory gauge: this process on the CPU, the device's reserved memory on a GPU.
inline constexpr const char* kRamUsed = "ram/used_bytes";
inline constexpr const char* kRamTotal = "ram/total_bytes";
inline constexpr const char* kVramUsed = "vram/used_bytes";
inline constexpr const char* kVramTotal = "vram/total_bytes";
inline constexpr const char* kVramPeak = "vram/peak_bytes";
// A download from the Hugging Face Hub (core/hub/hub_download.h): the recent speed.
inline constexpr const char* kDownloadSpeed = "download/bytes_per_s";

const std::vector<MetricInfo>& metric_list();
const MetricInfo* find_metric(std::string_view name);  // nullptr for a name not in the list

// "0.1234", "2.5e-05", "1.2 GiB": as the CLI's progress line and the logs show a value.
std::string format_metric_value(const MetricInfo& metric, double value);

// The latest values as the CLI's progress line shows them, in the list's order: "KL 0.1234  CE 3.21  …  RAM
// 317.4 MiB". The memory totals, the peak and the epoch are left out (the bar shows the steps); names not in the
// list are left out too.
std::string describe_latest(const std::map<std::string, double>& latest);

}  // namespace lowbit::train::metrics
