// Quantizes a Hugging Face LLaMA-family model to a GPTQ checkpoint folder, one decoder layer at a time: only one
// layer's weights and the calibration activations are on the device at once, the rest of the model stays
// memory-mapped. Inside each layer the projections are quantized in true-sequential order (q, k, v → o →
// gate, up → down), each with the Hessian of the inputs it sees after the earlier ones were quantized; the
// layer's quantized outputs feed the next layer (as GPTQ does).
//
// The output folder (config.json with quantization_config, quantize_config.json, model.safetensors with
// qweight/qzeros/scales/g_idx per projection, fp16 embeddings and norms, tokenizer files) is built in
// OUT.partial and renamed to OUT at the end, so a cancelled or failed run never leaves a half-written model.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/jobs/job.h"
#include "core/quant/quant_config.h"
#include "core/quant/quantize_settings.h"

namespace lowbit::quant {

struct ProjectionReport {
  std::string name;               // "model.layers.3.mlp.down_proj"
  double relative_error = 0;      // ‖(W − Ŵ)X‖² / ‖WX‖² on the calibration inputs (‖W − Ŵ‖²/‖W‖² without them)
};

struct QuantizeResult {
  std::vector<ProjectionReport> projections;
  double seconds = 0;
  int64_t peak_ram_bytes = 0;
  int64_t peak_vram_bytes = 0;
  int64_t output_bytes = 0;            // model.safetensors
  double bits_per_weight = 0;          // of the quantized projections, scales/zeros/g_idx included
  QuantConfig config;                  // as written (asymmetric forces gptq_v2)
  std::string device;                  // where it ran: "cpu", "cuda:0"
};

class QuantizeJob : public jobs::Job {
 public:
  explicit QuantizeJob(QuantizeSettings settings) : params_(std::move(settings)) {}
  std::string title() const override { return "Quantize"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const QuantizeResult& result() const { return result_; }

 private:
  QuantizeSettings params_;
  QuantizeResult result_;
};

}  // namespace lowbit::quant
