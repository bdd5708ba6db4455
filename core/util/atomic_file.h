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

namespace lowbit {

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

void write_text_file_atomically(const std::filesystem::path& path, const std::string& text);

// What write_directory_atomically does when <dir> exists by the time the partial folder is complete.
enum class ExistingFolder {
  Replace,  // a checkpoint or an adapter the same run wrote before
  Refuse,   // a model: InputError, the other folder kept (another process made it while this one worked)
};

// The same for a folder: `fill` writes into "<dir>.partial", which then replaces <dir> whole. The partial folder is
// locked (FolderLock) while it is filled, so a second process writing the same <dir> is refused with the first
// one's pid instead of deleting its work; what a crashed writer left in it is cleared first. On failure the partial
// folder is removed and <dir> is left as it was.
void write_directory_atomically(const std::filesystem::path& dir,
                                const std::function<void(const std::filesystem::path&)>& fill,
                                ExistingFolder existing = ExistingFolder::Replace);

}  // namespace lowbit
