// W[k, n] = scales[g_idx[k], n] · (q[k, n] − zero[g_idx[k], n]): one thread per output element, consecutive
// threads along n so that qweight/scales reads coalesce.
#include <cuda_runtime.h>

#include "kernels/gptq_dequantize.h"
#include "kernels/gptq_format.h"

namespace lowbit::kernels {
namespace {

__global__ void gptq_dequantize_kernel(GptqLayerView layer, float* out) {
  const int64_t n = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t k = blockIdx.y;
  if (n >= layer.n_out) return;
  out[k * layer.n_out + n] = gptq::dequantize_value(layer.qweight, layer.qzeros, layer.scales, layer.g_idx,
                                                    layer.n_out, k, n, layer.bits, layer.zero_offset);
}

}  // namespace

Status gptq_dequantize_cuda(const GptqLayerView& layer, float* out, CUstream_st* stream) {
  if (const Status status = validate(layer); status != Status::Ok) return status;
  if (layer.k_in > 65535) return Status::UnsupportedShape;  // grid.y limit
  constexpr int kThreads = 256;
  const dim3 grid(static_cast<unsigned>((layer.n_out + kThreads - 1) / kThreads), static_cast<unsigned>(layer.k_in));
  gptq_dequantize_kernel<<<grid, kThreads, 0, reinterpret_cast<cudaStream_t>(stream)>>>(layer, out);
  return cudaGetLastError() == cudaSuccess ? Status::Ok : Status::CudaError;
}

}  // namespace lowbit::kernels
