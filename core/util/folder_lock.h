// One writer per folder: a run folder (correct, finetune, resume — from the CLI or the app) and every
// "<dir>.partial" a quantization, import or export fills are locked for as long as a process writes them. The lock
// is an advisory lock (flock; LockFileEx on Windows) on the file ".lowbit.lock" inside the folder, which the
// kernel releases when the process ends however it ends: a second writer is refused with the holder's pid, and a
// crashed holder never blocks a later resume.
//
//   const FolderLock lock = FolderLock::acquire(run_dir, "a run");   // InputError if another process holds it
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace lowbit {

inline constexpr const char* kFolderLockFileName = ".lowbit.lock";

class FolderLock {
 public:
  // Creates `dir` if needed and locks it. `what` names the work in the refusal ("a run", "a quantization").
  // Throws InputError naming the folder and the holder's pid when another process holds the lock, ResourceError
  // when the lock file cannot be created (a read-only folder).
  static FolderLock acquire(const std::filesystem::path& dir, const std::string& what);

  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&&) = delete;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock();

 private:
  FolderLock() = default;
  intptr_t handle_ = -1;
};

// True when `dir` holds nothing but, perhaps, its lock file.
bool folder_is_empty_but_for_lock(const std::filesystem::path& dir);

}  // namespace lowbit
