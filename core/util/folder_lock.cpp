#include "core/util/folder_lock.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#endif

#include "core/util/errors.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

std::string current_pid() {
#ifdef _WIN32
  return std::to_string(GetCurrentProcessId());
#else
  return std::to_string(::getpid());
#endif
}

std::string holder_pid(const fs::path& lock_file) {
  std::ifstream in(lock_file);
  std::string pid;
  in >> pid;
  return pid.empty() || pid.size() > 20 ? "unknown" : pid;
}

[[noreturn]] void refuse(const fs::path& dir, const std::string& what) {
  throw InputError(dir.string(),
                   "is in use: " + what + " is being written there by another LowBit process (pid " +
                       holder_pid(dir / kFolderLockFileName) + ")",
                   "wait for that process to finish, or stop it, then try again; a process that has ended never "
                   "holds the folder");
}

}  // namespace

FolderLock FolderLock::acquire(const fs::path& dir, const std::string& what) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    throw ResourceError("cannot create the folder " + dir.string() + ": " + error.message() +
                        " (choose a folder you can write to)");
  }
  const fs::path lock_file = dir / kFolderLockFileName;
  FolderLock lock;
#ifdef _WIN32
  HANDLE file = CreateFileW(lock_file.wstring().c_str(), GENERIC_READ | GENERIC_WRITE,
                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_ALWAYS,
                            FILE_ATTRIBUTE_HIDDEN, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    throw ResourceError("cannot create " + lock_file.string() + " (error " + std::to_string(GetLastError()) +
                        "; choose a folder you can write to)");
  }
  OVERLAPPED whole{};
  if (!LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, MAXDWORD, MAXDWORD, &whole)) {
    CloseHandle(file);
    refuse(dir, what);
  }
  const std::string pid = current_pid() + "\n";
  SetEndOfFile(file);
  DWORD written = 0;
  WriteFile(file, pid.data(), static_cast<DWORD>(pid.size()), &written, nullptr);
  lock.handle_ = reinterpret_cast<intptr_t>(file);
#else
  const int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw ResourceError("cannot create " + lock_file.string() + ": " + std::strerror(errno) +
                        " (choose a folder you can write to)");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int lock_errno = errno;
    ::close(fd);
    if (lock_errno == EWOULDBLOCK) refuse(dir, what);
    throw ResourceError("cannot lock " + lock_file.string() + ": " + std::strerror(lock_errno));
  }
  // The pid is for the refusal's message only; the lock itself is the kernel's.
  const std::string pid = current_pid() + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // A full disk: the lock holds all the same, only the pid in a refusal will read "unknown".
  }
  lock.handle_ = fd;
#endif
  return lock;
}

FolderLock::FolderLock(FolderLock&& other) noexcept : handle_(other.handle_) { other.handle_ = -1; }

FolderLock::~FolderLock() {
  if (handle_ == -1) return;
#ifdef _WIN32
  CloseHandle(reinterpret_cast<HANDLE>(handle_));
#else
  ::close(static_cast<int>(handle_));
#endif
}

bool folder_is_empty_but_for_lock(const fs::path& dir) {
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().filename() != kFolderLockFileName) return false;
  }
  return true;
}

}  // namespace lowbit
