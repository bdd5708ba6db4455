// The records of a training run's metrics.jsonl, in order, read by the one reader the app and the CLI use, and
// the metric events a run sent, to compare the two.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "core/jobs/job.h"
#include "core/train/metrics_log.h"

namespace lowbit::testing {

inline std::vector<train::MetricRecord> read_metrics(const std::filesystem::path& run_dir) {
  return train::read_metrics_log(run_dir);
}

using MetricTriple = std::tuple<std::string, int64_t, double>;  // name, step, value

// The metric events of a job, in the order they were sent.
class RecordedMetrics : public jobs::IgnoreEvents {
 public:
  void metric(const jobs::Metric& metric) override { seen.emplace_back(metric.name, metric.step, metric.value); }
  std::vector<MetricTriple> seen;
};

// Triples ordered by step, then name: a record's values come back ordered by name, so the events of one step are
// compared as a set (a stable sort keeps the order of a name sent twice for one step).
inline std::vector<MetricTriple> by_step_and_name(std::vector<MetricTriple> triples) {
  std::stable_sort(triples.begin(), triples.end(), [](const MetricTriple& a, const MetricTriple& b) {
    return std::tie(std::get<1>(a), std::get<0>(a)) < std::tie(std::get<1>(b), std::get<0>(b));
  });
  return triples;
}

// Every value of a run folder's metrics.jsonl as (name, step, value), by step and name.
inline std::vector<MetricTriple> metric_triples(const std::filesystem::path& run_dir) {
  std::vector<MetricTriple> triples;
  for (const train::MetricRecord& record : read_metrics(run_dir)) {
    for (const auto& [name, value] : record.values) triples.emplace_back(name, record.step, value);
  }
  return by_step_and_name(std::move(triples));
}

}  // namespace lowbit::testing
