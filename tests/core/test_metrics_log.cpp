// The one metrics.jsonl reader: incremental, a line being written is read once it is complete, a rewritten
// (shorter) file starts over, a malformed line is skipped, and run folders of earlier versions read as today's.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/train/metric_names.h"
#include "core/train/metrics_log.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

class MetricsLog : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lowbit-metrics-log-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    file_ = dir_ / "metrics.jsonl";
    fs::remove(file_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void append(const std::string& text) { std::ofstream(file_, std::ios::app | std::ios::binary) << text; }
  fs::path dir_, file_;
};

TEST_F(MetricsLog, AHalfWrittenLineIsReadOnceItIsComplete) {
  MetricsLogReader reader(file_);
  EXPECT_TRUE(reader.read_new().records.empty()) << "no file yet";
  append("{\"step\": 1, \"train/kl\": 2.5, \"train/ce\": 3.0}\n{\"step\": 2, \"train/kl\": 2.");
  auto update = reader.read_new();
  ASSERT_EQ(update.records.size(), 1u);
  EXPECT_EQ(update.records[0].step, 1);
  EXPECT_EQ(update.records[0].at(metrics::kTrainKl), 2.5);
  EXPECT_TRUE(reader.read_new().records.empty()) << "the second line is still being written";
  append("25, \"val/ppl\": 12.5}\nnot json\n{\"step\": 3, \"train/kl\": 2.0}\n");
  update = reader.read_new();
  ASSERT_EQ(update.records.size(), 2u) << "the malformed line is skipped";
  EXPECT_EQ(update.records[0].step, 2);
  EXPECT_EQ(update.records[0].at(metrics::kTrainKl), 2.25);
  EXPECT_EQ(update.records[0].at(metrics::kValPpl), 12.5);
  EXPECT_EQ(update.records[1].step, 3);
  EXPECT_FALSE(update.restarted);
}

TEST_F(MetricsLog, AShorterFileStartsOver) {
  append("{\"step\": 1, \"train/kl\": 1}\n{\"step\": 2, \"train/kl\": 2}\n{\"step\": 3, \"train/kl\": 3}\n");
  MetricsLogReader reader(file_);
  EXPECT_EQ(reader.read_new().records.size(), 3u);
  fs::remove(file_);
  append("{\"step\": 1, \"train/kl\": 1}\n");  // a resumed run kept the steps up to its checkpoint
  const auto update = reader.read_new();
  EXPECT_TRUE(update.restarted);
  ASSERT_EQ(update.records.size(), 1u);
  EXPECT_EQ(update.records[0].step, 1);
}

TEST_F(MetricsLog, ARunFolderOfAnEarlierVersionReadsAsToday) {
  append("{\"step\":0,\"val_ce\":3.0,\"val_kl\":9.0,\"val_ppl\":20.08}\n"
         "{\"step\":1,\"epoch\":0.5,\"kl\":8.5,\"ce\":2.9,\"total\":37.5,\"lr\":1e-5,\"grad_norm\":0.7,"
         "\"tokens_per_s\":900.0,\"vram_peak\":0,\"ram_used\":1073741824,\"ram_total\":8589934592}\n");
  const auto records = read_metrics_log(dir_);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at(metrics::kValPpl), 20.08);
  EXPECT_EQ(records[1].at(metrics::kTrainEpoch), 0.5);
  EXPECT_EQ(records[1].at(metrics::kTrainTotal), 37.5);
  EXPECT_EQ(records[1].at(metrics::kRamUsed), 1073741824.0);
  EXPECT_FALSE(records[1].has(metrics::kVramPeak)) << "a zero GPU peak (a CPU run) is no GPU reading";
  for (const MetricRecord& record : records) {
    for (const auto& [name, value] : record.values) EXPECT_NE(metrics::find_metric(name), nullptr) << name;
  }
}

TEST(MetricNames, TheProgressLineShowsLabelsAndSizesInTheListsOrder) {
  const std::map<std::string, double> latest = {{metrics::kTrainCe, 3.25},      {metrics::kTrainKl, 0.125},
                                                {metrics::kRamUsed, 1536.0 * 1024 * 1024},
                                                {metrics::kRamTotal, 8.0 * 1024 * 1024 * 1024},
                                                {"something/else", 1.0}};
  EXPECT_EQ(metrics::describe_latest(latest), "KL 0.125  CE 3.25  RAM 1.5 GiB");
}

}  // namespace
}  // namespace lowbit::train
