// The normalizer, pre-tokenizer and decoder stages of a tokenizer.json pipeline (hf_tokenizer.h). Internal to
// core/tokenizer.
//
// Each stage is built from its JSON object by parse_*(), which throws InputError naming the file and the
// unsupported type or option. Text is carried as Pieces: the splits the `tokenizers` crate keeps in a
// PreTokenizedString. Offsets are not tracked (ids do not depend on them); the one thing that does,
// Metaspace's prepend_scheme "first", only needs to know whether a piece starts at the beginning of the input,
// which `at_origin` records.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lowbit::tokenizer::hf_detail {

struct Piece {
  std::string text;
  bool at_origin = false;    // starts at byte 0 of the text given to encode()
  int64_t token_id = -1;     // >= 0: an added token already resolved; later stages leave it alone
};
using Pieces = std::vector<Piece>;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every piece that is not an added token; empty pieces are dropped, as the crate does.
  virtual void pre_tokenize(Pieces& pieces) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decoder::decode_chain: token strings in, token strings out; the caller joins the result.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// Return null for a JSON null (the stage is absent). `path` is the tokenizer.json named in errors.
std::unique_ptr<const Normalizer> parse_normalizer(const nlohmann::json& spec, const std::string& path);
std::unique_ptr<const PreTokenizer> parse_pre_tokenizer(const nlohmann::json& spec, const std::string& path);
std::unique_ptr<const Decoder> parse_decoder(const nlohmann::json& spec, const std::string& path);

// The GPT-2 byte-to-unicode alphabet byte-level vocabularies are written in: the UTF-8 of the code point that
// stands for `byte`.
const std::string& byte_level_char(unsigned char byte);

}  // namespace lowbit::tokenizer::hf_detail
