// Hugging Face `tokenizer.json` tokenizers in plain C++ (no torch, no Python): BPE vocabularies, byte-level
// (GPT-2, Llama 3, SmolLM2, StarCoder) and sentencepiece-style with byte fallback (TinyLlama, Mistral, Phi-3).
//
// encode() and decode() give the ids and text of the Rust `tokenizers` library (v0.22) that transformers' fast
// tokenizers run on: added tokens are split out first, then the normalizer, pre-tokenizer, BPE model and
// post-processor of the file run in that order. Anything in the file that LowBit cannot evaluate exactly
// (an unknown component or option) is an InputError at load time, never a silently different tokenization.
//
//   auto tok = HfTokenizer::load(dir / "tokenizer.json", dir / "tokenizer_config.json");
//   std::vector<int64_t> ids = tok.encode("Hello world", /*add_special_tokens=*/true);   // BOS first if configured
//   std::string text = tok.decode(ids, /*skip_special_tokens=*/true);
//
//   StreamingDecoder stream = StreamingDecoder::for_tokenizer(tok, /*skip_special_tokens=*/true);
//   for (int64_t id : generated) show(stream.push(id));   // only complete characters, never a partial U+FFFD
//   show(stream.finish());
//
// Differences from transformers, on purpose: the file's "truncation" and "padding" settings are ignored (as
// transformers does unless asked), and decode() does not apply transformers' clean_up_tokenization_spaces.
// HfTokenizer is cheap to copy (shared immutable state) and safe to use from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::tokenizer {

class HfTokenizer {
 public:
  // `tokenizer_config_json` may not exist. When it does, its bos_token/eos_token name BOS and EOS, and for the
  // classes whose transformers fast tokenizer rebuilds the post-processor from add_bos_token/add_eos_token
  // (LlamaTokenizer, CodeLlamaTokenizer, GemmaTokenizer, CohereTokenizer, GPTNeoXTokenizer) encode(..., true) adds
  // BOS/EOS as AutoTokenizer does; otherwise tokenizer.json's post_processor decides. Its add_prefix_space
  // overrides a top-level ByteLevel pre-tokenizer's, as PreTrainedTokenizerFast does (LlamaTokenizer with
  // add_prefix_space set, which transformers rebuilds from tokenizer.model, is an InputError).
  // Throws InputError naming the file and the entry for unreadable, malformed or unsupported files.
  static HfTokenizer load(const std::filesystem::path& tokenizer_json,
                          const std::filesystem::path& tokenizer_config_json);

  // Ids of `text` (UTF-8; anything else is an InputError), as tokenizers' encode(text, add_special_tokens).ids.
  std::vector<int64_t> encode(const std::string& text, bool add_special_tokens) const;

  // Text of `ids`, as tokenizers' decode(ids, skip_special_tokens). Ids the vocabulary does not have are skipped,
  // as the library does (models often have a few more embedding rows than tokens).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const;

  int64_t vocab_size() const;  // highest id of the vocabulary and the added tokens, plus one
  std::optional<int64_t> token_to_id(const std::string& token) const;
  std::string id_to_token(int64_t id) const;  // InputError for an id the vocabulary does not have
  bool is_special(int64_t id) const;          // an added token marked special (skipped by decode when asked)

  std::optional<int64_t> bos_id() const;  // tokenizer_config's bos_token, else the post-processor's leading token
  std::optional<int64_t> eos_id() const;  // tokenizer_config's eos_token, else the post-processor's trailing token
  bool adds_bos() const;                  // encode(..., true) puts bos_id() first
  bool adds_eos() const;                  // encode(..., true) puts eos_id() last

  const std::filesystem::path& path() const;  // the tokenizer.json it was loaded from

 private:
  struct Impl;
  explicit HfTokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Turns a stream of generated ids into text as it grows: push() returns only the new text that later ids cannot
// change: never half a UTF-8 character, never a U+FFFD that is only there because a multi-byte character's bytes
// have not all arrived, and with Metaspace/Strip decoders the spaces come out as decode() of the whole sequence
// has them. finish() returns what was held back. The concatenation of everything returned equals decode_fn(all
// ids) for decoders whose output for a sequence extends their output for any prefix at a character boundary
// (all the decoders HfTokenizer supports, and sentencepiece).
class StreamingDecoder {
 public:
  using DecodeFn = std::function<std::string(const std::vector<int64_t>&)>;

  explicit StreamingDecoder(DecodeFn decode_fn);
  static StreamingDecoder for_tokenizer(const HfTokenizer& tokenizer, bool skip_special_tokens);

  std::string push(int64_t id);
  std::string finish();  // emits any held-back tail and starts over
  void reset();

 private:
  std::string resync();  // slow path: decode everything since the start

  DecodeFn decode_fn_;
  // Only a window of ids is decoded per push: the last emitted group (as context, so a first-token rule such as
  // Metaspace's space stripping applies to it and not to new text) plus the ids not yet emitted.
  std::vector<int64_t> window_;
  std::size_t context_len_ = 0;     // window_[0, context_len_) is the context
  std::string window_prefix_text_;  // decode of the context part of window_, already emitted
  std::vector<int64_t> all_ids_;
  std::string emitted_;
};

struct TokenizerBenchResult {
  int64_t n_lines = 0;
  int64_t n_tokens = 0;
  double seconds = 0.0;
  double tokens_per_s = 0.0;
};

// Encodes each line with add_special_tokens=false, one call per line on the calling thread, and times it. Same
// work as scripts/bench_tokenizer_hf.py does with the Python library, so the two rates compare directly.
TokenizerBenchResult bench_encode_lines(const HfTokenizer& tokenizer, const std::vector<std::string>& lines);

// The benchmark's input: the lines of `path` without their trailing '\r', empty ones dropped. InputError when
// unreadable.
std::vector<std::string> read_bench_lines(const std::filesystem::path& path);

}  // namespace lowbit::tokenizer
