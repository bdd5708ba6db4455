// GPU tests skip on machines without a GPU, but scripts/gpu_check.sh sets LOWBIT_REQUIRE_GPU=1 so that on the
// GPU machine a missing device is a failure, not a silent skip.
#pragma once

#include <cstdlib>
#include <string>

namespace lowbit::testing {

inline bool gpu_required() {
  const char* value = std::getenv("LOWBIT_REQUIRE_GPU");
  return value != nullptr && std::string(value) == "1";
}

}  // namespace lowbit::testing

#define LOWBIT_SKIP_OR_FAIL_WITHOUT_GPU(reason)                                                              \
  do {                                                                                                       \
    if (::lowbit::testing::gpu_required()) FAIL() << "LOWBIT_REQUIRE_GPU=1 but " << (reason);               \
    GTEST_SKIP() << (reason);                                                                                \
  } while (false)
