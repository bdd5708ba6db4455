#include "core/util/atomic_file.h"

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <ostream>
#include <system_error>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "core/util/errors.h"
#include "core/util/folder_lock.h"

namespace lowbit {
namespace {

std::string os_error_text(int error_number) {
  if (error_number == 0) return "no reason given by the operating system";
  return std::generic_category().message(error_number);
}

std::string disk_remedy() { return "the disk may be full or the folder not writable"; }

// Removes the temporary file on every way out except a successful rename.
class TemporaryFileGuard {
 public:
  explicit TemporaryFileGuard(std::filesystem::path path) : path_(std::move(path)) {}
  TemporaryFileGuard(const TemporaryFileGuard&) = delete;
  TemporaryFileGuard& operator=(const TemporaryFileGuard&) = delete;
  ~TemporaryFileGuard() {
    if (armed_) {
      std::error_code ignored;
      std::filesystem::remove(path_, ignored);
    }
  }
  void release() { armed_ = false; }

 private:
  std::filesystem::path path_;
  bool armed_ = true;
};

#ifndef _WIN32
// std::ofstream cannot fsync, so the closed file is reopened for it; fsync acts on the file, not the descriptor.
void sync_file_to_disk(const std::filesystem::path& temporary, const std::filesystem::path& target) {
  const int fd = ::open(temporary.c_str(), O_WRONLY);
  if (fd < 0) {
    throw ResourceError("writing " + target.string() + ": cannot reopen " + temporary.string() +
                        " to sync it: " + os_error_text(errno));
  }
  const int sync_result = ::fsync(fd);
  const int sync_errno = errno;
  ::close(fd);
  if (sync_result != 0) {
    throw ResourceError("writing " + target.string() + ": syncing " + temporary.string() +
                        " to disk failed: " + os_error_text(sync_errno) + "; " + disk_remedy());
  }
}

// Makes the rename itself durable. Best effort: some file systems cannot sync a directory, and the data is safe.
void sync_folder_to_disk(const std::filesystem::path& file) {
  std::filesystem::path folder = file.parent_path();
  if (folder.empty()) folder = ".";
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}
#endif

}  // namespace

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  TemporaryFileGuard guard(temporary);
  {
    errno = 0;
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw ResourceError("cannot write " + path.string() + ": creating " + temporary.string() +
                          " failed: " + os_error_text(errno) + " (does the folder exist and is it writable?)");
    }
    errno = 0;
    write(out);
    // The first failing write(2) sets errno (ENOSPC for a full disk); later stream calls may clear it.
    const int write_errno = errno;
    if (!out) {
      throw ResourceError("writing " + path.string() + " failed: " + os_error_text(write_errno) + "; " + disk_remedy());
    }
    errno = 0;
    out.flush();
    if (!out) {
      throw ResourceError("writing " + path.string() + " failed: " + os_error_text(errno) + "; " + disk_remedy());
    }
    errno = 0;
    out.close();
    if (!out) {
      throw ResourceError("writing " + path.string() + " failed when closing " + temporary.string() + ": " +
                          os_error_text(errno) + "; " + disk_remedy());
    }
  }
#ifndef _WIN32
  sync_file_to_disk(temporary, path);
#endif
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    throw ResourceError("cannot replace " + path.string() + " with " + temporary.string() + ": " + error.message());
  }
  guard.release();
#ifndef _WIN32
  sync_folder_to_disk(path);
#endif
}

void write_text_file_atomically(const std::filesystem::path& path, const std::string& text) {
  write_file_atomically(path,
                        [&](std::ostream& out) { out.write(text.data(), static_cast<std::streamsize>(text.size())); });
}

void check_output_folder_writable(const std::filesystem::path& out) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::path existing = fs::absolute(out, error).parent_path();
  while (!existing.empty() && !fs::exists(existing, error) && existing != existing.parent_path()) {
    existing = existing.parent_path();
  }
  if (!fs::is_directory(existing, error)) {
    throw InputError(out.string(), "cannot be created: " + existing.string() + " is a file, not a folder",
                     "choose an output folder inside a folder");
  }
  const fs::path probe =
      existing / (".lowbit-write-test-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  errno = 0;
  std::ofstream test(probe, std::ios::binary | std::ios::trunc);
  const int open_errno = errno;
  if (!test) {
    throw InputError(out.string(),
                     "cannot be written: " + existing.string() + " does not let this program create files there (" +
                         os_error_text(open_errno) + ")",
                     "choose a folder you can write to, on a disk that is not read-only");
  }
  test.close();
  fs::remove(probe, error);
}

void write_directory_atomically(const std::filesystem::path& dir,
                                const std::function<void(const std::filesystem::path&)>& fill,
                                ExistingFolder existing, const FolderLock* claimed) {
  namespace fs = std::filesystem;
  const fs::path partial = fs::path(dir.string() + ".partial");
  std::optional<FolderLock> lock;
  if (claimed == nullptr) lock.emplace(FolderLock::acquire(partial, "the folder " + dir.filename().string()));
  std::error_code ignored;
  for (const auto& left_by_a_crash : fs::directory_iterator(partial)) {
    if (left_by_a_crash.path().filename() != kFolderLockFileName) fs::remove_all(left_by_a_crash.path());
  }
  try {
    fill(partial);
    if (existing == ExistingFolder::Refuse && fs::exists(dir) && !fs::is_empty(dir)) {
      throw InputError(dir.string(), "appeared while this job was writing it (another process made it)",
                       "keep that folder or delete it, then run again with another output folder");
    }
    fs::remove_all(dir);
    fs::rename(partial, dir);
  } catch (...) {
    fs::remove_all(partial, ignored);
    throw;
  }
  // After the rename the lock file is inside <dir>; the lock itself stays held until `lock` closes it.
  fs::remove(dir / kFolderLockFileName, ignored);
}

ClaimedPartialFolder::ClaimedPartialFolder(const std::filesystem::path& dir)
    : partial_(dir.string() + ".partial"), lock_(FolderLock::acquire(partial_, "the folder " + dir.filename().string())) {}

ClaimedPartialFolder::~ClaimedPartialFolder() {
  std::error_code ignored;
  std::filesystem::remove_all(partial_, ignored);  // before lock_ is released: no one else can own it yet
}

}  // namespace lowbit
