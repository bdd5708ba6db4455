#include "core/train/run_status.h"
#include "core/util/json_limits.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>

#include "core/system/process.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kFileName = "run_state.json";
constexpr RunState kStates[] = {RunState::Running, RunState::Stopped, RunState::Finished, RunState::Failed};

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

const char* run_state_name(RunState state) {
  switch (state) {
    case RunState::Running: return "running";
    case RunState::Stopped: return "stopped";
    case RunState::Finished: return "finished";
    case RunState::Failed: return "failed";
  }
  return "failed";
}

void write_run_status(const fs::path& run_dir, const RunStatus& status) {
  const json record = {{"state", run_state_name(status.state)}, {"pid", status.pid}, {"message", status.message},
                       {"updated_unix_s", status.updated_unix_s}};
  write_text_file_atomically(run_dir / kFileName, record.dump(2) + "\n");
}

std::optional<RunStatus> read_run_status(const fs::path& run_dir) {
  const json record = util::read_json_file_or_none(run_dir / kFileName, util::kConfigJsonLimits).value_or(nullptr);
  if (!record.is_object() || !record.contains("state") || !record["state"].is_string()) return std::nullopt;
  RunStatus status;
  const std::string state = record["state"].get<std::string>();
  bool known = false;
  for (RunState candidate : kStates) {
    if (state == run_state_name(candidate)) {
      status.state = candidate;
      known = true;
    }
  }
  if (!known) return std::nullopt;
  status.pid = record.value("pid", int64_t{0});
  status.message = record.value("message", std::string());
  status.updated_unix_s = record.value("updated_unix_s", int64_t{0});
  return status;
}

std::optional<RunStatus> inspect_run_status(const fs::path& run_dir) {
  std::optional<RunStatus> status = read_run_status(run_dir);
  if (!status && fs::exists(run_dir / "adapter" / "adapter_model.safetensors")) {
    status = RunStatus{RunState::Finished, 0, "", 0, false};  // a run from before run_state.json that finished
  }
  // Saving the adapter is a run's last act; a process killed between it and its last state write still finished.
  // The app, `lowbit runs` and `lowbit resume` all read it so.
  if (status && status->state == RunState::Running && !system::process_is_alive(status->pid) &&
      fs::exists(run_dir / "adapter" / "adapter_model.safetensors")) {
    status = RunStatus{RunState::Finished, status->pid, "", status->updated_unix_s, false};
  }
  if (status && status->state == RunState::Running && !system::process_is_alive(status->pid)) {
    status->state = RunState::Failed;
    status->crashed = true;
    status->message = "the run ended without a word (its process " + std::to_string(status->pid) +
                      " is gone: it crashed, was killed, or the computer stopped); resume it from its last checkpoint";
  }
  return status;
}

void run_with_status(const fs::path& run_dir, const std::function<void()>& body) {
  const int64_t pid = system::current_process_id();
  auto record = [&](RunState state, std::string message) {
    write_run_status(run_dir, {state, pid, std::move(message), unix_seconds_now()});
  };
  record(RunState::Running, {});
  try {
    body();
  } catch (const Cancelled&) {
    record(RunState::Stopped, {});
    throw;
  } catch (const std::exception& e) {
    try {
      record(RunState::Failed, e.what());
    } catch (const std::exception&) {
      // The original error matters more than a status file that could not be written (a full disk, say).
    }
    throw;
  }
  record(RunState::Finished, {});
}

std::vector<int64_t> checkpoint_steps(const std::filesystem::path& run_dir) {
  namespace fs = std::filesystem;
  std::vector<int64_t> steps;
  std::error_code error;
  if (!fs::is_directory(run_dir / "checkpoints", error)) return steps;
  for (fs::directory_iterator it(run_dir / "checkpoints", error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    const std::string digits = name.rfind("step-", 0) == 0 ? name.substr(5) : std::string();
    // A folder still being written is "step-N.partial"; a complete one has its trainer_state.json. Anything else
    // ("step-abc", a copy made by hand) is not a checkpoint of this run.
    const bool numbered = !digits.empty() && digits.size() <= 15 &&
                          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numbered && fs::exists(it->path() / "trainer_state.json")) steps.push_back(std::stoll(digits));
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

int64_t latest_checkpoint_step(const std::filesystem::path& run_dir) {
  const std::vector<int64_t> steps = checkpoint_steps(run_dir);
  return steps.empty() ? -1 : steps.back();
}

}  // namespace lowbit::train
