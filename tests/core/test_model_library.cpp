// The model library: models found one level down, broken folders explained, adapters matched to their base
// model, and the fit verdicts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "core/library/model_library.h"
#include "tests/support/random_model.h"

namespace lowbit::library {
namespace {

namespace fs = std::filesystem;

TEST(ModelLibrary, FindsModelsExplainsBrokenFoldersAndMatchesAdapters) {
  const fs::path root = fs::temp_directory_path() / ("lowbit-library-" + std::to_string(::getpid()));
  fs::remove_all(root);
  lowbit::testing::write_random_llama(root / "tiny", 1);
  fs::create_directories(root / "broken");
  std::ofstream(root / "broken" / "config.json") << "{ not json";
  fs::create_directories(root / "not-a-model");
  fs::create_directories(root / "runs" / "lrec" / "adapter");
  std::ofstream(root / "runs" / "lrec" / "adapter" / "adapter_config.json")
      << nlohmann::json{{"base_model_name_or_path", (root / "tiny").string()}, {"r", 4}}.dump();

  const ModelLibrary library = scan_model_library({root, root / "tiny", root / ".." / root.filename()});
  ASSERT_EQ(library.cards.size(), 2u);
  EXPECT_EQ(library.cards[0].summary.folder.filename(), "broken");
  EXPECT_NE(library.cards[0].problem.find("config.json"), std::string::npos) << library.cards[0].problem;
  const ModelCard& tiny = library.cards[1];
  EXPECT_TRUE(tiny.problem.empty()) << tiny.problem;
  EXPECT_EQ(tiny.summary.config.hidden_size, 64);
  ASSERT_EQ(tiny.adapters.size(), 1u);
  EXPECT_EQ(tiny.adapters[0].filename(), "adapter");
  ASSERT_EQ(tiny.tasks.size(), 3u);
  for (const TaskFit& task : tiny.tasks) EXPECT_GT(task.needed_bytes, 0) << task.task;
  fs::remove_all(root);
}

TEST(ModelLibrary, FitVerdictsLeaveRoomForTheCudaContext) {
  const int64_t gib = 1LL << 30;
  EXPECT_EQ(train::judge_fit(4 * gib, 0), train::Fit::NoGpu);
  EXPECT_EQ(train::judge_fit(4 * gib, 8 * gib), train::Fit::Fits);
  EXPECT_EQ(train::judge_fit(7 * gib, 8 * gib), train::Fit::Tight);   // 7.5 GiB with the context: under 8, over 85 %
  EXPECT_EQ(train::judge_fit(8 * gib, 8 * gib), train::Fit::Exceeds);
}

}  // namespace
}  // namespace lowbit::library
