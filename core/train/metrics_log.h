// The one reader of a run's metrics.jsonl (one JSON object per line: {"step": N, "<metric name>": value, …},
// names from core/train/metric_names.h), for the dashboard, the CLI and the tests. It reads incrementally — only
// the lines completed since the last call, so a run in another process can be followed — leaves a line without
// its newline for the next call (it is still being written, or a crash cut it), skips a malformed line, starts
// over when the file got shorter (a resumed run keeps only the steps up to its checkpoint), and reads the key
// names of run folders written by earlier versions ("val_ppl", "vram_used", …) as today's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace lowbit::train {

struct MetricRecord {
  int64_t step = 0;
  std::map<std::string, double> values;  // metric name → value
  bool has(const std::string& name) const { return values.count(name) != 0; }
  double at(const std::string& name) const { return values.at(name); }
};

class MetricsLogReader {
 public:
  explicit MetricsLogReader(std::filesystem::path file) : file_(std::move(file)) {}

  struct Update {
    std::vector<MetricRecord> records;  // completed since the last call, in order
    bool restarted = false;             // the file was rewritten shorter: forget what was read before
  };
  Update read_new();

 private:
  std::filesystem::path file_;
  std::uintmax_t offset_ = 0;
};

// All records of RUN_DIR/metrics.jsonl (none when it does not exist).
std::vector<MetricRecord> read_metrics_log(const std::filesystem::path& run_dir);

// One line of metrics.jsonl into a record; false for a line that is not a JSON object with a step.
bool parse_metrics_line(const std::string& line, MetricRecord& record);

}  // namespace lowbit::train
