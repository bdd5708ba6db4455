// Where tests find ../shared/testdata (real third-party assets, never copied into the repository).
// A test that needs an asset calls LOWBIT_REQUIRE_TESTDATA(path) and is skipped with a clear message when absent.
#pragma once

#include <filesystem>
#include <string>

namespace lowbit::testing {

inline std::filesystem::path testdata_dir() { return std::filesystem::path(LOWBIT_TESTDATA_DIR); }

inline std::filesystem::path testdata_path(const std::string& relative) { return testdata_dir() / relative; }

}  // namespace lowbit::testing

#define LOWBIT_REQUIRE_TESTDATA(relative)                                                                    \
  do {                                                                                                       \
    if (!std::filesystem::exists(::lowbit::testing::testdata_path(relative)))                                \
      GTEST_SKIP() << ::lowbit::testing::testdata_path(relative).string()                                   \
                   << " not found; the shared test assets (../shared/testdata) are missing on this machine";  \
  } while (false)
