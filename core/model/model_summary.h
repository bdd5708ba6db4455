// What `lowbit info` and the model library show about a model folder, read from config.json and the
// safetensors headers only (no weights are loaded), plus the memory a run would need.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "core/model/llama_config.h"

namespace lowbit::model {

struct ModelSummary {
  std::filesystem::path folder;
  LlamaConfig config;
  int64_t parameters = 0;
  std::map<std::string, int64_t> stored_dtypes;  // dtype → number of tensors
  int64_t weight_file_bytes = 0;                 // *.safetensors on disk
  int64_t tensor_count = 0;
  std::string quantization = "none";             // from config.json quantization_config
  bool has_tokenizer = false;
  std::string tokenizer;                         // "tokenizer.json (Hugging Face tokenizers)", "" when none
  bool has_chat_template = false;                // one LowBit can render
  std::string chat_template;                     // where the chat template comes from, or why chats use Alpaca
  int64_t weights_fp16_bytes = 0;                // weights as LowBit holds them on a GPU
  int64_t kv_cache_fp16_bytes_per_token = 0;     // all layers, keys and values
};

ModelSummary summarize_model(const std::filesystem::path& model_dir);


}  // namespace lowbit::model
