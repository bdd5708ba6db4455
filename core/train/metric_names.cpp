#include "core/train/metric_names.h"

#include <cstdio>

#include "core/util/format.h"

namespace lowbit::train::metrics {

const std::vector<MetricInfo>& metric_list() {
  static const std::vector<MetricInfo> list = {
      {kTrainKl, "KL", MetricUnit::Number},
      {kTrainMse, "MSE", MetricUnit::Number},
      {kTrainCe, "CE", MetricUnit::Number},
      {kTrainTotal, "loss", MetricUnit::Number},
      {kTrainLr, "lr", MetricUnit::Number},
      {kTrainGradNorm, "grad norm", MetricUnit::Number},
      {kTrainTokensPerS, "tokens/s", MetricUnit::Number},
      {kTrainEpoch, "epoch", MetricUnit::Number},
      {kValKl, "val KL", MetricUnit::Number},
      {kValMse, "val MSE", MetricUnit::Number},
      {kValCe, "val CE", MetricUnit::Number},
      {kValPpl, "val PPL", MetricUnit::Number},
      {kValTotal, "val loss", MetricUnit::Number},
      {kValBestStep, "best step", MetricUnit::Number},
      {kRamUsed, "RAM", MetricUnit::Bytes},
      {kRamTotal, "RAM total", MetricUnit::Bytes},
      {kVramUsed, "GPU memory", MetricUnit::Bytes},
      {kVramTotal, "GPU memory total", MetricUnit::Bytes},
      {kVramPeak, "GPU memory peak", MetricUnit::Bytes},
      {kDownloadSpeed, "speed", MetricUnit::BytesPerSecond},
  };
  return list;
}

const MetricInfo* find_metric(std::string_view name) {
  for (const MetricInfo& metric : metric_list()) {
    if (name == metric.name) return &metric;
  }
  return nullptr;
}

std::string format_metric_value(const MetricInfo& metric, double value) {
  if (metric.unit == MetricUnit::Bytes) return format_bytes(static_cast<int64_t>(value));
  if (metric.unit == MetricUnit::BytesPerSecond) return format_bytes(static_cast<int64_t>(value)) + "/s";
  char text[32];
  std::snprintf(text, sizeof(text), "%.4g", value);
  return text;
}

std::string describe_latest(const std::map<std::string, double>& latest) {
  std::string text;
  for (const MetricInfo& metric : metric_list()) {
    const std::string_view name = metric.name;
    if (name == kRamTotal || name == kVramTotal || name == kVramPeak || name == kTrainEpoch) continue;
    const auto found = latest.find(metric.name);
    if (found == latest.end()) continue;
    text += (text.empty() ? "" : "  ") + std::string(metric.label) + " " + format_metric_value(metric, found->second);
  }
  return text;
}

}  // namespace lowbit::train::metrics
