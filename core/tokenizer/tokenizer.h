// Text ↔ token ids through the model folder's sentencepiece `tokenizer.model`, with BOS/EOS ids taken from the
// model's config files (config.json, generation_config.json) as transformers does.
//
//   Tokenizer tokenizer = Tokenizer::load(model_dir, config);
//   std::vector<int64_t> ids = tokenizer.encode("Once upon a time", /*add_bos=*/true);
//   std::string text = tokenizer.decode(ids);
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/model/llama_config.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace lowbit::tokenizer {

class Tokenizer {
 public:
  static Tokenizer load(const std::filesystem::path& model_dir, const model::LlamaConfig& config);
  // Loads a bare sentencepiece model file with its own BOS/EOS ids.
  static Tokenizer load_file(const std::filesystem::path& model_file);

  // `text` must be valid UTF-8 (InputError otherwise). No EOS is added.
  std::vector<int64_t> encode(const std::string& text, bool add_bos) const;
  // BOS/EOS and other control tokens produce no text.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t bos_id() const { return bos_id_; }
  const std::vector<int64_t>& eos_ids() const { return eos_ids_; }
  bool is_eos(int64_t id) const;
  int64_t vocab_size() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::shared_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::filesystem::path path_;
  int64_t bos_id_ = 1;
  std::vector<int64_t> eos_ids_;
};

// Byte offset of the first invalid UTF-8 sequence in `text`, or -1 when it is valid.
int64_t find_invalid_utf8(const std::string& text);

}  // namespace lowbit::tokenizer
