// How much device memory a LoRA training run (LREC or EMEF) will take, worked out from the shapes alone before
// anything is loaded, so that the user learns that a run will not fit before it starts rather than after an
// hour of teacher caching. The figure is what LibTorch's allocator will hand out at its peak — the number
// `vram_peak` in metrics.jsonl measures — and leaves out the CUDA context (about 0.3–0.6 GiB per process).
//
// Terms (B micro-batch, T sequence length, H hidden, I intermediate, V vocabulary, L layers, d compute bytes):
//   weights      the student's projections as stored (packed GPTQ or dense), embeddings, lm_head, norms
//   teacher      online teacher: its dense weights and its logits; cached teacher: one batch of top-k targets
//   adapter      trainable LoRA parameters P in fp32: weights, gradients and AdamW's two moments = 16 P bytes
//   activations  with gradient checkpointing: L saved layer inputs (B·T·H·d) + one layer recomputed in full;
//                without: every layer's intermediates
//   logits       the student's logits in d bytes and the fp32 copies the loss and its gradient need
//   transient    the largest projection dequantized for a matmul (packed weights are expanded per call)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model/llama_config.h"
#include "core/quant/quant_config.h"

namespace lowbit::train {

// Whether a need fits a device: Fits when it plus the CUDA context stays under 85 % of the free memory, Tight
// under all of it.
enum class Fit { Fits, Tight, Exceeds, NoGpu };
const char* fit_name(Fit fit);  // "fits", "tight", "exceeds", "no GPU"
Fit judge_fit(int64_t needed_bytes, int64_t free_bytes);

struct TrainingShape {
  int64_t lora_rank = 32;
  std::vector<std::string> target_modules;
  double lora_dropout = 0.0;
  int64_t micro_batch = 1;
  int64_t seqlen = 2048;
  bool gradient_checkpointing = true;
  int64_t teacher_top_k = 64;     // 0: the teacher runs online (LREC); -1: no teacher at all (EMEF)
  bool teacher_hidden_state = false;  // RILQ: the target is the teacher's final hidden state, not its logits
  int64_t compute_bytes = 2;      // fp16/bf16 on a GPU
  int64_t frozen_adapter_bytes = 0;  // adapters stacked under the trained one (EMEF on LREC), fp32
};

struct MemoryEstimate {
  int64_t weights = 0, teacher = 0, adapter = 0, activations = 0, logits = 0, transient = 0;
  int64_t adapter_parameters = 0;
  int64_t total() const { return weights + teacher + adapter + activations + logits + transient; }
  // "5.8 GiB (weights 2.1 GiB, adapter and optimizer 1.2 GiB, …, teacher 16.0 MiB, …)"
  std::string describe() const;
};

struct ProjectionShape {
  int64_t in = 0, out = 0;
};
// Input and output width of each projection by its PEFT name; a quantized checkpoint stores the MLP padded to a
// multiple of 32.
std::map<std::string, ProjectionShape> projection_shapes(const model::LlamaConfig& config, bool quantized);

MemoryEstimate estimate_training_memory(const model::LlamaConfig& config,
                                        const std::optional<quant::QuantConfig>& quantization,
                                        const TrainingShape& shape);

}  // namespace lowbit::train
