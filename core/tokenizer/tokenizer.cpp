#include "core/tokenizer/tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>

#include "core/tokenizer/hf_tokenizer.h"
#include "core/tokenizer/hf_unicode.h"
#include "core/util/errors.h"

namespace lowbit::tokenizer {

int64_t find_invalid_utf8(const std::string& text) {
  const std::size_t bad = hf_detail::find_invalid_utf8(text);
  return bad == text.size() ? -1 : static_cast<int64_t>(bad);
}

std::string TokenizerFile::describe() const {
  return kind == TokenizerKind::HuggingFaceJson ? "tokenizer.json (Hugging Face tokenizers)"
                                                : "tokenizer.model (sentencepiece)";
}

std::optional<TokenizerFile> find_tokenizer_file(const std::filesystem::path& model_dir) {
  if (std::filesystem::exists(model_dir / "tokenizer.json")) {
    return TokenizerFile{TokenizerKind::HuggingFaceJson, model_dir / "tokenizer.json"};
  }
  if (std::filesystem::exists(model_dir / "tokenizer.model")) {
    return TokenizerFile{TokenizerKind::SentencePiece, model_dir / "tokenizer.model"};
  }
  return std::nullopt;
}

Tokenizer Tokenizer::load_file(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) {
    throw InputError(file.string(), "the tokenizer file is missing",
                     "LowBit needs the model's tokenizer.json or tokenizer.model; copy it into the model folder");
  }
  Tokenizer tokenizer;
  tokenizer.path_ = file;
  if (file.extension() == ".json") {
    tokenizer.hf_ = std::make_shared<const HfTokenizer>(
        HfTokenizer::load(file, file.parent_path() / "tokenizer_config.json"));
    tokenizer.bos_id_ = tokenizer.hf_->bos_id().value_or(-1);
    if (const auto eos = tokenizer.hf_->eos_id()) tokenizer.eos_ids_ = {*eos};
    return tokenizer;
  }
  tokenizer.processor_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = tokenizer.processor_->Load(file.string());
  if (!status.ok()) {
    throw InputError(file.string(), "is not a sentencepiece model (" + status.ToString() + ")",
                     "LowBit reads sentencepiece tokenizer.model and Hugging Face tokenizer.json files");
  }
  tokenizer.bos_id_ = tokenizer.processor_->bos_id();
  tokenizer.eos_ids_ = {tokenizer.processor_->eos_id()};
  return tokenizer;
}

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir, const model::LlamaConfig& config) {
  const std::optional<TokenizerFile> file = find_tokenizer_file(model_dir);
  if (!file) {
    throw InputError(model_dir.string(), "has no tokenizer (neither tokenizer.json nor tokenizer.model)",
                     "copy the model's tokenizer files (tokenizer.json, tokenizer_config.json) into the folder");
  }
  Tokenizer tokenizer = load_file(file->path);
  const int64_t tokens = tokenizer.vocab_size();
  if (tokens > config.vocab_size) {
    throw InputError(file->path.string(),
                     "has " + std::to_string(tokens) + " tokens but the model's vocab_size is " +
                         std::to_string(config.vocab_size),
                     "the tokenizer does not belong to this model");
  }
  tokenizer.bos_id_ = config.bos_token_id;
  tokenizer.eos_ids_ = config.eos_token_ids;
  return tokenizer;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_special_tokens) const {
  if (const int64_t bad = find_invalid_utf8(text); bad >= 0) {
    throw InputError("", "the text is not valid UTF-8 (first bad byte at offset " + std::to_string(bad) + ")",
                     "save the text as UTF-8");
  }
  if (hf_) return hf_->encode(text, add_special_tokens);
  std::vector<int> pieces;
  const auto status = processor_->Encode(text, &pieces);
  if (!status.ok()) throw InternalError("sentencepiece failed to encode: " + status.ToString());
  std::vector<int64_t> ids;
  ids.reserve(pieces.size() + 1);
  if (add_special_tokens) ids.push_back(bos_id_);
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  const int64_t size = vocab_size();
  std::vector<int64_t> known;
  known.reserve(ids.size());
  // Ids past the tokenizer (padding rows of the embedding) have no text.
  for (const int64_t id : ids) {
    if (id >= 0 && id < size) known.push_back(id);
  }
  if (hf_) return hf_->decode(known, /*skip_special_tokens=*/true);
  const std::vector<int> pieces(known.begin(), known.end());
  std::string text;
  const auto status = processor_->Decode(pieces, &text);
  if (!status.ok()) throw InternalError("sentencepiece failed to decode: " + status.ToString());
  return text;
}

bool Tokenizer::is_eos(int64_t id) const { return std::find(eos_ids_.begin(), eos_ids_.end(), id) != eos_ids_.end(); }

void Tokenizer::add_stop_id(int64_t id) {
  if (!is_eos(id)) eos_ids_.push_back(id);
}

std::optional<int64_t> Tokenizer::token_id(const std::string& token) const {
  if (hf_) return hf_->token_to_id(token);
  const int id = processor_->PieceToId(token);
  // sentencepiece answers unknown pieces with the unk id; only the unk piece itself may map there.
  if (id == processor_->unk_id() && processor_->IdToPiece(id) != token) return std::nullopt;
  return id;
}

int64_t Tokenizer::vocab_size() const { return hf_ ? hf_->vocab_size() : processor_->GetPieceSize(); }

}  // namespace lowbit::tokenizer
