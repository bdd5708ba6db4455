// A fresh folder under the system's temporary directory, removed with everything in it when the test ends.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace lowbit::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> made{0};
    path_ = std::filesystem::temp_directory_path() /
            ("lowbit-test-" + std::to_string(::getpid()) + "-" + std::to_string(made++) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace lowbit::testing
