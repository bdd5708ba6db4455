// y = x·W for ≤ 16 rows straight from the packed layout. The grid is (column tiles of kColumns) × (K slices of
// kSliceValues): a block stages its slice of x (as float) and g_idx in shared memory, each thread walks its
// column's 32-value chunks of the slice (blockDim.y threads share a column and split the chunks), and the block
// writes one partial sum per (row, column) for its slice. A second kernel adds the slices in order, so the result
// is the same on every run, and converts to the activation type.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda_check.cuh"
#include "kernels/cuda_elements.cuh"
#include "kernels/gptq_decode.h"
#include "kernels/gptq_format.h"

namespace lowbit::kernels {
namespace {

constexpr int kColumns = 128;                                         // threads along n per block
constexpr int kSplitK = 2;                                            // threads along k per column
constexpr int kSliceChunks = 8;                                       // 32-value chunks per block
constexpr int kSliceValues = kSliceChunks * gptq::kChunkValues;       // 256 values of k per block

int64_t slices(const GptqLayerView& layer) { return (layer.k_in + kSliceValues - 1) / kSliceValues; }

template <typename T>
__global__ void activations_to_float_kernel(const T* x, int64_t count, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < count) out[i] = cuda::to_float(x[i]);
}

template <int Bits, int MaxRows>
__global__ void __launch_bounds__(kColumns* kSplitK)
    decode_slices_kernel(GptqLayerView layer, const float* x, int rows, float* partials) {
  __shared__ float x_slice[MaxRows][kSliceValues];
  __shared__ int32_t group_slice[kSliceValues];
  __shared__ float other_halves[kSplitK - 1][MaxRows][kColumns];
  const int64_t slice = blockIdx.y;
  const int64_t k_begin = slice * kSliceValues;
  const int slice_values = static_cast<int>(layer.k_in - k_begin < kSliceValues ? layer.k_in - k_begin : kSliceValues);
  const int thread = threadIdx.y * kColumns + threadIdx.x;
  for (int i = thread; i < rows * kSliceValues; i += kColumns * kSplitK) {
    const int m = i / kSliceValues, kk = i % kSliceValues;
    x_slice[m][kk] = kk < slice_values ? x[m * layer.k_in + k_begin + kk] : 0.0f;
  }
  for (int i = thread; i < kSliceValues; i += kColumns * kSplitK) {
    group_slice[i] = i < slice_values ? layer.g_idx[k_begin + i] : 0;
  }
  __syncthreads();

  const int64_t n = blockIdx.x * static_cast<int64_t>(kColumns) + threadIdx.x;
  float sums[MaxRows];
#pragma unroll
  for (int m = 0; m < MaxRows; ++m) sums[m] = 0.0f;
  if (n < layer.n_out) {
    int current_group = -1;
    float scale = 0.0f, zero = 0.0f;
    const int slice_chunks = slice_values / gptq::kChunkValues;
    for (int c = threadIdx.y; c < slice_chunks; c += kSplitK) {
      uint32_t codes[gptq::kChunkValues];
      gptq::unpack_chunk<Bits>(layer.qweight, layer.n_out, k_begin / gptq::kChunkValues + c, n, codes);
#pragma unroll
      for (int i = 0; i < gptq::kChunkValues; ++i) {
        const int kk = c * gptq::kChunkValues + i;
        const int group = group_slice[kk];
        if (group != current_group) {  // the same k for every thread of the warp: no divergence
          scale = gptq::half_bits_to_float(layer.scales[group * layer.n_out + n]);
          zero = static_cast<float>(gptq::zero_point(layer.qzeros, layer.n_out, group, n, Bits, layer.zero_offset));
          current_group = group;
        }
        const float weight = scale * (static_cast<float>(codes[i]) - zero);
#pragma unroll
        for (int m = 0; m < MaxRows; ++m) {
          if (m < rows) sums[m] += x_slice[m][kk] * weight;
        }
      }
    }
  }
  if (threadIdx.y > 0) {
#pragma unroll
    for (int m = 0; m < MaxRows; ++m) other_halves[threadIdx.y - 1][m][threadIdx.x] = sums[m];
  }
  __syncthreads();
  if (threadIdx.y != 0 || n >= layer.n_out) return;
#pragma unroll
  for (int m = 0; m < MaxRows; ++m) {
    if (m >= rows) break;
    float sum = sums[m];
    for (int h = 0; h < kSplitK - 1; ++h) sum += other_halves[h][m][threadIdx.x];
    partials[(slice * rows + m) * layer.n_out + n] = sum;
  }
}

template <typename T>
__global__ void sum_slices_kernel(const float* partials, int64_t slice_count, int64_t outputs, T* y) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= outputs) return;
  float sum = 0.0f;
  for (int64_t s = 0; s < slice_count; ++s) sum += partials[s * outputs + i];
  y[i] = cuda::from_float<T>(sum);
}

template <int MaxRows>
void launch_decode(const GptqLayerView& layer, const float* x, int rows, float* partials, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((layer.n_out + kColumns - 1) / kColumns), static_cast<unsigned>(slices(layer)));
  const dim3 block(kColumns, kSplitK);
  cuda::with_bits(layer.bits, [&](auto bits) {
    decode_slices_kernel<decltype(bits)::value, MaxRows><<<grid, block, 0, stream>>>(layer, x, rows, partials);
    return 0;
  });
}

}  // namespace

int64_t gptq_decode_workspace_floats(const GptqLayerView& layer, int64_t rows) {
  return slices(layer) * rows * layer.n_out + rows * layer.k_in;
}

Status gptq_decode_cuda(const GptqLayerView& layer, const void* x, ElementType type, int64_t rows, void* y,
                        float* workspace, CUstream_st* stream) {
  if (const Status status = validate(layer); status != Status::Ok) return status;
  if (rows < 1 || rows > kMaxDecodeRows || layer.k_in % gptq::kChunkValues != 0) return Status::NoKernelForConfig;
  if (slices(layer) > 65535) return Status::UnsupportedShape;  // grid.y limit
  const auto cuda_stream = reinterpret_cast<cudaStream_t>(stream);
  float* partials = workspace;
  float* x_float = workspace + slices(layer) * rows * layer.n_out;
  constexpr int kThreads = 256;
  const int64_t x_count = rows * layer.k_in;
  const int64_t outputs = rows * layer.n_out;
  cuda::with_element_type(type, [&](auto element) {
    using T = decltype(element);
    activations_to_float_kernel<T><<<static_cast<unsigned>((x_count + kThreads - 1) / kThreads), kThreads, 0,
                                     cuda_stream>>>(static_cast<const T*>(x), x_count, x_float);
    return 0;
  });
  const int row_count = static_cast<int>(rows);
  if (rows == 1) launch_decode<1>(layer, x_float, row_count, partials, cuda_stream);
  else if (rows <= 4) launch_decode<4>(layer, x_float, row_count, partials, cuda_stream);
  else if (rows <= 8) launch_decode<8>(layer, x_float, row_count, partials, cuda_stream);
  else launch_decode<16>(layer, x_float, row_count, partials, cuda_stream);
  cuda::with_element_type(type, [&](auto element) {
    using T = decltype(element);
    sum_slices_kernel<T><<<static_cast<unsigned>((outputs + kThreads - 1) / kThreads), kThreads, 0, cuda_stream>>>(
        partials, slices(layer), outputs, static_cast<T*>(y));
    return 0;
  });
  return record_launch(cudaGetLastError());
}

}  // namespace lowbit::kernels
