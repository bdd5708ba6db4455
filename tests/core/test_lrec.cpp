// LREC on stories260K: a resumed run continues exactly as an uninterrupted one, the correction lowers the
// held-out loss, the run directory holds what it should, and the schedule follows transformers' formulas.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "core/quant/quantize_job.h"
#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "core/train/lrec_job.h"
#include "core/train/metric_names.h"
#include "core/train/resume_run.h"
#include "core/train/run_status.h"
#include "core/train/trainer.h"
#include "core/train/teacher_cache.h"
#include "tests/support/files.h"
#include "tests/support/cancel_at.h"
#include "tests/support/run_metrics.h"
#include "tests/support/testdata.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;
using testing::read_metrics;
using testing::testdata_path;

constexpr const char* kModel = "models/stories260K-hf";
constexpr const char* kText = "train_text/tinystories_val_sample.txt";

class Lrec : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(testdata_path(kModel))) return;
    dir = fs::temp_directory_path() / ("lowbit-lrec-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    quant::QuantizeSettings q;
    q.device = "cpu";
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

  LrecSettings params(const std::string& run) {
    LrecSettings p;
    p.device = "cpu";
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
  // Stopped after step 4, between the checkpoints of steps 3 and 6: stopping saves one at step 4.
  testing::CancelAtProgress stopper(cancel, /*done=*/4, "steps");
  LrecJob first_half(params("resumed"));
  EXPECT_THROW(first_half.run(stopper, cancel), Cancelled);
  EXPECT_TRUE(fs::exists(dir / "resumed/checkpoints/step-000004/optimizer.pt"));
  EXPECT_FALSE(fs::exists(dir / "resumed/adapter")) << "a cancelled run has no final adapter";
  EXPECT_EQ(read_run_status(dir / "resumed")->state, RunState::Stopped);
  // Resumed from the folder alone (what the app's Resume does): config.json must hold every setting.
  const auto second_half = make_resume_job(dir / "resumed", "cpu");
  // The settings the run was started with, read back from its config.json: the same, resumed.
  LrecSettings expected = params("resumed");
  expected.resume = true;
  // Stored absolute, so that a resume from any directory finds the same folders.
  for (fs::path* path : {&expected.student_dir, &expected.teacher_dir, &expected.calibration}) {
    *path = fs::absolute(*path).lexically_normal();
  }
  const auto* resumed = dynamic_cast<const LrecJob*>(second_half.get());
  ASSERT_NE(resumed, nullptr);
  EXPECT_TRUE(resumed->settings() == expected);
  second_half->run(quiet, jobs::CancelToken());
  EXPECT_EQ(read_run_status(dir / "resumed")->state, RunState::Finished);
  try {
    make_resume_job(dir / "resumed", "cpu");
    ADD_FAILURE() << "a finished run cannot be resumed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("is finished"), std::string::npos) << e.what();
  }

  const auto a = read_metrics(dir / "whole"), b = read_metrics(dir / "resumed");
  ASSERT_EQ(a.size(), b.size());
  int compared = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].step, b[i].step);
    for (const char* key : {metrics::kTrainKl, metrics::kTrainCe, metrics::kTrainTotal, metrics::kTrainLr,
                            metrics::kTrainGradNorm, metrics::kValKl, metrics::kValCe}) {
      if (!a[i].has(key)) continue;
      EXPECT_DOUBLE_EQ(a[i].at(key), b[i].at(key)) << "step " << a[i].step << " " << key;
      ++compared;
    }
  }
  EXPECT_GT(compared, 30);
}

// Every metric a real LREC run emits is in the one list, and its metrics.jsonl, read by the one reader, holds
// exactly the events: the same names, steps and values.
TEST_F(Lrec, EveryMetricIsListedAndTheFileHoldsTheEventsUnderTheSameNames) {
  testing::RecordedMetrics recorded;
  LrecJob(params("metric-names")).run(recorded, jobs::CancelToken());
  ASSERT_FALSE(recorded.seen.empty());
  std::set<std::string> names;
  for (const auto& [name, step, value] : recorded.seen) {
    EXPECT_NE(metrics::find_metric(name), nullptr) << name << " is not in core/train/metric_names.h";
    names.insert(name);
  }
  for (const char* expected : {metrics::kTrainKl, metrics::kTrainCe, metrics::kValKl, metrics::kValPpl, metrics::kRamUsed}) {
    EXPECT_EQ(names.count(expected), 1u) << expected;
  }
  EXPECT_EQ(testing::metric_triples(dir / "metric-names"), testing::by_step_and_name(recorded.seen));
}

// Pauses at step 2 (from another thread, as the app's Pause button does), checks that no step is taken while
// paused, resumes, then cancels without saving after step 4: the checkpoint of step 3 stays, none is written for
// step 4, and the run folder says "stopped". The memory gauge's metrics arrive with every step.
class PauseThenCancel : public jobs::IgnoreEvents {
 public:
  explicit PauseThenCancel(jobs::CancelToken& token) : token_(token) {}
  void progress(const jobs::Progress& progress) override {
    if (progress.phase != "steps") return;
    last_step = progress.done;
    if (progress.done == 2) token_.set_paused(true);
    if (progress.done == 4) token_.request_without_saving();
  }
  void metric(const jobs::Metric& metric) override {
    if (metric.name == "ram/used_bytes") ram_used = metric.value;
    if (metric.name == "ram/total_bytes") ram_total = metric.value;
  }
  std::atomic<int64_t> last_step{0};
  std::atomic<double> ram_used{0}, ram_total{0};

 private:
  jobs::CancelToken& token_;
};

TEST_F(Lrec, PauseHoldsTheRunAndCancelWithoutSavingKeepsOnlyThePeriodicCheckpoints) {
  jobs::CancelToken cancel;
  PauseThenCancel events(cancel);
  LrecJob job(params("paused"));
  std::thread resumer([&] {
    while (!cancel.is_paused()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_EQ(events.last_step, 2) << "no step is taken while paused";
    cancel.set_paused(false);
  });
  EXPECT_THROW(job.run(events, cancel), Cancelled);
  resumer.join();
  EXPECT_EQ(events.last_step, 4);
  EXPECT_TRUE(fs::exists(dir / "paused/checkpoints/step-000003/optimizer.pt"));
  EXPECT_FALSE(fs::exists(dir / "paused/checkpoints/step-000004")) << "Cancel writes no new checkpoint";
  EXPECT_EQ(Trainer::latest_checkpoint(dir / "paused"), 3);
  EXPECT_EQ(read_run_status(dir / "paused")->state, RunState::Stopped);
  EXPECT_GT(events.ram_used, 1e6) << "the process holds at least the model";
  EXPECT_GT(events.ram_total, events.ram_used);
}

TEST_F(Lrec, CorrectionLowersTheHeldOutLossAndWritesARunDirectory) {
  LrecSettings p = params("improves");
  p.schedule = {3e-3, 5, 40, ScheduleKind::Cosine, 0.0};
  p.eval_every = 40;
  p.checkpoint_every = 20;
  p.calibration_windows = 64;
  jobs::IgnoreEvents events;
  LrecJob job(p);
  job.run(events, jobs::CancelToken());
  const auto lines = read_metrics(p.run_dir);
  const auto first = std::find_if(lines.begin(), lines.end(), [](const auto& l) { return l.has(metrics::kValPpl); });
  const auto last = std::find_if(lines.rbegin(), lines.rend(), [](const auto& l) { return l.has(metrics::kValPpl); });
  ASSERT_NE(first, lines.end());
  std::printf("INT2 g32 stories260K, 40 LREC steps: held-out PPL %.3f → %.3f, KL %.1f → %.1f\n",
              first->at(metrics::kValPpl), last->at(metrics::kValPpl), first->at(metrics::kValKl), last->at(metrics::kValKl));
  EXPECT_LT(last->at(metrics::kValKl), first->at(metrics::kValKl));
  EXPECT_LT(last->at(metrics::kValPpl), first->at(metrics::kValPpl));
  EXPECT_EQ(read_run_status(p.run_dir)->state, RunState::Finished);
  for (const char* file : {"config.json", "metrics.jsonl", "run_state.json", "adapter/adapter_config.json",
                           "adapter/adapter_model.safetensors", "checkpoints/step-000020/optimizer.pt"}) {
    EXPECT_TRUE(fs::exists(p.run_dir / file)) << file;
  }
  // On disk, a step's line holds the names of the one list (the events' names), nothing else.
  std::ifstream raw(p.run_dir / "metrics.jsonl");
  std::string evaluation_line, step_line;
  std::getline(raw, evaluation_line);
  std::getline(raw, step_line);
  std::set<std::string> keys;
  const nlohmann::json step_record = nlohmann::json::parse(step_line);
  for (const auto& item : step_record.items()) keys.insert(item.key());
  EXPECT_EQ(keys, (std::set<std::string>{"step", metrics::kTrainEpoch, metrics::kTrainKl, metrics::kTrainCe,
                                         metrics::kTrainTotal, metrics::kTrainLr, metrics::kTrainGradNorm,
                                         metrics::kTrainTokensPerS, metrics::kRamUsed, metrics::kRamTotal}))
      << step_line;
}

TEST_F(Lrec, ACachedTeacherOverTheWholeVocabularyTrainsLikeTheOnlineTeacher) {
  // With k = vocabulary size the cache holds the teacher's full distribution, so the cached run must follow the
  // online run (which also runs without gradient checkpointing) up to float rounding.
  LrecSettings cached = params("cached");
  cached.teacher_top_k = 512;
  LrecSettings online = params("online");
  online.teacher_top_k = 0;
  online.gradient_checkpointing = false;
  jobs::IgnoreEvents quiet;
  LrecJob(cached).run(quiet, jobs::CancelToken());
  LrecJob(online).run(quiet, jobs::CancelToken());
  EXPECT_TRUE(fs::exists(cached.run_dir / "teacher_cache.safetensors"));
  EXPECT_FALSE(fs::exists(online.run_dir / "teacher_cache.safetensors"));
  const auto a = read_metrics(cached.run_dir), b = read_metrics(online.run_dir);
  ASSERT_EQ(a.size(), b.size());
  int compared = 0;
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (const char* key : {metrics::kTrainKl, metrics::kTrainCe, metrics::kTrainTotal, metrics::kTrainGradNorm,
                            metrics::kValKl, metrics::kValCe}) {
      if (!a[i].has(key)) continue;
      const double x = a[i].at(key), y = b[i].at(key);
      EXPECT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(y))) << "step " << a[i].step << " " << key;
      largest = std::max(largest, std::abs(x - y) / std::max(1.0, std::abs(y)));
      ++compared;
    }
  }
  std::printf("cached (k = V, checkpointed) vs online teacher: %d values, largest relative difference %.2e\n",
              compared, largest);
  EXPECT_EQ(compared, 30);
}

// RILQ's recipe: the student learns the teacher's final hidden state (MSE) beside the next token (CE). Its cache
// holds the teacher's hidden states in the teacher's compute dtype, so training on it is training on the online
// teacher: the same metrics within 1e-6 relative.
TEST_F(Lrec, TheRilqLossTrainsOnTheHiddenStateCacheLikeOnTheOnlineTeacher) {
  const auto rilq = [&](const std::string& run, int64_t top_k) {
    LrecSettings p = params(run);
    apply_recipe(p, CorrectionLoss::HiddenMseCe);
    p.schedule.base_lr = 2e-3;  // the small test schedule, not RILQ's long one
    p.accumulation = 2;
    p.eval_every = 3;
    p.checkpoint_every = 3;
    p.early_stop_patience = 0;
    p.teacher_top_k = top_k;
    return p;
  };
  const LrecSettings cached = rilq("rilq-cached", 64), online = rilq("rilq-online", 0);
  jobs::IgnoreEvents quiet;
  LrecJob(cached).run(quiet, jobs::CancelToken());
  LrecJob(online).run(quiet, jobs::CancelToken());
  EXPECT_TRUE(fs::exists(cached.run_dir / "teacher_hidden.safetensors"));
  EXPECT_FALSE(fs::exists(cached.run_dir / "teacher_cache.safetensors"));
  EXPECT_FALSE(fs::exists(online.run_dir / "teacher_hidden.safetensors"));
  const auto a = read_metrics(cached.run_dir), b = read_metrics(online.run_dir);
  ASSERT_EQ(a.size(), b.size());
  int compared = 0;
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_FALSE(a[i].has(metrics::kTrainKl) || a[i].has(metrics::kValKl)) << "RILQ has no KL";
    for (const char* key : {metrics::kTrainMse, metrics::kTrainCe, metrics::kTrainTotal, metrics::kTrainGradNorm,
                            metrics::kValMse, metrics::kValCe, metrics::kValTotal}) {
      if (!a[i].has(key)) continue;
      const double x = a[i].at(key), y = b[i].at(key);
      EXPECT_NEAR(x, y, 1e-6 * std::abs(y)) << "step " << a[i].step << " " << key;
      largest = std::max(largest, std::abs(x - y) / std::abs(y));
      ++compared;
    }
  }
  std::printf("hidden-state cache vs online teacher: %d values, largest relative difference %.2e\n", compared, largest);
  EXPECT_EQ(compared, 6 * 4 + 3 * 3);  // 6 steps × (mse, ce, total, grad norm); evaluations at 0, 3, 6 × 3
  // The correction works: the held-out distance to the teacher went down.
  std::vector<double> val_mse;
  for (const auto& record : a) {
    if (record.has(metrics::kValMse)) val_mse.push_back(record.at(metrics::kValMse));
  }
  EXPECT_LT(val_mse.back(), val_mse.front());

  // Made for other windows, the cache is refused with what to do.
  const auto file = model::SafetensorsFile::open(cached.run_dir / "teacher_hidden.safetensors");
  const at::Tensor train = file->tensor("train.input_ids");
  const at::Tensor eval = file->tensor("eval.input_ids");
  EXPECT_NO_THROW(HiddenStateCache::open(cached.run_dir / "teacher_hidden.safetensors", train, eval, 64));
  try {
    HiddenStateCache::open(cached.run_dir / "teacher_hidden.safetensors", (train + 1) % 512, eval, 64);
    FAIL() << "a cache of other windows was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("was made for other train text"), std::string::npos) << e.what();
  }
}

// Early stopping: the run ends after `patience` evaluations without a lower validation loss, and its adapter is
// the best evaluation's (byte for byte the checkpoint of that step); a run resumed in the middle stops at the same
// step with the same adapter.
TEST_F(Lrec, EarlyStoppingKeepsTheBestValidationStepAndResumesExactly) {
  const auto settings = [&](const std::string& run) {
    LrecSettings p = params(run);
    p.schedule = {0.005, 0, 40, ScheduleKind::Constant, 0.0};  // too high to settle: better at step 1, then worse
    p.eval_every = 1;
    p.checkpoint_every = 1;
    p.early_stop_patience = 2;
    return p;
  };
  jobs::IgnoreEvents quiet;
  LrecJob whole(settings("early"));
  whole.run(quiet, jobs::CancelToken());
  const fs::path run = dir / "early";
  const auto records = read_metrics(run);
  std::vector<std::pair<int64_t, double>> evaluations;
  for (const auto& record : records) {
    if (record.has(metrics::kValTotal)) evaluations.emplace_back(record.step, record.at(metrics::kValTotal));
  }
  ASSERT_GE(evaluations.size(), 3u);
  const auto best = std::min_element(evaluations.begin(), evaluations.end(),
                                     [](const auto& x, const auto& y) { return x.second < y.second; });
  const int64_t stopped_at = evaluations.back().first;
  std::printf("early stop at step %lld of 40; best step %lld (val loss %.4f; at step 0 %.4f)\n",
              static_cast<long long>(stopped_at), static_cast<long long>(best->first), best->second, evaluations[0].second);
  ASSERT_LT(stopped_at, 40) << "the run never stopped early";
  EXPECT_EQ(whole.result().steps_done, stopped_at);
  EXPECT_EQ(whole.result().best_step, best->first);
  EXPECT_EQ(evaluations.end() - best - 1, 2) << "two evaluations without improvement, then the stop";
  EXPECT_EQ(records.back().at(metrics::kValBestStep), static_cast<double>(best->first));
  const std::string best_name = checkpoint_name(best->first);
  if (best->first > 0) {
    EXPECT_EQ(testing::file_bytes(run / "adapter" / "adapter_model.safetensors"),
              testing::file_bytes(run / "checkpoints" / best_name / "adapter" / "adapter_model.safetensors"));
  }
  EXPECT_TRUE(fs::exists(run / "best" / best_name / "adapter" / "adapter_model.safetensors"));
  EXPECT_EQ(std::distance(fs::directory_iterator(run / "best"), fs::directory_iterator()), 1) << "only the best is kept";

  // Stopped after the best step and resumed from the folder alone: the same stop, the same adapter.
  jobs::CancelToken cancel;
  testing::CancelAtProgress stopper(cancel, /*done=*/best->first + 1, "steps");
  EXPECT_THROW(LrecJob(settings("early-resumed")).run(stopper, cancel), Cancelled);
  auto resumed = make_resume_job(dir / "early-resumed", "cpu");
  resumed->run(quiet, jobs::CancelToken());
  EXPECT_EQ(testing::file_bytes(dir / "early-resumed" / "adapter" / "adapter_model.safetensors"),
            testing::file_bytes(run / "adapter" / "adapter_model.safetensors"));
  EXPECT_EQ(read_metrics(dir / "early-resumed").back().step, stopped_at);
}

TEST_F(Lrec, ATopKCacheIsRefusedForOtherWindowsOrAnotherK) {
  LrecSettings p = params("topk");
  p.teacher_top_k = 32;
  p.schedule.total_steps = 1;
  jobs::IgnoreEvents quiet;
  LrecJob(p).run(quiet, jobs::CancelToken());
  const fs::path cache = p.run_dir / "teacher_cache.safetensors";
  const auto file = model::SafetensorsFile::open(cache);
  const at::Tensor train = file->tensor("train.input_ids");
  const at::Tensor held_out = file->tensor("eval.input_ids");
  EXPECT_EQ(file->tensor("train.log_probs").size(-1), 32);
  EXPECT_NO_THROW(TeacherCache::open(cache, train, held_out, 32));
  EXPECT_THROW(TeacherCache::open(cache, train, held_out, 64), InputError);
  EXPECT_THROW(TeacherCache::open(cache, train + 1, held_out, 32), InputError);
  EXPECT_THROW(TeacherCache::open(cache, train.narrow(0, 0, 3), held_out, 32), InputError);
  // The top-k targets are the teacher's: its log-probs are sorted, normalised with the tail, and the CE term of
  // a run does not depend on the cache.
  const at::Tensor top = file->tensor("train.log_probs").to(at::kDouble);
  const at::Tensor mass = top.exp().sum(-1) + file->tensor("train.tail_log_mass").to(at::kDouble).exp();
  EXPECT_LT((mass - 1).abs().max().item<double>(), 1e-5);
  EXPECT_TRUE((top.narrow(-1, 0, 31) >= top.narrow(-1, 1, 31)).all().item<bool>());
}

TEST_F(Lrec, TheMemoryEstimateCountsTheStudentWeightsAsLoaded) {
  LrecSettings p = params("estimate");
  const MemoryEstimate estimate = estimate_lrec_memory(p, at::kCPU);  // CPU: float32 compute
  const auto student = model::LlamaModel::load(p.student_dir, {at::kCPU, std::nullopt});
  EXPECT_EQ(estimate.weights, student->weight_bytes());
  // r 8 on all seven projections of 5 layers: width 64, keys/values 4 heads × 8, MLP 172 stored as 192.
  const int64_t per_layer = 8 * ((64 + 64) * 2 + (64 + 32) * 2 + (64 + 192) * 3);
  EXPECT_EQ(estimate.adapter_parameters, 5 * per_layer);
  EXPECT_EQ(estimate.adapter, 16 * estimate.adapter_parameters);
  EXPECT_GT(estimate.teacher, 0);
  p.teacher_top_k = 0;
  EXPECT_GT(estimate_lrec_memory(p, at::kCPU).teacher, 10 * estimate.teacher) << "an online teacher holds its weights";
  p.gradient_checkpointing = false;
  EXPECT_GT(estimate_lrec_memory(p, at::kCPU).activations, estimate.activations);
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
