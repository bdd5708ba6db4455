// LREC on stories260K: a resumed run continues exactly as an uninterrupted one, the correction lowers the
// held-out loss, the run directory holds what it should, and the schedule follows transformers' formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/quant/quantize_job.h"
#include "core/train/lrec_job.h"
#include "tests/support/cancel_at.h"
#include "tests/support/testdata.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;
using testing::testdata_path;

constexpr const char* kModel = "models/stories260K-hf";
constexpr const char* kText = "train_text/tinystories_val_sample.txt";

std::vector<nlohmann::json> read_metrics(const fs::path& run) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class Lrec : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(testdata_path(kModel))) return;
    dir = fs::temp_directory_path() / ("lowbit-lrec-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    quant::QuantizeParams q;
    q.model_dir = testdata_path(kModel);
    q.out_dir = dir / "int2";
    q.calibration = testdata_path(kText);
    q.nsamples = 16;
    q.seqlen = 256;
    q.config.bits = 2;
    q.config.group_size = 32;
    jobs::IgnoreEvents events;
    quant::QuantizeJob job(q);
    job.run(events, jobs::CancelToken());
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
  void SetUp() override { LOWBIT_REQUIRE_TESTDATA(kModel); }

  LrecParams params(const std::string& run) {
    LrecParams p;
    p.student_dir = dir / "int2";
    p.teacher_dir = testdata_path(kModel);
    p.calibration = testdata_path(kText);
    p.run_dir = dir / run;
    apply_preset(p, "int2");
    p.lora.rank = 8;
    p.schedule = {2e-3, 2, 6, ScheduleKind::Cosine, 0.0};
    p.micro_batch = 2;
    p.accumulation = 2;
    p.seqlen = 128;
    p.calibration_windows = 16;
    p.eval_windows = 4;
    p.eval_every = 3;
    p.checkpoint_every = 3;
    return p;
  }
  static fs::path dir;
};
fs::path Lrec::dir;

TEST_F(Lrec, AResumedRunFollowsTheSameTrajectory) {
  jobs::IgnoreEvents quiet;
  LrecJob whole(params("whole"));
  whole.run(quiet, jobs::CancelToken());

  jobs::CancelToken cancel;
  testing::CancelAtProgress stopper(cancel, /*done=*/3);
  LrecJob first_half(params("resumed"));
  EXPECT_THROW(first_half.run(stopper, cancel), Cancelled);
  EXPECT_TRUE(fs::exists(dir / "resumed/checkpoints/step-000003/optimizer.pt"));
  EXPECT_FALSE(fs::exists(dir / "resumed/adapter")) << "a cancelled run has no final adapter";
  LrecParams resume = params("resumed");
  resume.resume = true;
  LrecJob second_half(resume);
  second_half.run(quiet, jobs::CancelToken());

  const auto a = read_metrics(dir / "whole"), b = read_metrics(dir / "resumed");
  ASSERT_EQ(a.size(), b.size());
  int compared = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i]["step"], b[i]["step"]);
    for (const char* key : {"kl", "ce", "total", "lr", "grad_norm", "val_kl", "val_ce"}) {
      if (!a[i].contains(key)) continue;
      EXPECT_DOUBLE_EQ(a[i][key].get<double>(), b[i][key].get<double>()) << "step " << a[i]["step"] << " " << key;
      ++compared;
    }
  }
  EXPECT_GT(compared, 30);
}

TEST_F(Lrec, CorrectionLowersTheHeldOutLossAndWritesARunDirectory) {
  LrecParams p = params("improves");
  p.schedule = {3e-3, 5, 40, ScheduleKind::Cosine, 0.0};
  p.eval_every = 40;
  p.checkpoint_every = 20;
  p.calibration_windows = 64;
  jobs::IgnoreEvents events;
  LrecJob job(p);
  job.run(events, jobs::CancelToken());
  const auto lines = read_metrics(p.run_dir);
  const auto first = std::find_if(lines.begin(), lines.end(), [](const auto& l) { return l.contains("val_ppl"); });
  const auto last = std::find_if(lines.rbegin(), lines.rend(), [](const auto& l) { return l.contains("val_ppl"); });
  ASSERT_NE(first, lines.end());
  std::printf("INT2 g32 stories260K, 40 LREC steps: held-out PPL %.3f → %.3f, KL %.1f → %.1f\n",
              (*first)["val_ppl"].get<double>(), (*last)["val_ppl"].get<double>(), (*first)["val_kl"].get<double>(),
              (*last)["val_kl"].get<double>());
  EXPECT_LT((*last)["val_kl"].get<double>(), (*first)["val_kl"].get<double>());
  EXPECT_LT((*last)["val_ppl"].get<double>(), (*first)["val_ppl"].get<double>());
  for (const char* file : {"config.json", "metrics.jsonl", "adapter/adapter_config.json",
                           "adapter/adapter_model.safetensors", "checkpoints/step-000020/optimizer.pt"}) {
    EXPECT_TRUE(fs::exists(p.run_dir / file)) << file;
  }
  const auto& step = lines[1];
  for (const char* key : {"step", "epoch", "kl", "ce", "total", "lr", "grad_norm", "tokens_per_s", "vram_peak"}) {
    EXPECT_TRUE(step.contains(key)) << key;
  }
}

TEST_F(Lrec, AnExistingRunIsNotOverwritten) {
  fs::create_directories(dir / "taken");
  std::ofstream(dir / "taken" / "metrics.jsonl") << "{}\n";
  jobs::IgnoreEvents events;
  LrecJob job(params("taken"));
  EXPECT_THROW(job.run(events, jobs::CancelToken()), InputError);
}

TEST(Schedule, FollowsTransformersWarmupAndDecay) {
  const Schedule cosine{1.0, 10, 110, ScheduleKind::Cosine, 0.0};
  EXPECT_DOUBLE_EQ(learning_rate(cosine, 0), 0.0);
  EXPECT_DOUBLE_EQ(learning_rate(cosine, 5), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(cosine, 10), 1.0);
  EXPECT_NEAR(learning_rate(cosine, 60), 0.5, 1e-12);
  EXPECT_NEAR(learning_rate(cosine, 110), 0.0, 1e-12);
  const Schedule linear{2.0, 0, 100, ScheduleKind::Linear, 0.0};
  EXPECT_DOUBLE_EQ(learning_rate(linear, 25), 1.5);
  const Schedule constant{3.0, 4, 100, ScheduleKind::Constant, 0.0};
  EXPECT_DOUBLE_EQ(learning_rate(constant, 2), 1.5);
  EXPECT_DOUBLE_EQ(learning_rate(constant, 50), 3.0);
}

}  // namespace
}  // namespace lowbit::train
