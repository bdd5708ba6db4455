// A model and the adapters trained on it, merged into one ordinary Hugging Face folder that transformers, vLLM,
// llama.cpp's converter and every other tool load without LowBit, GPTQ kernels or peft:
//
//   out/model.safetensors   every projection W' = W + Σ (α/r)·B·A over the adapters in order; a GPTQ base is
//                           dequantized first (exactly as LowBit runs it); fp16 (or fp32)
//   out/config.json         the model's, without quantization_config, torch_dtype set
//   out/tokenizer*, chat_template*, special_tokens_map.json, generation_config.json   copied as they are
//
//   HfExportResult r = export_hf({"runs/x/int2", {"runs/x/lrec/adapter", "runs/x/emef/adapter"}, "exports/x"},
//                                events, cancel);
//
// The folder is written as "<out>.partial" and renamed when complete; a failed or cancelled export leaves nothing.
// Memory: the model as LowBit loads it (packed, for a GPTQ base) plus the merged weights in the export dtype.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/jobs/job.h"
#include "core/model/llama_config.h"

namespace lowbit::exporting {

enum class ExportDtype { Float16, Float32 };

struct HfExportOptions {
  std::filesystem::path model_dir;
  std::vector<std::filesystem::path> adapters;  // stacked in this order, as `lowbit chat --adapters` loads them
  std::filesystem::path out_dir;                // must not exist
  ExportDtype dtype = ExportDtype::Float16;
};

struct HfExportResult {
  int64_t tensors = 0;
  int64_t merged_projections = 0;  // projections that had at least one adapter
  int64_t dequantized_projections = 0;
  uint64_t safetensors_bytes = 0;
  std::vector<std::string> copied_files;  // tokenizer and generation files taken over as they are
};

// The model with its adapters stacked, as the Hugging Face tensors an export writes: every projection merged
// (W + Σ (α/r)·B·A, GPTQ dequantized first), each tensor converted to `dtype`, in checkpoint order.
struct MergedModel {
  model::LlamaConfig config;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  int64_t merged_projections = 0;
  int64_t dequantized_projections = 0;
};
// Progress: {"layers", done, n_layer, eta}; cancel polled between layers.
MergedModel merge_model(const std::filesystem::path& model_dir, const std::vector<std::filesystem::path>& adapters,
                        at::ScalarType dtype, jobs::JobEvents& events, const jobs::CancelToken& cancel);

// InputError when out_dir exists, the model or an adapter cannot be loaded; ResourceError for a full disk.
// Progress: {"layers", done, n_layer, eta}; cancel polled between layers.
HfExportResult export_hf(const HfExportOptions& options, jobs::JobEvents& events, const jobs::CancelToken& cancel);

class HfExportJob : public jobs::Job {
 public:
  explicit HfExportJob(HfExportOptions options) : options_(std::move(options)) {}
  std::string title() const override { return "Export"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    result_ = export_hf(options_, events, cancel);
    events.artifact({"model", options_.out_dir.string()});
  }
  const HfExportResult& result() const { return result_; }

 private:
  HfExportOptions options_;
  HfExportResult result_;
};

}  // namespace lowbit::exporting
