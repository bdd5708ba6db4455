// gptq_dequantize_cuda in a build without CUDA kernels.
#include "kernels/gptq_dequantize.h"

namespace lowbit::kernels {

Status gptq_dequantize_cuda(const GptqLayerView&, float*, CUstream_st*) { return Status::NoCudaSupport; }

}  // namespace lowbit::kernels
