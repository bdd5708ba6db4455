#include "core/train/metrics_log.h"

#include "core/util/json_limits.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <utility>

namespace lowbit::train {
namespace {

// The keys of metrics.jsonl before the metric names were one list (LowBit 0.x run folders).
const std::pair<const char*, const char*> kEarlierKeys[] = {
    {"kl", "train/kl"},           {"ce", "train/ce"},           {"total", "train/total"},
    {"lr", "train/lr"},           {"grad_norm", "train/grad_norm"}, {"tokens_per_s", "train/tokens_per_s"},
    {"epoch", "train/epoch"},     {"val_kl", "val/kl"},         {"val_ce", "val/ce"},
    {"val_ppl", "val/ppl"},       {"ram_used", "ram/used_bytes"}, {"ram_total", "ram/total_bytes"},
    {"vram_used", "vram/used_bytes"}, {"vram_total", "vram/total_bytes"}, {"vram_peak", "vram/peak_bytes"},
};

std::string todays_name(const std::string& key) {
  for (const auto& [earlier, today] : kEarlierKeys) {
    if (key == earlier) return today;
  }
  return key;
}

}  // namespace

bool parse_metrics_line(const std::string& line, MetricRecord& record) {
  const auto parsed = util::parse_json_or_none(line, util::kMetricsLineLimits);
  if (!parsed) return false;
  const nlohmann::json& object = *parsed;
  if (!object.is_object() || !object.contains("step") || !object["step"].is_number()) return false;
  const double step = object["step"].get<double>();
  if (!(step >= 0 && step <= 1e15)) return false;  // no run has such a step; converting it would be undefined
  record = MetricRecord{};
  record.step = static_cast<int64_t>(step);
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.key() == "step" || !it.value().is_number()) continue;
    const std::string name = todays_name(it.key());
    if (name == "vram/peak_bytes" && it.value().get<double>() <= 0) continue;  // earlier versions wrote 0 on the CPU
    record.values[name] = it.value().get<double>();
  }
  return true;
}

MetricsLogReader::Update MetricsLogReader::read_new() {
  Update update;
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(file_, error);
  if (error) return update;
  if (size < offset_) {
    offset_ = 0;
    update.restarted = true;
  }
  std::ifstream in(file_, std::ios::binary);
  if (!in || !in.seekg(static_cast<std::streamoff>(offset_))) return update;
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline after it: being written, read it next time
    offset_ += line.size() + 1;
    MetricRecord record;
    if (parse_metrics_line(line, record)) update.records.push_back(std::move(record));
  }
  return update;
}

std::vector<MetricRecord> read_metrics_log(const std::filesystem::path& run_dir) {
  return MetricsLogReader(run_dir / "metrics.jsonl").read_new().records;
}

}  // namespace lowbit::train
