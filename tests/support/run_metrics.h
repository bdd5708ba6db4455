// The records of a training run's metrics.jsonl, in order, read by the one reader the app and the CLI use.
#pragma once

#include <filesystem>
#include <vector>

#include "core/train/metrics_log.h"

namespace lowbit::testing {

inline std::vector<train::MetricRecord> read_metrics(const std::filesystem::path& run_dir) {
  return train::read_metrics_log(run_dir);
}

}  // namespace lowbit::testing
