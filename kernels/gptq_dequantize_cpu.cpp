#include <algorithm>
#include <thread>
#include <vector>

#include "kernels/gptq_dequantize.h"
#include "kernels/gptq_format.h"

namespace lowbit::kernels {

Status validate(const GptqLayerView& layer) {
  if (!gptq::supported_bits(layer.bits)) return Status::NoKernelForConfig;
  if (layer.k_in <= 0 || layer.n_out <= 0 || layer.groups <= 0) return Status::UnsupportedShape;
  if ((layer.k_in * layer.bits) % 32 != 0 || (layer.n_out * layer.bits) % 32 != 0) return Status::UnsupportedShape;
  return Status::Ok;
}

Status gptq_dequantize_cpu(const GptqLayerView& layer, float* out) {
  if (const Status status = validate(layer); status != Status::Ok) return status;
  for (int64_t k = 0; k < layer.k_in; ++k) {
    if (layer.g_idx[k] < 0 || layer.g_idx[k] >= layer.groups) return Status::UnsupportedShape;
  }
  const int64_t threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 16);
  const int64_t rows_per_thread = (layer.k_in + threads - 1) / threads;
  auto work = [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      for (int64_t n = 0; n < layer.n_out; ++n) {
        out[k * layer.n_out + n] = gptq::dequantize_value(layer.qweight, layer.qzeros, layer.scales, layer.g_idx,
                                                          layer.n_out, k, n, layer.bits, layer.zero_offset);
      }
    }
  };
  if (layer.k_in * layer.n_out < (1 << 16)) {
    work(0, layer.k_in);
    return Status::Ok;
  }
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < threads; ++t) {
    const int64_t begin = t * rows_per_thread;
    const int64_t end = std::min(layer.k_in, begin + rows_per_thread);
    if (begin < end) pool.emplace_back(work, begin, end);
  }
  for (std::thread& thread : pool) thread.join();
  return Status::Ok;
}

}  // namespace lowbit::kernels
