// The GPTQ checkpoint layout (AutoGPTQ / GPTQModel / transformers), written once for host and device code.
//
// A quantized nn.Linear(in=K, out=N) is stored as
//   qweight int32 [K·bits/32, N]   values q[k, n] packed along k (the input dimension)
//   qzeros  int32 [G, N·bits/32]   zero points packed along n; v1 ("gptq") stores zero − 1, v2 the zero
//   scales  fp16  [G, N]   kept as stored: kernels take their bits (uint16_t) and convert per use
//   g_idx   int32 [K]              group of input row k (non-monotone with act-order)
// and dequantizes to W[k, n] = scales[g_idx[k], n] · (q[k, n] − zero[g_idx[k], n]), the transpose of
// nn.Linear.weight.
//
// Packing, for every bit width: the values of one column (qweight) or one row (qzeros) form a bit stream,
// least significant bit first, cut into 32-bit little-endian words. Value i occupies stream bits
// [bits·i, bits·i + bits). For 2, 4 and 8 bits no value crosses a word; for 3 bits, 32 values fill 3 words and
// values 10 and 21 straddle two (AutoGPTQ's "wf" fix-ups describe the same layout):
//
//   word 0: v0 … v9 (3 bits each, bits 0–29) | v10 bits 1:0 (bits 30–31)
//   word 1: v10 bit 2 (bit 0) | v11 … v20 (bits 1–30) | v21 bit 0 (bit 31)
//   word 2: v21 bits 2:1 (bits 0–1) | v22 … v31 (bits 2–31)
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

#if defined(__CUDACC__)
#define LOWBIT_HOST_DEVICE __host__ __device__
#else
#define LOWBIT_HOST_DEVICE
#endif

namespace lowbit::kernels::gptq {

LOWBIT_HOST_DEVICE constexpr uint32_t max_q(int bits) { return (1u << bits) - 1u; }

LOWBIT_HOST_DEVICE constexpr bool supported_bits(int bits) { return bits == 2 || bits == 3 || bits == 4 || bits == 8; }

// Words needed for `count` values: count·bits/32 (the format requires count·bits to be a multiple of 32).
LOWBIT_HOST_DEVICE constexpr int64_t packed_words(int64_t count, int bits) { return count * bits / 32; }

// Value `index` of a bit stream whose consecutive words are `stride` int32s apart.
LOWBIT_HOST_DEVICE inline uint32_t unpack_value(const int32_t* words, int64_t stride, int64_t index, int bits) {
  const int64_t bit = index * bits;
  const int64_t word = bit >> 5;
  const int shift = static_cast<int>(bit & 31);
  uint32_t value = static_cast<uint32_t>(words[word * stride]) >> shift;
  if (shift + bits > 32) value |= static_cast<uint32_t>(words[(word + 1) * stride]) << (32 - shift);
  return value & max_q(bits);
}

// Writes value `index` into a zero-initialised bit stream (the inverse of unpack_value).
LOWBIT_HOST_DEVICE inline void pack_value(int32_t* words, int64_t stride, int64_t index, int bits, uint32_t value) {
  value &= max_q(bits);
  const int64_t bit = index * bits;
  const int64_t word = bit >> 5;
  const int shift = static_cast<int>(bit & 31);
  words[word * stride] = static_cast<int32_t>(static_cast<uint32_t>(words[word * stride]) | (value << shift));
  if (shift + bits > 32) {
    words[(word + 1) * stride] =
        static_cast<int32_t>(static_cast<uint32_t>(words[(word + 1) * stride]) | (value >> (32 - shift)));
  }
}

// An IEEE half (the scales as checkpoints store them) given by its bits, exactly as float. Written out so that
// host code needs no CUDA header; the device uses the hardware conversion.
LOWBIT_HOST_DEVICE inline float half_bits_to_float(uint16_t bits) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(bits));
#else
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0x1fu) {
    out = sign | 0x7f800000u | (mantissa << 13);  // inf, nan
  } else if (exponent != 0) {
    out = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    out = sign;
  } else {  // subnormal: normalise
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    out = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float value;
  std::memcpy(&value, &out, sizeof value);
  return value;
#endif
}

// Zero point of (group, n), the stored value plus zero_offset (1 for v1 checkpoints, "gptq"; 0 for v2).
LOWBIT_HOST_DEVICE inline int zero_point(const int32_t* qzeros, int64_t n_out, int64_t group, int64_t n, int bits,
                                         int zero_offset) {
  return static_cast<int>(unpack_value(qzeros + group * packed_words(n_out, bits), 1, n, bits)) + zero_offset;
}

// W[k, n] of a GPTQ layer.
LOWBIT_HOST_DEVICE inline float dequantize_value(const int32_t* qweight, const int32_t* qzeros,
                                                 const uint16_t* scales, const int32_t* g_idx, int64_t n_out, int64_t k,
                                                 int64_t n, int bits, int zero_offset) {
  const int64_t group = g_idx[k];
  const uint32_t q = unpack_value(qweight + n, n_out, k, bits);
  const int zero = zero_point(qzeros, n_out, group, n, bits, zero_offset);
  return half_bits_to_float(scales[group * n_out + n]) * static_cast<float>(static_cast<int>(q) - zero);
}

// 32 consecutive values along k ("a chunk") occupy exactly `bits` words for every bit width, so a chunk is the unit
// the fused kernels read: chunk c of column n is the words qweight[(c·bits + j)·N + n], j < bits.
constexpr int kChunkValues = 32;

// The 32 codes of chunk `chunk` of column n, in k order.
template <int Bits>
LOWBIT_HOST_DEVICE inline void unpack_chunk(const int32_t* qweight, int64_t n_out, int64_t chunk, int64_t n,
                                            uint32_t (&codes)[kChunkValues]) {
  uint32_t words[Bits];
  for (int j = 0; j < Bits; ++j) words[j] = static_cast<uint32_t>(qweight[(chunk * Bits + j) * n_out + n]);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int i = 0; i < kChunkValues; ++i) {
    const int bit = i * Bits;
    const int word = bit >> 5;
    const int shift = bit & 31;
    uint32_t value = words[word] >> shift;
    if (shift + Bits > 32) value |= words[word + 1] << (32 - shift);
    codes[i] = value & max_q(Bits);
  }
}

}  // namespace lowbit::kernels::gptq
