#include "core/model/gguf_dequantize.h"

#include <cstring>

#include "core/util/errors.h"

namespace lowbit::model {

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000 | (mantissa << 13);  // inf / nan
  } else if (exponent != 0) {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalize it; every one is a normal float32.
    int e = -1;
    do {
      ++e;
      mantissa <<= 1;
    } while ((mantissa & 0x400) == 0);
    bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mantissa & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs = bits & 0x7FFFFFFF;
  if (abs >= 0x7F800000) return static_cast<uint16_t>(sign | 0x7C00 | (abs > 0x7F800000 ? 0x200 : 0));  // inf/nan
  if (abs >= 0x477FF000) return static_cast<uint16_t>(sign | 0x7C00);  // ≥ 65520 rounds past the largest half
  if (abs < 0x33000001) return sign;  // ≤ 2^-25 rounds to zero (ties to even: exactly 2^-25 goes to 0)
  int32_t exponent = static_cast<int32_t>(abs >> 23) - 127;
  uint32_t mantissa = (abs & 0x7FFFFF) | 0x800000;  // with the implicit bit
  int shift;
  uint32_t half_exponent;
  if (exponent < -14) {
    shift = 13 + (-14 - exponent);  // subnormal half
    half_exponent = 0;
  } else {
    shift = 13;
    half_exponent = static_cast<uint32_t>(exponent + 15);
    mantissa &= 0x7FFFFF;
  }
  uint32_t result = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (result & 1))) ++result;  // round to nearest even
  // A carry out of the mantissa moves into the exponent field, which is exactly the right next value.
  return static_cast<uint16_t>(sign | ((half_exponent << 10) + result));
}

float bf16_to_fp32(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

template <typename Block>
Block load_block(const uint8_t* src, int64_t index) {
  Block block;
  std::memcpy(&block, src + index * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
  return block;
}

uint32_t load_u32_le(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

void dequantize_q4_0(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const BlockQ4_0 x = load_block<BlockQ4_0>(src, i);
    const float d = fp16_to_fp32(x.d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int x0 = (x.qs[j] & 0x0F) - 8;
      const int x1 = (x.qs[j] >> 4) - 8;
      y[i * kQK + j] = static_cast<float>(x0) * d;
      y[i * kQK + j + kQK / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_q4_1(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const BlockQ4_1 x = load_block<BlockQ4_1>(src, i);
    const float d = fp16_to_fp32(x.d);
    const float m = fp16_to_fp32(x.m);
    for (int j = 0; j < kQK / 2; ++j) {
      const int x0 = x.qs[j] & 0x0F;
      const int x1 = x.qs[j] >> 4;
      y[i * kQK + j] = static_cast<float>(x0) * d + m;
      y[i * kQK + j + kQK / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_q5_0(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const BlockQ5_0 x = load_block<BlockQ5_0>(src, i);
    const float d = fp16_to_fp32(x.d);
    const uint32_t qh = load_u32_le(x.qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t xh_0 = static_cast<uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
      const uint8_t xh_1 = static_cast<uint8_t>((qh >> (j + 12)) & 0x10);
      const int32_t x0 = ((x.qs[j] & 0x0F) | xh_0) - 16;
      const int32_t x1 = ((x.qs[j] >> 4) | xh_1) - 16;
      y[i * kQK + j] = static_cast<float>(x0) * d;
      y[i * kQK + j + kQK / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_q5_1(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const BlockQ5_1 x = load_block<BlockQ5_1>(src, i);
    const float d = fp16_to_fp32(x.d);
    const float m = fp16_to_fp32(x.m);
    const uint32_t qh = load_u32_le(x.qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t xh_0 = static_cast<uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
      const uint8_t xh_1 = static_cast<uint8_t>((qh >> (j + 12)) & 0x10);
      const int x0 = (x.qs[j] & 0x0F) | xh_0;
      const int x1 = (x.qs[j] >> 4) | xh_1;
      y[i * kQK + j] = static_cast<float>(x0) * d + m;
      y[i * kQK + j + kQK / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_q8_0(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const BlockQ8_0 x = load_block<BlockQ8_0>(src, i);
    const float d = fp16_to_fp32(x.d);
    for (int j = 0; j < kQK; ++j) y[i * kQK + j] = static_cast<float>(x.qs[j]) * d;
  }
}

void dequantize_q2_k(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ2_K x = load_block<BlockQ2_K>(src, i);
    const float d = fp16_to_fp32(x.d);
    const float min = fp16_to_fp32(x.dmin);
    const uint8_t* q = x.qs;
    int is = 0;
    for (int half = 0; half < kQK_K; half += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        for (int part = 0; part < 2; ++part) {  // two runs of 16 numbers, each with its own scale and min
          const uint8_t sc = x.scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = min * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l)
            *y++ = dl * static_cast<float>(static_cast<int8_t>((q[l + 16 * part] >> shift) & 3)) - ml;
        }
        shift += 2;
      }
      q += 32;
    }
  }
}

void dequantize_q3_k(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ3_K x = load_block<BlockQ3_K>(src, i);
    const float d_all = fp16_to_fp32(x.d);
    // 16 six-bit scales: low 4 bits from the nibbles of scales[0..7] (low nibbles first), high 2 bits from
    // scales[8..11], two bits per scale: scale j takes bits 2·(j/4) of scales[8 + j%4].
    int8_t scales[16];
    for (int j = 0; j < 16; ++j) {
      const int low = j < 8 ? (x.scales[j] & 0xF) : (x.scales[j - 8] >> 4);
      const int high = (x.scales[8 + j % 4] >> (2 * (j / 4))) & 3;
      scales[j] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
    const uint8_t* q = x.qs;
    const uint8_t* hm = x.hmask;
    uint8_t m = 1;
    int is = 0;
    for (int half = 0; half < kQK_K; half += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        for (int part = 0; part < 2; ++part) {
          const float dl = d_all * static_cast<float>(scales[is++]);
          for (int l = 16 * part; l < 16 * part + 16; ++l)
            *y++ = dl * static_cast<float>(static_cast<int8_t>((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
        }
        shift += 2;
        m = static_cast<uint8_t>(m << 1);
      }
      q += 32;
    }
  }
}

// Scale and min j (0..7) of a Q4_K/Q5_K block: 6 bits each, packed in 12 bytes.
void scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

void dequantize_q4_k(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ4_K x = load_block<BlockQ4_K>(src, i);
    const float d = fp16_to_fp32(x.d);
    const float min = fp16_to_fp32(x.dmin);
    const uint8_t* q = x.qs;
    int is = 0;
    uint8_t sc, m;
    for (int j = 0; j < kQK_K; j += 64) {
      scale_min_k4(is + 0, x.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = min * static_cast<float>(m);
      scale_min_k4(is + 1, x.scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc);
      const float m2 = min * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      q += 32;
      is += 2;
    }
  }
}

void dequantize_q5_k(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ5_K x = load_block<BlockQ5_K>(src, i);
    const float d = fp16_to_fp32(x.d);
    const float min = fp16_to_fp32(x.dmin);
    const uint8_t* ql = x.qs;
    const uint8_t* qh = x.qh;
    int is = 0;
    uint8_t sc, m;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < kQK_K; j += 64) {
      scale_min_k4(is + 0, x.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = min * static_cast<float>(m);
      scale_min_k4(is + 1, x.scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc);
      const float m2 = min * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

void dequantize_q6_k(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ6_K x = load_block<BlockQ6_K>(src, i);
    const float d = fp16_to_fp32(x.d);
    const uint8_t* ql = x.ql;
    const uint8_t* qh = x.qh;
    const int8_t* sc = x.scales;
    for (int half = 0; half < kQK_K; half += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int8_t q1 = static_cast<int8_t>(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        const int8_t q2 = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        const int8_t q3 = static_cast<int8_t>(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        const int8_t q4 = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        // (d · scale) · q, in llama.cpp's order.
        y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

}  // namespace

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(type));
  if (!info || n % info->block_size != 0)
    throw InternalError("dequantize_row: " + ggml_type_name(static_cast<uint32_t>(type)) + " with " +
                        std::to_string(n) + " numbers");
  switch (type) {
    case GgmlType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case GgmlType::F16:
      for (int64_t k = 0; k < n; ++k) {
        uint16_t h;
        std::memcpy(&h, src + 2 * k, 2);
        dst[k] = fp16_to_fp32(h);
      }
      return;
    case GgmlType::BF16:
      for (int64_t k = 0; k < n; ++k) {
        uint16_t b;
        std::memcpy(&b, src + 2 * k, 2);
        dst[k] = bf16_to_fp32(b);
      }
      return;
    case GgmlType::Q4_0: dequantize_q4_0(src, dst, n); return;
    case GgmlType::Q4_1: dequantize_q4_1(src, dst, n); return;
    case GgmlType::Q5_0: dequantize_q5_0(src, dst, n); return;
    case GgmlType::Q5_1: dequantize_q5_1(src, dst, n); return;
    case GgmlType::Q8_0: dequantize_q8_0(src, dst, n); return;
    case GgmlType::Q2_K: dequantize_q2_k(src, dst, n); return;
    case GgmlType::Q3_K: dequantize_q3_k(src, dst, n); return;
    case GgmlType::Q4_K: dequantize_q4_k(src, dst, n); return;
    case GgmlType::Q5_K: dequantize_q5_k(src, dst, n); return;
    case GgmlType::Q6_K: dequantize_q6_k(src, dst, n); return;
  }
}

}  // namespace lowbit::model
