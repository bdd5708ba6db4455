// Shared by the libFuzzer harnesses: each parser is given the fuzzer's bytes, must either succeed or throw one
// of LowBit's own errors (lowbit::Error: a clear message for the user). Anything else escaping — a crash, a
// sanitizer report, std::bad_alloc, an nlohmann or std::out_of_range exception — is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/util/errors.h"

namespace lowbit::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A folder of this process's own (parsers that open paths are given a real file): under /dev/shm when it exists.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("lowbit-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
  const std::filesystem::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Runs `parse`; lowbit::Error is the expected way to refuse bad input.
template <typename Parse>
void expect_success_or_input_error(Parse&& parse) {
  try {
    parse();
  } catch (const lowbit::Error&) {
  }
}

}  // namespace lowbit::fuzz
