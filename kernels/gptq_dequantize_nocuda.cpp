// The CUDA entry points in a build without CUDA kernels.
#include "kernels/gptq_decode.h"
#include "kernels/gptq_dequantize.h"

namespace lowbit::kernels {

Status gptq_dequantize_cuda(const GptqLayerView&, void*, ElementType, CUstream_st*) { return Status::NoCudaSupport; }

Status gptq_decode_cuda(const GptqLayerView&, const void*, ElementType, int64_t, void*, float*, CUstream_st*) {
  return Status::NoCudaSupport;
}

int64_t gptq_decode_workspace_floats(const GptqLayerView&, int64_t) { return 0; }

}  // namespace lowbit::kernels
