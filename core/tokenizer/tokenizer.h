// Text ↔ token ids for a model folder, through one interface whatever the folder holds: a Hugging Face
// `tokenizer.json` (chosen first, as transformers' fast tokenizers are; core/tokenizer/hf_tokenizer.h) or a
// sentencepiece `tokenizer.model`. BOS/EOS ids come from the model's config files (config.json,
// generation_config.json) as transformers takes them.
//
//   Tokenizer tokenizer = Tokenizer::load(model_dir, config);
//   std::vector<int64_t> ids = tokenizer.encode("Once upon a time", /*add_special_tokens=*/true);
//   std::string text = tokenizer.decode(ids);
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/llama_config.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace lowbit::tokenizer {

class HfTokenizer;

enum class TokenizerKind { HuggingFaceJson, SentencePiece };

struct TokenizerFile {
  TokenizerKind kind;
  std::filesystem::path path;
  // "tokenizer.json (Hugging Face tokenizers)" / "tokenizer.model (sentencepiece)".
  std::string describe() const;
};

// The tokenizer file a model folder would be loaded with (tokenizer.json first), nullopt when it has none.
std::optional<TokenizerFile> find_tokenizer_file(const std::filesystem::path& model_dir);

class Tokenizer {
 public:
  // InputError naming the folder when it has no tokenizer, or the file when it cannot be used.
  static Tokenizer load(const std::filesystem::path& model_dir, const model::LlamaConfig& config);
  // A bare tokenizer.model, or a tokenizer.json (with the tokenizer_config.json beside it, when there is one).
  static Tokenizer load_file(const std::filesystem::path& file);

  // `text` must be valid UTF-8 (InputError otherwise). add_special_tokens: what the model's own tokenizer adds
  // (sentencepiece: BOS; tokenizer.json: its post-processor, e.g. Llama 3's <|begin_of_text|>, SmolLM2 nothing).
  // No EOS is added. Text rendered by a chat template already holds its special tokens: encode it without.
  std::vector<int64_t> encode(const std::string& text, bool add_special_tokens) const;
  // BOS/EOS and other special tokens produce no text.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t bos_id() const { return bos_id_; }
  const std::vector<int64_t>& eos_ids() const { return eos_ids_; }
  bool is_eos(int64_t id) const;
  // Generation also ends at these (a chat template's end-of-turn token, e.g. <|im_end|>).
  void add_stop_id(int64_t id);
  // The id of a token spelled exactly so (a special or added token, or a vocabulary entry); nullopt if none.
  std::optional<int64_t> token_id(const std::string& token) const;
  int64_t vocab_size() const;
  TokenizerKind kind() const { return hf_ ? TokenizerKind::HuggingFaceJson : TokenizerKind::SentencePiece; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::shared_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::shared_ptr<const HfTokenizer> hf_;
  std::filesystem::path path_;
  int64_t bos_id_ = 1;
  std::vector<int64_t> eos_ids_;
};

// Byte offset of the first invalid UTF-8 sequence in `text`, or -1 when it is valid.
int64_t find_invalid_utf8(const std::string& text);

}  // namespace lowbit::tokenizer
