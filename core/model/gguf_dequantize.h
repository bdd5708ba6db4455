// The ggml block formats LowBit imports, and their dequantization to float32, exactly as llama.cpp's
// ggml-quants.c dequantize_row_* define it (same formulas, same order of float operations, so F32 results are
// bit-identical to llama.cpp's and to gguf-py's, which transformers' GGUF loader uses).
//
//   std::vector<float> row(n);
//   dequantize_row(GgmlType::Q4_K, raw_bytes_of_row, row.data(), n);   // n: a multiple of the block size
//
// Each block holds block_size numbers; "d" is a float16 scale, "m"/"dmin" a float16 offset. Value of number j:
//   Q8_0  d·q            q int8                     Q4_0  d·(q−8)        q 4 bit
//   Q4_1  d·q + m        q 4 bit                    Q5_0  d·(q−16)       q 5 bit (4 low bits in qs, 1 in qh)
//   Q5_1  d·q + m        q 5 bit
// K-quants: 256 numbers in 16 (Q2_K, Q3_K, Q6_K) or 8 (Q4_K, Q5_K) sub-blocks, each with its own 4-, 6- or 8-bit
// scale (and min) multiplied by the block's d (and dmin):
//   Q2_K  d·sc·q − dmin·m   q 2 bit, sc/m 4 bit     Q3_K  d·(sc−32)·(q − 4·!hbit)  q 2+1 bit, sc 6 bit
//   Q4_K  d·sc·q − dmin·m   q 4 bit, sc/m 6 bit     Q5_K  d·sc·q − dmin·m          q 4+1 bit, sc/m 6 bit
//   Q6_K  d·sc·(q−32)       q 4+2 bit, sc int8
#pragma once

#include <cstdint>

#include "core/model/gguf_file.h"

namespace lowbit::model {

constexpr int kQK = 32;    // numbers per block of the Q4_0..Q8_0 formats
constexpr int kQK_K = 256;  // numbers per K-quant super-block
constexpr int kKScaleSize = 12;

// Byte layouts (ggml-common.h). uint16_t fields hold IEEE float16 bits.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];  // number j in the low nibble of qs[j], number j+16 in the high nibble
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // bit j: the 5th bit of number j (little-endian u32)
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // low nibble scale, high nibble min, per 16 numbers
  uint8_t qs[kQK_K / 4];
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];  // 16 scales of 6 bits
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[kKScaleSize];  // 8 scales and 8 mins of 6 bits
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block size");
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block size");
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block size");
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block size");
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block size");
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block size");
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K block size");
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block size");
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block size");
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block size");

// IEEE half and bfloat16 conversions. fp16_to_fp32 is exact; fp32_to_fp16 rounds to nearest even and gives ±inf
// above the float16 range (|x| ≥ 65520), which callers check for.
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t b);
constexpr float kFp16Max = 65504.0f;

// Dequantizes n numbers (a multiple of the type's block size) from src (n / block_size blocks) into dst.
// For F32/F16/BF16 it converts. The bytes may be unaligned: blocks are copied before use.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);

}  // namespace lowbit::model
