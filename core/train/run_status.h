// What a run folder says about its run: running (and in which process), stopped, finished or failed (and why),
// in <run>/run_state.json, rewritten whole at each change. The LREC and EMEF jobs keep it; the app reads it to
// show a run after a restart — still going in another process (a `lowbit` command in a terminal), stopped and
// resumable, finished, failed with its message, or crashed: "running" left behind by a process that is gone.
//
//   run_with_status(run_dir, [&] { train(); });          // Running, then Finished / Stopped / Failed
//   RunStatus status = inspect_run_status(run_dir);       // Running only if its process is alive
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::train {

enum class RunState { Running, Stopped, Finished, Failed };
const char* run_state_name(RunState state);  // "running", "stopped", "finished", "failed"

struct RunStatus {
  RunState state = RunState::Running;
  int64_t pid = 0;          // the process that wrote it
  std::string message;      // why it failed; empty otherwise
  int64_t updated_unix_s = 0;
  bool crashed = false;     // set by inspect_run_status: "running" written by a process that is gone
};

void write_run_status(const std::filesystem::path& run_dir, const RunStatus& status);
// Absent or unreadable file: nullopt (runs from before this file existed have none).
std::optional<RunStatus> read_run_status(const std::filesystem::path& run_dir);

// The status as it stands now: a "running" whose process is gone becomes Failed with a message that says the
// run ended without a word (crashed, killed or the machine went down) and that it resumes from its checkpoint.
// A folder without run_state.json (made before it existed) reads as Finished when its final adapter is saved,
// and as nullopt otherwise: stopped or failed, nobody can tell which.
std::optional<RunStatus> inspect_run_status(const std::filesystem::path& run_dir);

// The step of the latest complete checkpoint in <run>/checkpoints (-1 without one).
int64_t latest_checkpoint_step(const std::filesystem::path& run_dir);
// The steps of the run's complete checkpoints, ascending.
std::vector<int64_t> checkpoint_steps(const std::filesystem::path& run_dir);

// Writes Running (this process), runs `body`, then Finished; Stopped when it throws Cancelled, Failed with the
// message for any other exception, which is rethrown.
void run_with_status(const std::filesystem::path& run_dir, const std::function<void()>& body);

}  // namespace lowbit::train
