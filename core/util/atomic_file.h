// Writing files so that a crash, a full disk or a failing writer never leaves a half-written file behind:
// the content goes to "<path>.tmp" in the same folder, is flushed and fsync'ed, and only then renamed over
// <path>. On any failure the temporary file is removed and whatever was at <path> before is untouched.
//
//   write_file_atomically(dir / "model.safetensors", [&](std::ostream& out) { out.write(bytes, size); });
//   write_text_file_atomically(dir / "config.json", config.dump(2));
//
// A stream that goes bad (disk full, folder not writable) is reported as ResourceError naming the path and the
// operating system's reason; an exception thrown by `write` itself propagates unchanged after the cleanup.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

#include "core/util/folder_lock.h"

namespace lowbit {

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

void write_text_file_atomically(const std::filesystem::path& path, const std::string& text);

// Checked before a long job starts, so that it cannot fail only when its result is written: `out` (absent) can be
// created, i.e. its nearest existing ancestor is a folder this process can write in. InputError naming `out` and
// what to do otherwise (a file in the way, a read-only folder or disk).
void check_output_folder_writable(const std::filesystem::path& out);

// What write_directory_atomically does when <dir> exists by the time the partial folder is complete.
enum class ExistingFolder {
  Replace,  // a checkpoint or an adapter the same run wrote before
  Refuse,   // a model: InputError, the other folder kept (another process filled it while this one worked);
            // an empty folder is replaced
};

// The same for a folder: `fill` writes into "<dir>.partial", which then replaces <dir> whole. The partial folder is
// locked (FolderLock) while it is filled, so a second process writing the same <dir> is refused with the first
// one's pid instead of deleting its work; what a crashed writer left in it is cleared first. On failure the partial
// folder is removed and <dir> is left as it was.
// `claimed`: the caller already holds "<dir>.partial" (claim_partial_folder), so it is not locked again.
void write_directory_atomically(const std::filesystem::path& dir,
                                const std::function<void(const std::filesystem::path&)>& fill,
                                ExistingFolder existing = ExistingFolder::Replace, const FolderLock* claimed = nullptr);

// "<dir>.partial", locked for this process from the start of a long job that writes <dir> at its end, so that a
// second process aiming at the same <dir> is refused with this one's pid before either does any work. The partial
// folder is removed when this goes out of scope (after write_directory_atomically it is already gone).
class ClaimedPartialFolder {
 public:
  explicit ClaimedPartialFolder(const std::filesystem::path& dir);
  ~ClaimedPartialFolder();
  ClaimedPartialFolder(const ClaimedPartialFolder&) = delete;
  ClaimedPartialFolder& operator=(const ClaimedPartialFolder&) = delete;
  const FolderLock* lock() const { return &lock_; }

 private:
  std::filesystem::path partial_;
  FolderLock lock_;
};

}  // namespace lowbit
