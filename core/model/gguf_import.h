// Importing a GGUF file (llama.cpp / Ollama / LM Studio) into a Hugging Face model folder, without torch:
//
//   out_dir/config.json, generation_config.json   from the GGUF metadata
//   out_dir/model.safetensors                      the weights, HF names and layout
//   out_dir/tokenizer.json, tokenizer_config.json, special_tokens_map.json   rebuilt from tokenizer.ggml.*
//
//   GgufImportOptions options;                        // dequantized weights as F16 (or F32)
//   GgufImportResult r = import_gguf("smollm2.Q4_K_M.gguf", "models/smollm2", options, events, cancel);
//   // or, as a job:  GgufImportJob job({gguf_path, out_dir, options}); job.run(events, cancel);
//
// Supported: architectures `llama` (LlamaForCausalLM, Mistral-style llama GGUFs included) and `qwen2`
// (Qwen2ForCausalLM); tensor types F32/F16/BF16 (kept as stored) and Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K
// (dequantized exactly as llama.cpp does); tokenizers `llama` (sentencepiece) and `gpt2` (byte-level BPE with the
// pre-tokenizers default, gpt-2, llama-bpe/llama3, smollm, starcoder, qwen2). Anything else is an InputError that
// names what the file has and what LowBit reads.
//
// The reference for every choice is transformers' own GGUF loader (modeling_gguf_pytorch_utils.py,
// integrations/ggml.py): same tensors (q/k rows taken back from llama.cpp's RoPE permutation for `llama`), same
// config values, and a tokenizer that gives the ids llama.cpp gives.
//
// Memory: one tensor at a time (its stored bytes + its output), so a 7B model imports on a 16 GB laptop.
// The folder is written as out_dir.partial and renamed at the end; a cancelled or failed import leaves nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/jobs/job.h"
#include "core/model/gguf_file.h"

namespace lowbit::model {

enum class GgufImportDtype { F16, F32 };

struct GgufImportOptions {
  // What quantized matrices become. F16 halves the folder; a tensor whose values do not fit float16 is written as
  // F32 instead (with a log line). F32, F16 and BF16 tensors and all 1-D tensors keep their stored type.
  GgufImportDtype dtype = GgufImportDtype::F16;
};

struct GgufImportResult {
  std::string gguf_architecture;  // "llama"
  std::string hf_architecture;    // "LlamaForCausalLM"
  std::string torch_dtype;        // what config.json says: "float16", "float32" or "bfloat16"
  int64_t tensors_written = 0;
  std::vector<std::string> skipped_tensors;       // GGUF names with no HF counterpart (e.g. rope_freqs.weight)
  std::vector<std::string> f32_fallback_tensors;  // HF names written as F32 because float16 would overflow
  uint64_t safetensors_bytes = 0;
};

// The whole import. out_dir must not exist or be empty (InputError otherwise). Progress: {"tensors", done, total,
// eta_s} after each tensor; cancel is polled before each tensor (throws Cancelled, leaving no folder behind).
GgufImportResult import_gguf(const std::filesystem::path& gguf_path, const std::filesystem::path& out_dir,
                             const GgufImportOptions& options, jobs::JobEvents& events,
                             const jobs::CancelToken& cancel);

// config.json for a model GGUF (architecture, sizes, rope, vocab, tie, bos/eos). torch_dtype goes in as given.
nlohmann::json gguf_hf_config(const GgufFile& file, const std::string& torch_dtype);

// Ordered JSON so that tokenizer.json lists the vocabulary in id order, as Hugging Face writes it.
struct HfTokenizerFiles {
  nlohmann::ordered_json tokenizer;           // tokenizer.json
  nlohmann::ordered_json tokenizer_config;    // tokenizer_config.json
  nlohmann::ordered_json special_tokens_map;  // special_tokens_map.json
};

// The Hugging Face tokenizer rebuilt from tokenizer.ggml.* (works for vocab-only GGUFs with no tensors).
HfTokenizerFiles gguf_hf_tokenizer(const GgufFile& file);

// Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into out_dir (created if needed, each
// file written atomically). For a vocab-only GGUF, or to repair a folder's tokenizer.
void write_tokenizer_from_gguf(const std::filesystem::path& gguf_path, const std::filesystem::path& out_dir);

// import_gguf as a job: emits progress and log events, then artifact {"model", out_dir}.
class GgufImportJob : public jobs::Job {
 public:
  struct Params {
    std::filesystem::path gguf_path;
    std::filesystem::path out_dir;
    GgufImportOptions options;
  };

  explicit GgufImportJob(Params params) : params_(std::move(params)) {}
  std::string title() const override { return "Import GGUF"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const GgufImportResult& result() const { return result_; }

 private:
  Params params_;
  GgufImportResult result_;
};

}  // namespace lowbit::model
