// Reference outputs of transformers, made by scripts/make_hf_fixtures.py into the build tree (the ctest fixture
// `hf_fixtures` runs it when stale). Tests that need them skip with the reason when they are absent.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace lowbit::testing {

inline std::filesystem::path fixtures_dir() { return std::filesystem::path(LOWBIT_FIXTURES_DIR); }

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace lowbit::testing

#define LOWBIT_REQUIRE_FIXTURE(relative)                                                                     \
  do {                                                                                                       \
    if (!std::filesystem::exists(::lowbit::testing::fixtures_dir() / "done.json"))                           \
      GTEST_SKIP() << "transformers fixtures not made: run scripts/make_hf_fixtures.py --out "              \
                   << ::lowbit::testing::fixtures_dir().string() << " (ctest does it with the venv)";        \
    if (!std::filesystem::exists(::lowbit::testing::fixtures_dir() / (relative)))                            \
      GTEST_SKIP() << (::lowbit::testing::fixtures_dir() / (relative)).string()                             \
                   << " missing (the fixture script skipped it: is ../shared/testdata there?)";             \
  } while (false)
