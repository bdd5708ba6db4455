#include <gtest/gtest.h>

#include <c10/util/Exception.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/jobs/error_report.h"
#include "core/jobs/eta.h"
#include "core/jobs/job.h"

namespace lowbit::jobs {
namespace {

ErrorReport report_for(const std::function<void()>& thrower) {
  try {
    thrower();
  } catch (...) {
    return describe_current_exception();
  }
  ADD_FAILURE() << "nothing was thrown";
  return {};
}

TEST(CancelToken, ThrowsCancelledOnlyAfterARequest) {
  CancelToken token;
  EXPECT_FALSE(token.is_requested());
  EXPECT_NO_THROW(token.throw_if_cancelled());
  token.request();
  EXPECT_TRUE(token.is_requested());
  EXPECT_THROW(token.throw_if_cancelled(), Cancelled);
}

TEST(CancelToken, PausedJobsWaitAtTheirNextCheckUntilResumedOrStopped) {
  CancelToken token;
  token.set_paused(true);
  std::atomic<bool> passed{false};
  std::thread worker([&] {
    token.throw_if_cancelled();  // blocks here while paused
    passed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_FALSE(passed) << "a paused job must not go past its step boundary";
  token.set_paused(false);
  worker.join();
  EXPECT_TRUE(passed);

  token.set_paused(true);
  std::atomic<bool> cancelled{false};
  std::thread stopped([&] {
    try {
      token.throw_if_cancelled();
    } catch (const Cancelled&) {
      cancelled = true;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  token.request();  // stopping a paused job does not need a resume first
  stopped.join();
  EXPECT_TRUE(cancelled);
}

TEST(CancelToken, CancellingWithoutSavingIsRememberedUntilReset) {
  CancelToken token;
  EXPECT_TRUE(token.save_on_stop());
  token.request_without_saving();
  EXPECT_TRUE(token.is_requested());
  EXPECT_FALSE(token.save_on_stop());
  token.reset();
  EXPECT_FALSE(token.is_requested());
  EXPECT_TRUE(token.save_on_stop());
}

TEST(EtaClock, TimeSpentPausedIsLeftOutOfTheRate) {
  EtaClock clock;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  clock.exclude(10.0);  // as if the job had been paused for longer than it ran
  EXPECT_LT(clock.elapsed_s(), 0.0);
}

// A run whose first step is slow (warm-up) and whose every 7th step also evaluates (4 s more): the time left is
// right within a fifth after ten steps (the average since the start said 2.1 times too much), and it never goes
// up by more than 4 % from one step to the next (the window alone, unsmoothed, jumped 20 %).
TEST(EtaClock, TheTimeLeftSettlesAfterASlowFirstStepAndDoesNotSwingWithEvaluations) {
  EtaClock clock;
  constexpr int64_t kTotal = 200;
  auto step_seconds = [](int64_t step) { return (step == 1 ? 20.0 : 1.0) + (step % 7 == 0 ? 4.0 : 0.0); };
  double elapsed = 0, previous = -1;
  for (int64_t done = 1; done < kTotal; ++done) {
    elapsed += step_seconds(done);
    const double left = clock.seconds_left_at(elapsed, done, kTotal);
    double truth = 0;
    for (int64_t later = done + 1; later <= kTotal; ++later) truth += step_seconds(later);
    if (done >= 10 && done <= 150) EXPECT_NEAR(left, truth, 0.2 * truth) << "after step " << done;
    if (done >= 10 && previous > 0) EXPECT_LE(left, previous * 1.04) << "after step " << done;
    previous = left;
  }
  EXPECT_EQ(clock.seconds_left_at(elapsed + 1, kTotal, kTotal), 0);
  EXPECT_EQ(EtaClock().seconds_left_at(5, 0, kTotal), -1);
}

TEST(ErrorReport, InputErrorKeepsPathProblemAndRemedy) {
  const ErrorReport report = report_for([] {
    throw InputError("/models/x/config.json", "missing field 'hidden_size'", "re-export the model");
  });
  EXPECT_EQ(report.kind, ErrorKind::Input);
  EXPECT_EQ(report.exit_code, kExitInput);
  EXPECT_EQ(report.user_message, "/models/x/config.json: missing field 'hidden_size' (re-export the model)");
}

TEST(ErrorReport, CancelledIsNotAFailure) {
  const ErrorReport report = report_for([] { throw Cancelled(); });
  EXPECT_EQ(report.kind, ErrorKind::Cancelled);
  EXPECT_EQ(report.exit_code, kExitCancelled);
  EXPECT_EQ(report.user_message, "cancelled");
}

TEST(ErrorReport, ResourceAndInternalErrorsMapToTheirExitCodes) {
  EXPECT_EQ(report_for([] { throw ResourceError("disk full"); }).exit_code, kExitResource);
  const ErrorReport internal = report_for([] { throw InternalError("bad invariant"); });
  EXPECT_EQ(internal.exit_code, kExitInternal);
  EXPECT_NE(internal.user_message.find("please report it"), std::string::npos);
}

TEST(ErrorReport, TorchErrorsLoseTheirBacktraceForTheUserButKeepItForTheLog) {
  const ErrorReport report = report_for([] { TORCH_CHECK(false, "shapes [2, 3] and [4] do not match"); });
  EXPECT_EQ(report.kind, ErrorKind::Internal);
  EXPECT_NE(report.user_message.find("shapes [2, 3] and [4] do not match"), std::string::npos);
  EXPECT_EQ(report.user_message.find("Exception raised from"), std::string::npos) << report.user_message;
  EXPECT_NE(report.log_detail.find("shapes [2, 3] and [4] do not match"), std::string::npos);
}

TEST(ErrorReport, OutOfMemoryIsAResourceProblemWithAdvice) {
  const ErrorReport report = report_for([] {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "CUDA out of memory. Tried to allocate 2.00 GiB");
  });
  EXPECT_EQ(report.kind, ErrorKind::Resource);
  EXPECT_NE(report.user_message.find("lower the micro-batch size"), std::string::npos) << report.user_message;
}

}  // namespace
}  // namespace lowbit::jobs
