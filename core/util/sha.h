// SHA-1 and SHA-256 (FIPS 180-4), streaming: what the Hugging Face Hub names its files by. An LFS file's id is the
// SHA-256 of its bytes; any other file's is its git blob id, SHA-1("blob <size>\0" + bytes).
//
//   Sha256 hash; hash.update(data, size); ...; std::string hex = hash.hex_digest();
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace lowbit {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::string hex_digest();  // finishes the hash: call once

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

class Sha1 {
 public:
  Sha1();
  void update(const void* data, size_t size);
  std::string hex_digest();  // finishes the hash: call once

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 5> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// The whole file, read in chunks (a 15 GB shard needs no memory); cancel-free because it is disk-bound and short.
std::string file_sha256(const std::filesystem::path& file);
std::string file_git_blob_sha1(const std::filesystem::path& file);

}  // namespace lowbit
