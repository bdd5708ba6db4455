#include <gtest/gtest.h>

#include <c10/util/Exception.h>

#include "core/jobs/error_report.h"
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
