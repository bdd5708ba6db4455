// run_state.json: what a run folder says about its run, and what it means when the process that wrote "running"
// is gone (a crash: the app shows the run as failed and resumable).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/system/process.h"
#include "core/train/run_status.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

class RunStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("lowbit-run-status-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

// The id of a process that has certainly ended: a child that exited and was reaped.
int64_t pid_of_an_ended_process() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

TEST_F(RunStatusTest, EachOutcomeOfTheBodyIsRecorded) {
  EXPECT_FALSE(read_run_status(dir).has_value()) << "a folder without the file has no status";
  run_with_status(dir, [&] {
    const auto during = read_run_status(dir);
    ASSERT_TRUE(during.has_value());
    EXPECT_EQ(during->state, RunState::Running);
    EXPECT_EQ(during->pid, system::current_process_id());
    EXPECT_GT(during->updated_unix_s, 0);
  });
  EXPECT_EQ(read_run_status(dir)->state, RunState::Finished);

  EXPECT_THROW(run_with_status(dir, [] { throw Cancelled(); }), Cancelled);
  EXPECT_EQ(read_run_status(dir)->state, RunState::Stopped);

  EXPECT_THROW(run_with_status(dir, [] { throw InputError("data.json", "is empty", "pick another file"); }), InputError);
  const auto failed = read_run_status(dir);
  EXPECT_EQ(failed->state, RunState::Failed);
  EXPECT_EQ(failed->message, "data.json: is empty (pick another file)");
}

TEST_F(RunStatusTest, RunningLeftBehindByAGoneProcessReadsAsACrash) {
  write_run_status(dir, {RunState::Running, system::current_process_id(), "", 1});
  EXPECT_EQ(inspect_run_status(dir)->state, RunState::Running) << "this process is alive";

  const int64_t gone = pid_of_an_ended_process();
  ASSERT_FALSE(system::process_is_alive(gone));
  write_run_status(dir, {RunState::Running, gone, "", 1});
  const auto crashed = inspect_run_status(dir);
  ASSERT_TRUE(crashed.has_value());
  EXPECT_EQ(crashed->state, RunState::Failed);
  EXPECT_TRUE(crashed->crashed);
  EXPECT_NE(crashed->message.find("ended without a word"), std::string::npos) << crashed->message;
  EXPECT_NE(crashed->message.find("resume it"), std::string::npos) << crashed->message;
  EXPECT_EQ(read_run_status(dir)->state, RunState::Running) << "inspecting never rewrites the file";
}

TEST_F(RunStatusTest, AFolderFromBeforeRunStateIsFinishedOnlyWithItsAdapter) {
  EXPECT_FALSE(inspect_run_status(dir).has_value()) << "no file, no adapter: stopped or failed, unknown which";
  fs::create_directories(dir / "adapter");
  std::ofstream(dir / "adapter" / "adapter_model.safetensors") << "x";
  const auto status = inspect_run_status(dir);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, RunState::Finished);
  EXPECT_FALSE(read_run_status(dir).has_value()) << "inspecting never writes the file";
}

// Killed between saving its adapter (a run's last act) and writing "finished": the app reads it as `lowbit resume`
// does (which refuses a folder with an adapter as finished), not as a crash.
TEST_F(RunStatusTest, AdapterSavedMeansFinishedWhateverTheStateFileSays) {
  const int64_t gone = pid_of_an_ended_process();
  write_run_status(dir, {RunState::Running, gone, "", 1});
  fs::create_directories(dir / "adapter");
  std::ofstream(dir / "adapter" / "adapter_model.safetensors") << "x";
  const auto status = inspect_run_status(dir);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, RunState::Finished);
  EXPECT_FALSE(status->crashed);
}

TEST_F(RunStatusTest, AnUnreadableFileIsNoStatusRatherThanAnError) {
  std::ofstream(dir / "run_state.json") << "{\"state\": \"runn";
  EXPECT_FALSE(read_run_status(dir).has_value());
  std::ofstream(dir / "run_state.json") << "{\"state\": \"dancing\", \"pid\": 1}";
  EXPECT_FALSE(read_run_status(dir).has_value());
}

}  // namespace
}  // namespace lowbit::train
