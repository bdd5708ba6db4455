// W[k, n] = scales[g_idx[k], n] · (q[k, n] − zero[g_idx[k], n]) into the activation dtype. When K is a multiple of
// 32 each thread unpacks one 32-value chunk of one column (its `bits` words read once, consecutive threads along n
// so reads and writes coalesce); otherwise one thread per element.
#include <cuda_runtime.h>

#include "kernels/cuda_check.cuh"
#include "kernels/cuda_elements.cuh"
#include "kernels/gptq_dequantize.h"
#include "kernels/gptq_format.h"

namespace lowbit::kernels {
namespace {

constexpr int kThreads = 256;

template <int Bits, typename T>
__global__ void dequantize_chunks_kernel(GptqLayerView layer, T* out) {
  const int64_t n = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  if (n >= layer.n_out) return;
  uint32_t codes[gptq::kChunkValues];
  gptq::unpack_chunk<Bits>(layer.qweight, layer.n_out, chunk, n, codes);
  int64_t current_group = -1;
  float scale = 0.0f, zero = 0.0f;
#pragma unroll
  for (int i = 0; i < gptq::kChunkValues; ++i) {
    const int64_t k = chunk * gptq::kChunkValues + i;
    const int64_t group = layer.g_idx[k];
    if (group != current_group) {
      scale = gptq::half_bits_to_float(layer.scales[group * layer.n_out + n]);
      zero = static_cast<float>(gptq::zero_point(layer.qzeros, layer.n_out, group, n, Bits, layer.zero_offset));
      current_group = group;
    }
    out[k * layer.n_out + n] = cuda::from_float<T>(scale * (static_cast<float>(codes[i]) - zero));
  }
}

template <typename T>
__global__ void dequantize_elements_kernel(GptqLayerView layer, T* out) {
  const int64_t n = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t k = blockIdx.y;
  if (n >= layer.n_out) return;
  out[k * layer.n_out + n] = cuda::from_float<T>(gptq::dequantize_value(
      layer.qweight, layer.qzeros, layer.scales, layer.g_idx, layer.n_out, k, n, layer.bits, layer.zero_offset));
}

}  // namespace

Status gptq_dequantize_cuda(const GptqLayerView& layer, void* out, ElementType out_type, CUstream_st* stream) {
  if (const Status status = validate(layer); status != Status::Ok) return status;
  const bool chunked = layer.k_in % gptq::kChunkValues == 0;
  const int64_t grid_y = chunked ? layer.k_in / gptq::kChunkValues : layer.k_in;
  if (grid_y > 65535) return Status::UnsupportedShape;  // grid.y limit
  const dim3 grid(static_cast<unsigned>((layer.n_out + kThreads - 1) / kThreads), static_cast<unsigned>(grid_y));
  const auto cuda_stream = reinterpret_cast<cudaStream_t>(stream);
  cuda::with_element_type(out_type, [&](auto element) {
    using T = decltype(element);
    if (!chunked) {
      dequantize_elements_kernel<T><<<grid, kThreads, 0, cuda_stream>>>(layer, static_cast<T*>(out));
      return 0;
    }
    cuda::with_bits(layer.bits, [&](auto bits) {
      dequantize_chunks_kernel<decltype(bits)::value, T><<<grid, kThreads, 0, cuda_stream>>>(layer, static_cast<T*>(out));
      return 0;
    });
    return 0;
  });
  return record_launch(cudaGetLastError());
}

}  // namespace lowbit::kernels
