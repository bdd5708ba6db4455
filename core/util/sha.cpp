#include "core/util/sha.h"

#include <cstring>
#include <fstream>
#include <vector>

#include "core/util/errors.h"

namespace lowbit {
namespace {

uint32_t rotate_right(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
uint32_t rotate_left(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
uint32_t load_big_endian(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

template <size_t N>
std::string hex_of(const std::array<uint32_t, N>& words) {
  static const char* const digits = "0123456789abcdef";
  std::string hex;
  for (uint32_t word : words) {
    for (int shift = 28; shift >= 0; shift -= 4) hex += digits[(word >> shift) & 0xf];
  }
  return hex;
}

// Both hashes pad the same way: 0x80, zeros, then the message length in bits, big-endian, filling the last block.
template <class Hash>
void pad(Hash& hash, uint64_t total_bytes) {
  const uint64_t bits = total_bytes * 8;
  const uint8_t one = 0x80;
  hash.update(&one, 1);
  const uint8_t zero = 0;
  while ((total_bytes + 1) % 64 != 56) {
    hash.update(&zero, 1);
    ++total_bytes;
  }
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  hash.update(length, 8);
}

template <class Hash>
void feed(Hash& hash, std::array<uint8_t, 64>& buffer, size_t& buffered, const void* data, size_t size,
          void (Hash::*compress)(const uint8_t*)) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  while (size > 0) {
    if (buffered == 0 && size >= 64) {
      (hash.*compress)(bytes);
      bytes += 64;
      size -= 64;
      continue;
    }
    const size_t taken = std::min(size, 64 - buffered);
    std::memcpy(buffer.data() + buffered, bytes, taken);
    buffered += taken;
    bytes += taken;
    size -= taken;
    if (buffered == 64) {
      (hash.*compress)(buffer.data());
      buffered = 0;
    }
  }
}

constexpr uint32_t kSha256RoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

template <class Hash>
std::string hash_file(const std::filesystem::path& file, Hash& hash) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string(), "cannot be read", "check that it exists and that you may read it");
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    hash.update(chunk.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw InputError(file.string(), "could not be read to the end", "check the disk");
  return hash.hex_digest();
}

}  // namespace

Sha256::Sha256()
    : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

void Sha256::update(const void* data, size_t size) {
  total_bytes_ += size;
  feed(*this, buffer_, buffered_, data, size, &Sha256::compress);
}

void Sha256::compress(const uint8_t* block) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) w[i] = load_big_endian(block + 4 * i);
  for (int i = 16; i < 64; ++i) {
    const uint32_t s0 = rotate_right(w[i - 15], 7) ^ rotate_right(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = rotate_right(w[i - 2], 17) ^ rotate_right(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3], e = state_[4], f = state_[5], g = state_[6],
           h = state_[7];
  for (int i = 0; i < 64; ++i) {
    const uint32_t t1 = h + (rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25)) + ((e & f) ^ (~e & g)) +
                        kSha256RoundConstants[i] + w[i];
    const uint32_t t2 = (rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
  state_[5] += f;
  state_[6] += g;
  state_[7] += h;
}

std::string Sha256::hex_digest() {
  pad(*this, total_bytes_);
  return hex_of(state_);
}

Sha1::Sha1() : state_{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0} {}

void Sha1::update(const void* data, size_t size) {
  total_bytes_ += size;
  feed(*this, buffer_, buffered_, data, size, &Sha1::compress);
}

void Sha1::compress(const uint8_t* block) {
  uint32_t w[80];
  for (int i = 0; i < 16; ++i) w[i] = load_big_endian(block + 4 * i);
  for (int i = 16; i < 80; ++i) w[i] = rotate_left(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3], e = state_[4];
  for (int i = 0; i < 80; ++i) {
    uint32_t f = 0, k = 0;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const uint32_t t = rotate_left(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rotate_left(b, 30);
    b = a;
    a = t;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
}

std::string Sha1::hex_digest() {
  pad(*this, total_bytes_);
  return hex_of(state_);
}

std::string file_sha256(const std::filesystem::path& file) {
  Sha256 hash;
  return hash_file(file, hash);
}

std::string file_git_blob_sha1(const std::filesystem::path& file) {
  Sha1 hash;
  const std::string header = "blob " + std::to_string(std::filesystem::file_size(file)) + std::string(1, '\0');
  hash.update(header.data(), header.size());
  return hash_file(file, hash);
}

}  // namespace lowbit
