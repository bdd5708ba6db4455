#include "core/tokenizer/tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>

#include "core/util/errors.h"

namespace lowbit::tokenizer {

int64_t find_invalid_utf8(const std::string& text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char lead = bytes[i];
    size_t length = 0;
    uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return static_cast<int64_t>(i);
    }
    if (i + length > n) return static_cast<int64_t>(i);
    for (size_t k = 1; k < length; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) return static_cast<int64_t>(i);
      code = (code << 6) | (bytes[i + k] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
    const uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < minimum[length] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return static_cast<int64_t>(i);
    }
    i += length;
  }
  return -1;
}

Tokenizer Tokenizer::load_file(const std::filesystem::path& model_file) {
  if (!std::filesystem::exists(model_file)) {
    throw InputError(model_file.string(), "the tokenizer file is missing",
                     "LowBit needs the sentencepiece tokenizer.model that belongs to the model; copy it into the "
                     "model folder");
  }
  Tokenizer tokenizer;
  tokenizer.path_ = model_file;
  tokenizer.processor_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = tokenizer.processor_->Load(model_file.string());
  if (!status.ok()) {
    throw InputError(model_file.string(), "is not a sentencepiece model (" + status.ToString() + ")",
                     "LowBit reads sentencepiece tokenizer.model files (LLaMA, LLaMA-2, Mistral); tokenizer.json-"
                     "only models are not supported yet");
  }
  tokenizer.bos_id_ = tokenizer.processor_->bos_id();
  tokenizer.eos_ids_ = {tokenizer.processor_->eos_id()};
  return tokenizer;
}

Tokenizer Tokenizer::load(const std::filesystem::path& model_dir, const model::LlamaConfig& config) {
  Tokenizer tokenizer = load_file(model_dir / "tokenizer.model");
  const int64_t pieces = tokenizer.vocab_size();
  if (pieces > config.vocab_size) {
    throw InputError((model_dir / "tokenizer.model").string(),
                     "has " + std::to_string(pieces) + " pieces but the model's vocab_size is " +
                         std::to_string(config.vocab_size),
                     "the tokenizer does not belong to this model");
  }
  tokenizer.bos_id_ = config.bos_token_id;
  tokenizer.eos_ids_ = config.eos_token_ids;
  return tokenizer;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_bos) const {
  if (const int64_t bad = find_invalid_utf8(text); bad >= 0) {
    throw InputError("", "the text is not valid UTF-8 (first bad byte at offset " + std::to_string(bad) + ")",
                     "save the text as UTF-8");
  }
  std::vector<int> pieces;
  const auto status = processor_->Encode(text, &pieces);
  if (!status.ok()) throw InternalError("sentencepiece failed to encode: " + status.ToString());
  std::vector<int64_t> ids;
  ids.reserve(pieces.size() + 1);
  if (add_bos) ids.push_back(bos_id_);
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> pieces;
  pieces.reserve(ids.size());
  const int64_t size = vocab_size();
  for (const int64_t id : ids) {
    // Ids past the tokenizer (padding rows of the embedding) have no text.
    if (id >= 0 && id < size) pieces.push_back(static_cast<int>(id));
  }
  std::string text;
  const auto status = processor_->Decode(pieces, &text);
  if (!status.ok()) throw InternalError("sentencepiece failed to decode: " + status.ToString());
  return text;
}

bool Tokenizer::is_eos(int64_t id) const { return std::find(eos_ids_.begin(), eos_ids_.end(), id) != eos_ids_.end(); }

int64_t Tokenizer::vocab_size() const { return processor_->GetPieceSize(); }

}  // namespace lowbit::tokenizer
