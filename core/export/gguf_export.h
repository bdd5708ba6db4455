// A model and its adapters, merged, as one GGUF file for llama.cpp, Ollama, LM Studio and Jan, with an Ollama
// Modelfile beside it:
//
//   out/NAME.TYPE.gguf   GGUF v3: the merged weights (core/export/hf_export.h's merge_model) as F16, Q8_0 or Q4_0
//                        (llama.cpp's block formats; norms and biases F32; a matrix whose rows do not split into
//                        32-number blocks F16), q/k rows permuted into llama.cpp's RoPE order (llama only), the
//                        hyperparameters, the tokenizer (sentencepiece tokenizer.model, or a byte-level BPE
//                        tokenizer.json whose pre-tokenizer llama.cpp knows) and the chat template
//   out/Modelfile        FROM ./NAME.TYPE.gguf, the chat template in Ollama's own syntax for the ChatML, Llama-2
//                        and Llama-3 families (others: Ollama reads the template from the GGUF), stop tokens
//
// The metadata keys are those llama.cpp's convert_hf_to_gguf.py writes, so llama.cpp loads the file as one of its
// own; lowbit import reads it back. Q8_0 and Q4_0 quantize again: a GPTQ model's weights are dequantized, merged,
// then rounded to the new blocks. The folder is written as "<out>.partial" and renamed when complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/jobs/job.h"

namespace lowbit::exporting {

enum class GgufExportType { F16, Q8_0, Q4_0 };

struct GgufExportOptions {
  std::filesystem::path model_dir;
  std::vector<std::filesystem::path> adapters;
  std::filesystem::path out_dir;  // must not exist
  GgufExportType type = GgufExportType::Q8_0;
};

struct GgufExportResult {
  std::filesystem::path gguf_file;
  std::filesystem::path modelfile;
  int64_t tensors = 0;
  int64_t f16_fallback_tensors = 0;  // matrices kept F16 because their rows are not whole 32-number blocks
  uint64_t gguf_bytes = 0;
  std::string tokenizer;             // "llama (sentencepiece)" or "gpt2 (byte-level BPE, pre smollm)"
  bool ollama_template = false;      // the Modelfile carries a TEMPLATE
};

// "F16", "Q8_0", "Q4_0"
const char* gguf_export_type_name(GgufExportType type);

// InputError when out_dir exists, or the tokenizer cannot be written as GGUF (what it is, and what LowBit writes).
GgufExportResult export_gguf(const GgufExportOptions& options, jobs::JobEvents& events, const jobs::CancelToken& cancel);

class GgufExportJob : public jobs::Job {
 public:
  explicit GgufExportJob(GgufExportOptions options) : options_(std::move(options)) {}
  std::string title() const override { return "Export"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    result_ = export_gguf(options_, events, cancel);
    events.artifact({"model", result_.gguf_file.string()});
  }
  const GgufExportResult& result() const { return result_; }

 private:
  GgufExportOptions options_;
  GgufExportResult result_;
};

}  // namespace lowbit::exporting
