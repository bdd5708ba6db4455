// The model library: models found one level down, broken folders explained, adapters matched to their base
// model, and the fit verdicts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "core/library/model_library.h"
#include "core/train/lrec_settings.h"
#include "core/train/run_plan.h"
#include "tests/support/random_model.h"
#include "tests/support/testdata.h"

namespace lowbit::library {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTokenizer = "models/stories260K-hf/tokenizer.model";

// A random tiny LLaMA with the stories260K tokenizer: a model LowBit can use.
void write_usable_model(const fs::path& folder, uint64_t seed) {
  lowbit::testing::write_random_llama(folder, seed);
  fs::copy_file(lowbit::testing::testdata_path(kTokenizer), folder / "tokenizer.model");
}

fs::path fresh_root(const std::string& name) {
  const fs::path root = fs::temp_directory_path() / ("lowbit-library-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  return root;
}

void write_json(const fs::path& file, const nlohmann::json& json) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << json.dump();
}

TEST(ModelLibrary, FindsModelsExplainsBrokenFoldersAndMatchesAdapters) {
  LOWBIT_REQUIRE_TESTDATA(kTokenizer);
  const fs::path root = fresh_root("find");
  write_usable_model(root / "tiny", 1);
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
  EXPECT_EQ(tiny.adapters[0].folder.filename(), "adapter");
  EXPECT_EQ(tiny.adapters[0].kind, "adapter");  // no LowBit run's config.json beside it
  ASSERT_EQ(tiny.tasks.size(), 3u);
  for (const TaskFit& task : tiny.tasks) EXPECT_GT(task.needed_bytes, 0) << task.task;
  EXPECT_TRUE(tiny.unusable.empty()) << tiny.unusable;
  fs::remove_all(root);
}

// A model LowBit cannot run says so, and why, instead of showing what it would need on the GPU.
TEST(ModelLibrary, AModelWithoutTokenizerIsUnusableAndSaysWhatToDo) {
  const fs::path root = fresh_root("unusable");
  lowbit::testing::write_random_llama(root / "no-tokenizer", 2);
  const ModelLibrary library = scan_model_library({root});
  ASSERT_EQ(library.cards.size(), 1u);
  const ModelCard& card = library.cards[0];
  EXPECT_TRUE(card.problem.empty()) << card.problem;
  EXPECT_NE(card.unusable.find("has no tokenizer (tokenizer.json or tokenizer.model)"), std::string::npos) << card.unusable;
  EXPECT_NE(card.unusable.find((root / "no-tokenizer").string()), std::string::npos) << card.unusable;
  EXPECT_TRUE(card.tasks.empty());
  fs::remove_all(root);
}

// Every added folder is reported: how many models it gave, and what in it was passed over (GGUF files to import,
// .bin files LowBit does not read), or that it holds no model at all, or is gone.
TEST(ModelLibrary, ReportsWhatEachAddedFolderGaveAndWhatItPassedOver) {
  const fs::path root = fresh_root("folders");
  fs::create_directories(root / "empty" / "just-a-folder");
  std::ofstream(root / "empty" / "notes.txt") << "hello";
  fs::create_directories(root / "downloads" / "stories");
  std::ofstream(root / "downloads" / "model.Q4_K_M.GGUF") << "GGUF";
  std::ofstream(root / "downloads" / "stories" / "stories260K.bin") << "llama2.c";
  lowbit::testing::write_random_llama(root / "downloads" / "tiny", 3);

  const ModelLibrary library = scan_model_library({root / "empty", root / "downloads", root / "gone"});
  ASSERT_EQ(library.folders.size(), 3u);
  const FolderReport& empty = library.folders[0];
  EXPECT_EQ(empty.folder, root / "empty");
  EXPECT_EQ(empty.models, 0);
  ASSERT_EQ(empty.notes.size(), 1u);
  EXPECT_EQ(empty.notes[0].rfind("no model in it: neither it nor a folder in it holds a config.json", 0), 0u) << empty.notes[0];

  const FolderReport& downloads = library.folders[1];
  EXPECT_EQ(downloads.models, 1);
  ASSERT_EQ(downloads.gguf_files.size(), 1u);
  EXPECT_EQ(downloads.gguf_files[0], root / "downloads" / "model.Q4_K_M.GGUF");
  ASSERT_EQ(downloads.notes.size(), 2u);
  EXPECT_EQ(downloads.notes[0], "model.Q4_K_M.GGUF is a GGUF file: import it to make a model LowBit can use");
  EXPECT_EQ(downloads.notes[1].rfind("stories/stories260K.bin: LowBit does not read .bin files", 0), 0u) << downloads.notes[1];

  const FolderReport& gone = library.folders[2];
  EXPECT_EQ(gone.models, 0);
  ASSERT_EQ(gone.notes.size(), 1u);
  EXPECT_NE(gone.notes[0].find("does not exist any more"), std::string::npos) << gone.notes[0];
  fs::remove_all(root);
}

// What a user's pipeline wrote: its quantized model is a card of its own (which run made it), with the correction
// and the fine-tune adapter, and the fine-tune chats stacked on the correction.
TEST(ModelLibrary, ARunsModelAndAdaptersJoinTheLibraryAsStacks) {
  LOWBIT_REQUIRE_TESTDATA(kTokenizer);
  const fs::path root = fresh_root("runs");
  const fs::path run = root / "runs" / "pipeline";
  write_usable_model(run / "int2", 4);
  const fs::path model = fs::weakly_canonical(run / "int2");
  write_json(run / "lrec" / "config.json", {{"kind", "lrec"}, {"total_steps", 8}});
  write_json(run / "lrec" / "adapter" / "adapter_config.json", {{"base_model_name_or_path", model.string()}, {"r", 4}});
  write_json(run / "emef" / "config.json",
             {{"kind", "emef"}, {"total_steps", 8}, {"base_adapters", {(run / "lrec" / "adapter").string()}}});
  write_json(run / "emef" / "adapter" / "adapter_config.json", {{"base_model_name_or_path", model.string()}, {"r", 4}});
  fs::create_directories(root / "models");

  const ModelLibrary library = scan_model_library({root / "models"}, {run});
  ASSERT_EQ(library.cards.size(), 1u);
  const ModelCard& card = library.cards[0];
  EXPECT_EQ(card.made_by_run, run);
  ASSERT_EQ(card.adapters.size(), 2u);
  EXPECT_EQ(card.adapters[0].kind, "fine-tune (EMEF)");  // sorted by folder: emef/ before lrec/
  EXPECT_EQ(card.adapters[0].run, fs::weakly_canonical(run / "emef"));
  EXPECT_EQ(card.adapters[1].kind, "correction (LREC)");
  const std::vector<std::vector<fs::path>> expected = {
      {},
      {fs::weakly_canonical(run / "lrec" / "adapter"), fs::weakly_canonical(run / "emef" / "adapter")},
      {fs::weakly_canonical(run / "lrec" / "adapter")}};
  EXPECT_EQ(card.adapter_stacks(), expected);

  // The pipeline started from a full-precision model in the library: its card lists the run.
  write_usable_model(root / "models" / "full", 5);
  train::RunPlan plan;
  plan.model_dir = root / "models" / "full";
  write_json(run / "pipeline.json", train::run_plan_to_json(plan));
  // A correction run on its own, its config.json as the job writes it: the teacher's card lists it too.
  const fs::path correction = root / "runs" / "correction";
  train::LrecSettings lrec;
  lrec.student_dir = run / "int2";
  lrec.teacher_dir = root / "models" / "full";
  nlohmann::json lrec_config = {{"kind", "lrec"}, {"total_steps", 8}};
  lrec_config.update(train::lrec_settings_schema().to_json(lrec));
  write_json(correction / "config.json", lrec_config);
  const ModelLibrary with_source = scan_model_library({root / "models"}, {run, correction});
  ASSERT_EQ(with_source.cards.size(), 2u);
  const auto full = std::find_if(with_source.cards.begin(), with_source.cards.end(),
                                 [](const ModelCard& c) { return c.summary.folder.filename() == "full"; });
  ASSERT_NE(full, with_source.cards.end());
  ASSERT_EQ(full->runs.size(), 2u);
  EXPECT_EQ(full->runs[0].folder, run);
  EXPECT_EQ(full->runs[0].kind, "pipeline (New run)");
  EXPECT_EQ(full->runs[1].folder, correction);
  EXPECT_EQ(full->runs[1].kind, "correction (LREC)");
  EXPECT_EQ(with_source.cards[0].summary.folder, run / "int2") << "what the runs made comes first";
  ASSERT_EQ(with_source.cards[0].runs.size(), 1u) << "the correction's student";
  EXPECT_EQ(with_source.cards[0].runs[0].folder, correction);

  // The correction deleted: the fine-tune alone would chat wrongly, so it is no longer offered.
  fs::remove_all(run / "lrec" / "adapter");
  fs::remove_all(root / "models" / "full");
  const ModelLibrary after = scan_model_library({root / "models"}, {run});
  ASSERT_EQ(after.cards.size(), 1u);
  EXPECT_EQ(after.cards[0].adapter_stacks(), std::vector<std::vector<fs::path>>{{}});
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
