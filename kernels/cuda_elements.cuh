// Loads and stores of the activation element types in float, for kernels templated on the element type, and the
// dispatch from ElementType / bit width to those templates.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/gptq_dequantize.h"

namespace lowbit::kernels::cuda {

__device__ inline float to_float(float v) { return v; }
__device__ inline float to_float(__half v) { return __half2float(v); }
__device__ inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ inline T from_float(float v);
template <>
__device__ inline float from_float<float>(float v) { return v; }
template <>
__device__ inline __half from_float<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Calls f(T{}) with T the CUDA type of `type`.
template <typename F>
auto with_element_type(ElementType type, F&& f) {
  switch (type) {
    case ElementType::Float16: return f(__half{});
    case ElementType::BFloat16: return f(__nv_bfloat16{});
    case ElementType::Float32: break;
  }
  return f(float{});
}

template <int Bits>
struct BitsTag {
  static constexpr int value = Bits;
};

// Calls f(BitsTag<bits>{}) for a supported width (validate() has checked it).
template <typename F>
auto with_bits(int bits, F&& f) {
  switch (bits) {
    case 2: return f(BitsTag<2>{});
    case 3: return f(BitsTag<3>{});
    case 4: return f(BitsTag<4>{});
    default: break;
  }
  return f(BitsTag<8>{});
}

}  // namespace lowbit::kernels::cuda
