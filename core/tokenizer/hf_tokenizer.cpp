#include "core/tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/tokenizer/hf_bpe.h"
#include "core/tokenizer/hf_pipeline.h"
#include "core/tokenizer/hf_unicode.h"
#include "core/util/errors.h"
#include "core/util/json_limits.h"

namespace lowbit::tokenizer {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace hf_detail;

namespace {

const char* const kResave = "the file does not follow the tokenizers library's format; re-save it with "
                            "tokenizers or transformers' save_pretrained";

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

// Leftmost-longest search over the added tokens' texts (the crate uses Aho-Corasick with MatchKind::LeftmostLongest;
// there are few added tokens, so candidates are bucketed by first byte and compared directly).
class TokenMatcher {
 public:
  void add(std::string pattern, std::size_t token_index) {
    if (pattern.empty()) return;
    const auto first = static_cast<unsigned char>(pattern[0]);
    buckets_[first].push_back(patterns_.size());
    patterns_.push_back({std::move(pattern), token_index});
  }
  void finish() {
    for (auto& bucket : buckets_) {
      // Longest first; equal lengths keep insertion order (the first pattern wins, as in aho-corasick).
      std::stable_sort(bucket.begin(), bucket.end(),
                       [&](std::size_t a, std::size_t b) { return patterns_[a].text.size() > patterns_[b].text.size(); });
    }
  }
  bool empty() const { return patterns_.empty(); }
  // First match at or after `from`: sets begin/end/token_index, false when none.
  bool find(std::string_view text, std::size_t from, std::size_t& begin, std::size_t& end, std::size_t& token) const {
    for (std::size_t pos = from; pos < text.size(); ++pos) {
      const auto& bucket = buckets_[static_cast<unsigned char>(text[pos])];
      for (const std::size_t p : bucket) {
        const std::string& pattern = patterns_[p].text;
        if (text.compare(pos, pattern.size(), pattern) == 0) {
          begin = pos;
          end = pos + pattern.size();
          token = patterns_[p].token_index;
          return true;
        }
      }
    }
    return false;
  }

 private:
  struct Entry {
    std::string text;
    std::size_t token_index;
  };
  std::vector<Entry> patterns_;
  std::array<std::vector<std::size_t>, 256> buckets_;
};

// Code point ending just before byte `end` of valid UTF-8 text.
char32_t code_point_before(std::string_view text, std::size_t end, std::size_t& begin) {
  begin = end - 1;
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  std::size_t pos = begin;
  return next_code_point(text, pos);
}

// bos_token / eos_token in tokenizer_config.json: a string, an AddedToken object {"content": ...}, or null.
std::optional<std::string> config_token(const json& config, const char* field, const std::string& path) {
  const auto it = config.find(field);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  throw InputError(path, std::string("\"") + field + "\" is neither a string nor an object with \"content\"",
                   "fix the entry or re-save the tokenizer with transformers' save_pretrained");
}

}  // namespace

struct HfTokenizer::Impl {
  fs::path path;
  std::shared_ptr<const BpeModel> model;
  std::unique_ptr<const Normalizer> normalizer;
  std::unique_ptr<const PreTokenizer> pre_tokenizer;
  std::unique_ptr<const Decoder> decoder;

  std::vector<AddedToken> added;
  std::unordered_map<std::string, std::size_t> added_by_content;
  std::unordered_map<int64_t, std::size_t> added_by_id;
  std::unordered_set<std::string> special_contents;
  TokenMatcher raw_matcher;         // added tokens with normalized = false, matched on the input text
  TokenMatcher normalized_matcher;  // normalized = true, matched (in normalized form) on normalized text

  std::vector<int64_t> prefix_ids, suffix_ids;  // what add_special_tokens puts around the sequence
  std::optional<int64_t> bos, eos;
  int64_t vocab_size = 0;

  void split_added(Pieces& pieces, const TokenMatcher& matcher) const;
  const std::string* token_text(int64_t id) const;
};

// AddedVocabulary::find_matches + split_with_indices: splits every unresolved piece around the matches of
// `matcher`, applying single_word / lstrip / rstrip; empty pieces are dropped.
void HfTokenizer::Impl::split_added(Pieces& pieces, const TokenMatcher& matcher) const {
  if (matcher.empty()) return;
  Pieces out;
  out.reserve(pieces.size());
  for (auto& piece : pieces) {
    if (piece.token_id >= 0) {
      out.push_back(std::move(piece));
      continue;
    }
    const std::string_view sentence = piece.text;
    std::size_t start_offset = 0, search_from = 0, begin = 0, end = 0, token_index = 0;
    const auto push = [&](std::size_t b, std::size_t e, int64_t id) {
      if (e <= b) return;
      out.push_back(Piece{std::string(sentence.substr(b, e - b)), piece.at_origin && b == 0, id});
    };
    while (matcher.find(sentence, search_from, begin, end, token_index)) {
      search_from = end;  // aho-corasick's iterator resumes after the raw match, whatever strip does below
      const AddedToken& token = added[token_index];
      std::size_t start = begin, stop = end;
      if (token.single_word) {
        std::size_t at = 0;
        const bool start_space = start == 0 || !is_word_char(code_point_before(sentence, start, at));
        std::size_t pos = stop;
        const bool stop_space = stop == sentence.size() || !is_word_char(next_code_point(sentence, pos));
        if (!start_space || !stop_space) continue;
      }
      if (token.lstrip) {
        std::size_t new_start = start;
        while (new_start > 0) {
          std::size_t at = 0;
          if (!is_whitespace(code_point_before(sentence, new_start, at))) break;
          new_start = at;
        }
        start = std::max(new_start, start_offset);
      }
      if (token.rstrip) {
        std::size_t pos = stop;
        while (pos < sentence.size()) {
          const std::size_t at = pos;
          if (!is_whitespace(next_code_point(sentence, pos))) {
            pos = at;
            break;
          }
        }
        stop = pos;
      }
      if (start_offset < start) push(start_offset, start, -1);
      push(start, stop, token.id);
      start_offset = stop;
    }
    if (start_offset < sentence.size()) push(start_offset, sentence.size(), -1);
  }
  pieces = std::move(out);
}

const std::string* HfTokenizer::Impl::token_text(int64_t id) const {
  const auto it = added_by_id.find(id);
  if (it != added_by_id.end()) return &added[it->second].content;
  return model->id_to_token(id);
}

HfTokenizer HfTokenizer::load(const fs::path& tokenizer_json, const fs::path& tokenizer_config_json) {
  auto impl = std::make_shared<Impl>();
  impl->path = tokenizer_json;
  const std::string path = tokenizer_json.string();
  json root = util::read_json_file(tokenizer_json, util::kTokenizerJsonLimits);
  if (!root.is_object()) throw InputError(path, "is not a JSON object", kResave);

  // tokenizer_config.json, read as transformers' fast tokenizers read it.
  std::error_code ec;
  const bool have_config = !tokenizer_config_json.empty() && fs::exists(tokenizer_config_json, ec);
  const std::string config_path = tokenizer_config_json.string();
  json config = json::object();
  std::string config_class;
  if (have_config) {
    config = util::read_json_file(tokenizer_config_json, util::kConfigJsonLimits);
    if (!config.is_object()) throw InputError(config_path, "is not a JSON object", "re-save it with transformers");
    if (config.contains("tokenizer_class") && config["tokenizer_class"].is_string())
      config_class = config["tokenizer_class"].get<std::string>();
    if (config_class.size() > 4 && config_class.compare(config_class.size() - 4, 4, "Fast") == 0)
      config_class.resize(config_class.size() - 4);
    const auto aps = config.find("add_prefix_space");
    const bool aps_set = aps != config.end() && !aps->is_null();
    if (aps_set && !aps->is_boolean())
      throw InputError(config_path, "add_prefix_space is not true, false or null", "fix the entry");
    // LlamaTokenizerFast rebuilds itself from the sentencepiece model (from_slow) when add_prefix_space is set.
    if (aps_set && config_class == "LlamaTokenizer")
      throw InputError(config_path, "add_prefix_space is set, which makes transformers rebuild this tokenizer from its "
                                    "sentencepiece tokenizer.model; LowBit does not support that yet",
                       "remove add_prefix_space from tokenizer_config.json, or re-save the tokenizer with "
                       "transformers so that tokenizer.json holds the result");
    // PreTrainedTokenizerFast overrides a top-level ByteLevel pre-tokenizer's add_prefix_space with the one it was
    // given: the config's, else the class default (false; LlamaTokenizerFast's is null). A null makes the override
    // fail, which transformers ignores.
    json& pre = root["pre_tokenizer"];
    const bool absent_means_false = config_class != "LlamaTokenizer";
    if ((aps_set || (aps == config.end() && absent_means_false)) && pre.is_object() && pre.value("type", "") == "ByteLevel" &&
        pre.contains("add_prefix_space"))
      pre["add_prefix_space"] = aps_set && aps->get<bool>();
  }

  const auto section = [&](const char* name) -> const json& {
    static const json null_json;
    const auto it = root.find(name);
    return it == root.end() ? null_json : *it;
  };

  const json& model = section("model");
  if (!model.is_object()) throw InputError(path, "has no \"model\" object", kResave);
  const std::string model_type = model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>()
                                 : model.contains("merges")                          ? "BPE"
                                                                                     : "(unknown)";
  if (model_type != "BPE")
    throw InputError(path, "model type '" + model_type + "' is not supported yet",
                     "LowBit supports BPE tokenizer.json files (byte-level or sentencepiece-style with byte_fallback); "
                     "for a sentencepiece Unigram model use its tokenizer.model");
  impl->model = BpeModel::from_json(model, path);
  impl->normalizer = parse_normalizer(section("normalizer"), path);
  impl->pre_tokenizer = parse_pre_tokenizer(section("pre_tokenizer"), path);
  impl->decoder = parse_decoder(section("decoder"), path);
  impl->vocab_size = impl->model->max_id() + 1;

  // Added tokens.
  const json& added = section("added_tokens");
  if (!added.is_null() && !added.is_array()) throw InputError(path, "\"added_tokens\" is not a list", kResave);
  if (added.is_array()) {
    for (std::size_t i = 0; i < added.size(); ++i) {
      const json& entry = added[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_number_integer() ||
          entry["id"].get<int64_t>() < 0 || !entry.contains("content") || !entry["content"].is_string())
        throw InputError(path, where + " needs a non-negative integer \"id\" and a string \"content\"", kResave);
      AddedToken token;
      token.content = entry["content"].get<std::string>();
      token.id = entry["id"].get<int64_t>();
      if (find_invalid_utf8(token.content) != token.content.size())
        throw InputError(path, where + " content is not valid UTF-8", kResave);
      const auto flag = [&](const char* field, bool fallback) {
        const auto it = entry.find(field);
        if (it == entry.end() || it->is_null()) return fallback;
        if (!it->is_boolean()) throw InputError(path, where + "." + field + " is not true or false", kResave);
        return it->get<bool>();
      };
      token.special = flag("special", false);
      token.normalized = flag("normalized", !token.special);
      token.single_word = flag("single_word", false);
      token.lstrip = flag("lstrip", false);
      token.rstrip = flag("rstrip", false);
      if (token.content.empty()) continue;  // the crate ignores empty added tokens
      if (const auto model_id = impl->model->token_to_id(token.content); model_id && *model_id != token.id)
        throw InputError(path, where + " " + json(token.content).dump() + " has id " + std::to_string(token.id) +
                                   " but model.vocab gives it id " + std::to_string(*model_id), kResave);
      if (impl->added_by_content.count(token.content) || impl->added_by_id.count(token.id))
        throw InputError(path, where + " " + json(token.content).dump() + " (id " + std::to_string(token.id) +
                                   ") repeats an earlier added token's content or id", kResave);
      impl->added_by_content[token.content] = impl->added.size();
      impl->added_by_id[token.id] = impl->added.size();
      if (token.special) impl->special_contents.insert(token.content);
      impl->vocab_size = std::max(impl->vocab_size, token.id + 1);
      impl->added.push_back(std::move(token));
    }
  }
  // The crate builds its tries from the special tokens first, then the others; order only breaks ties.
  for (const bool special_pass : {true, false}) {
    for (std::size_t i = 0; i < impl->added.size(); ++i) {
      const AddedToken& token = impl->added[i];
      if (token.special != special_pass) continue;
      if (!token.normalized) {
        impl->raw_matcher.add(token.content, i);
      } else {
        std::string normalized = token.content;
        if (impl->normalizer) impl->normalizer->normalize(normalized);
        impl->normalized_matcher.add(std::move(normalized), i);
      }
    }
  }
  impl->raw_matcher.finish();
  impl->normalized_matcher.finish();

  // Post-processor: the ids that encode(..., add_special_tokens=true) puts before and after the sequence.
  const auto parse_post_processor = [&](const json& spec, const auto& self) -> void {
    if (spec.is_null()) return;
    const std::string type = spec.is_object() && spec.contains("type") && spec["type"].is_string()
                                 ? spec["type"].get<std::string>()
                                 : std::string("(missing)");
    const std::string where = "post_processor " + type;
    if (type == "ByteLevel") return;  // only adjusts offsets
    if (type == "Sequence") {
      if (!spec.contains("processors") || !spec["processors"].is_array())
        throw InputError(path, where + ": \"processors\" is not a list", kResave);
      for (const auto& part : spec["processors"]) self(part, self);
      return;
    }
    if (type == "TemplateProcessing") {
      const auto single = spec.find("single");
      const auto specials = spec.find("special_tokens");
      if (single == spec.end() || !single->is_array() || specials == spec.end() || !specials->is_object())
        throw InputError(path, where + ": needs a \"single\" list and a \"special_tokens\" object", kResave);
      std::vector<int64_t> before, after;
      bool seen_sequence = false;
      for (const auto& piece : *single) {
        if (piece.contains("Sequence")) {
          if (seen_sequence) throw InputError(path, where + ": \"single\" holds the sequence twice", kResave);
          seen_sequence = true;
          continue;
        }
        const auto special = piece.find("SpecialToken");
        if (special == piece.end() || !special->contains("id") || !(*special)["id"].is_string())
          throw InputError(path, where + ": \"single\" entry " + piece.dump() + " is neither Sequence nor SpecialToken",
                           kResave);
        const std::string name = (*special)["id"].get<std::string>();
        const auto def = specials->find(name);
        if (def == specials->end() || !def->contains("ids") || !(*def)["ids"].is_array())
          throw InputError(path, where + ": special token " + json(name).dump() + " has no ids in \"special_tokens\"",
                           kResave);
        for (const auto& id : (*def)["ids"]) {
          if (!id.is_number_integer() || id.get<int64_t>() < 0)
            throw InputError(path, where + ": special token " + json(name).dump() + " has a bad id " + id.dump(), kResave);
          (seen_sequence ? after : before).push_back(id.get<int64_t>());
        }
      }
      if (!seen_sequence) throw InputError(path, where + ": \"single\" has no Sequence entry", kResave);
      impl->prefix_ids.insert(impl->prefix_ids.begin(), before.begin(), before.end());
      impl->suffix_ids.insert(impl->suffix_ids.end(), after.begin(), after.end());
      return;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
      const auto id_of = [&](const char* field) {
        const auto it = spec.find(field);
        if (it == spec.end() || !it->is_array() || it->size() != 2 || !(*it)[1].is_number_integer())
          throw InputError(path, where + ": \"" + field + "\" is not [token, id]", kResave);
        return (*it)[1].get<int64_t>();
      };
      impl->prefix_ids.insert(impl->prefix_ids.begin(), id_of("cls"));
      impl->suffix_ids.push_back(id_of("sep"));
      return;
    }
    throw InputError(path, "post_processor type '" + type + "' is not supported yet",
                     "LowBit supports the post_processors TemplateProcessing, ByteLevel, BertProcessing, "
                     "RobertaProcessing and Sequence");
  };
  parse_post_processor(section("post_processor"), parse_post_processor);
  const std::vector<int64_t> file_prefix = impl->prefix_ids, file_suffix = impl->suffix_ids;

  if (have_config) {
    const auto resolve = [&](const char* field) -> std::optional<int64_t> {
      const auto name = config_token(config, field, config_path);
      if (!name) return std::nullopt;
      auto it = impl->added_by_content.find(*name);
      if (it != impl->added_by_content.end()) return impl->added[it->second].id;
      if (auto id = impl->model->token_to_id(*name)) return id;
      throw InputError(config_path, std::string(field) + " " + json(*name).dump() + " is not in the vocabulary of " + path,
                       "fix the token name, or add it to tokenizer.json with transformers and re-save");
    };
    impl->bos = resolve("bos_token");
    impl->eos = resolve("eos_token");

    // These fast tokenizers replace the post-processor by "[bos] $A [eos]" from add_bos_token/add_eos_token in
    // their constructor (update_post_processor), so that is what AutoTokenizer produces.
    static const std::unordered_map<std::string, bool> kRebuildsPostProcessor = {
        // class -> default of add_bos_token (add_eos_token defaults to false for all)
        {"LlamaTokenizer", true}, {"CodeLlamaTokenizer", true}, {"GemmaTokenizer", true},
        {"CohereTokenizer", true}, {"GPTNeoXTokenizer", false}};
    const auto rebuild = kRebuildsPostProcessor.find(config_class);
    if (rebuild != kRebuildsPostProcessor.end()) {
      const auto flag = [&](const char* field, bool fallback) {
        const auto it = config.find(field);
        if (it == config.end() || it->is_null()) return fallback;
        if (!it->is_boolean()) throw InputError(config_path, std::string(field) + " is not true or false", "fix the entry");
        return it->get<bool>();
      };
      const bool add_bos = flag("add_bos_token", rebuild->second);
      const bool add_eos = flag("add_eos_token", false);
      if ((add_bos && !impl->bos) || (add_eos && !impl->eos))
        throw InputError(config_path, std::string(add_bos && !impl->bos ? "add_bos_token" : "add_eos_token") +
                                          " is true but no such token is named",
                         "set bos_token/eos_token or turn the flag off");
      impl->prefix_ids.clear();
      impl->suffix_ids.clear();
      if (add_bos) impl->prefix_ids.push_back(*impl->bos);
      if (add_eos) impl->suffix_ids.push_back(*impl->eos);
    }
  }
  if (!impl->bos && !file_prefix.empty()) impl->bos = file_prefix.front();
  if (!impl->eos && !file_suffix.empty()) impl->eos = file_suffix.back();
  for (const auto& ids : {impl->prefix_ids, impl->suffix_ids}) {
    for (const int64_t id : ids) {
      if (!impl->token_text(id))
        throw InputError(path, "post_processor adds token id " + std::to_string(id) + ", which is not in the vocabulary",
                         kResave);
    }
  }
  return HfTokenizer(std::move(impl));
}

std::vector<int64_t> HfTokenizer::encode(const std::string& text, bool add_special_tokens) const {
  const Impl& impl = *impl_;
  if (const std::size_t bad = find_invalid_utf8(text); bad != text.size())
    throw InputError("", "text to tokenize is not valid UTF-8 (first bad byte at offset " + std::to_string(bad) + ")",
                     "convert the input to UTF-8");
  Pieces pieces;
  if (!text.empty()) pieces.push_back(Piece{text, true, -1});
  impl.split_added(pieces, impl.raw_matcher);
  if (impl.normalizer) {
    for (auto& piece : pieces) {
      if (piece.token_id < 0) impl.normalizer->normalize(piece.text);
    }
    pieces.erase(std::remove_if(pieces.begin(), pieces.end(), [](const Piece& p) { return p.token_id < 0 && p.text.empty(); }),
                 pieces.end());
  }
  impl.split_added(pieces, impl.normalized_matcher);
  if (impl.pre_tokenizer) impl.pre_tokenizer->pre_tokenize(pieces);

  std::vector<int64_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids.insert(ids.end(), impl.prefix_ids.begin(), impl.prefix_ids.end());
  for (const auto& piece : pieces) {
    if (piece.token_id >= 0) ids.push_back(piece.token_id);
    else impl.model->tokenize(piece.text, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), impl.suffix_ids.begin(), impl.suffix_ids.end());
  return ids;
}

std::string HfTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  const Impl& impl = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int64_t id : ids) {
    const std::string* text = impl.token_text(id);
    if (text == nullptr) continue;
    if (skip_special_tokens && impl.special_contents.count(*text)) continue;
    tokens.push_back(*text);
  }
  if (!impl.decoder) {
    std::string joined;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined.push_back(' ');
      joined += tokens[i];
    }
    return joined;
  }
  impl.decoder->decode_chain(tokens);
  std::string joined;
  for (const auto& t : tokens) joined += t;
  return joined;
}

int64_t HfTokenizer::vocab_size() const { return impl_->vocab_size; }

std::optional<int64_t> HfTokenizer::token_to_id(const std::string& token) const {
  const auto it = impl_->added_by_content.find(token);
  if (it != impl_->added_by_content.end()) return impl_->added[it->second].id;
  return impl_->model->token_to_id(token);
}

std::string HfTokenizer::id_to_token(int64_t id) const {
  const std::string* text = impl_->token_text(id);
  if (text == nullptr)
    throw InputError(impl_->path.string(), "token id " + std::to_string(id) + " is not in the vocabulary (size " +
                                               std::to_string(impl_->vocab_size) + ")",
                     "the ids do not come from this tokenizer's model");
  return *text;
}

bool HfTokenizer::is_special(int64_t id) const {
  const auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && impl_->added[it->second].special;
}

std::optional<int64_t> HfTokenizer::bos_id() const { return impl_->bos; }
std::optional<int64_t> HfTokenizer::eos_id() const { return impl_->eos; }
bool HfTokenizer::adds_bos() const {
  return impl_->bos && !impl_->prefix_ids.empty() && impl_->prefix_ids.front() == *impl_->bos;
}
bool HfTokenizer::adds_eos() const {
  return impl_->eos && !impl_->suffix_ids.empty() && impl_->suffix_ids.back() == *impl_->eos;
}
const fs::path& HfTokenizer::path() const { return impl_->path; }

// ---------------------------------------------------------------------------------------------------------------
// StreamingDecoder

namespace {

// A decode that ends in U+FFFD may be waiting for the rest of a multi-byte character: hold it back.
bool ends_with_replacement(const std::string& text) {
  return text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

}  // namespace

StreamingDecoder::StreamingDecoder(DecodeFn decode_fn) : decode_fn_(std::move(decode_fn)) {
  if (!decode_fn_) throw InternalError("StreamingDecoder needs a decode function");
}

StreamingDecoder StreamingDecoder::for_tokenizer(const HfTokenizer& tokenizer, bool skip_special_tokens) {
  return StreamingDecoder([tokenizer, skip_special_tokens](const std::vector<int64_t>& ids) {
    return tokenizer.decode(ids, skip_special_tokens);
  });
}

std::string StreamingDecoder::push(int64_t id) {
  window_.push_back(id);
  all_ids_.push_back(id);
  const std::string text = decode_fn_(window_);
  if (text.size() <= window_prefix_text_.size() || ends_with_replacement(text)) return {};
  if (text.compare(0, window_prefix_text_.size(), window_prefix_text_) != 0) return resync();
  std::string fresh = text.substr(window_prefix_text_.size());
  emitted_ += fresh;
  // The ids that produced `fresh` become the context for the next ones.
  window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(context_len_));
  context_len_ = window_.size();
  window_prefix_text_ = decode_fn_(window_);
  return fresh;
}

std::string StreamingDecoder::resync() {
  const std::string full = decode_fn_(all_ids_);
  // Until the whole text extends what was emitted and ends in a complete character, keep waiting.
  if (full.compare(0, emitted_.size(), emitted_) != 0 || ends_with_replacement(full)) return {};
  std::string fresh = full.substr(emitted_.size());
  emitted_ = full;
  window_.assign(1, all_ids_.back());
  context_len_ = 1;
  window_prefix_text_ = decode_fn_(window_);
  return fresh;
}

std::string StreamingDecoder::finish() {
  std::string tail;
  if (window_.size() > context_len_) {
    const std::string text = decode_fn_(window_);
    if (text.compare(0, window_prefix_text_.size(), window_prefix_text_) == 0) {
      tail = text.substr(std::min(text.size(), window_prefix_text_.size()));
    } else {
      const std::string full = decode_fn_(all_ids_);
      if (full.compare(0, emitted_.size(), emitted_) == 0) tail = full.substr(emitted_.size());
    }
  }
  reset();
  return tail;
}

void StreamingDecoder::reset() {
  window_.clear();
  context_len_ = 0;
  window_prefix_text_.clear();
  all_ids_.clear();
  emitted_.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// Benchmark

TokenizerBenchResult bench_encode_lines(const HfTokenizer& tokenizer, const std::vector<std::string>& lines) {
  TokenizerBenchResult result;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& line : lines) result.n_tokens += static_cast<int64_t>(tokenizer.encode(line, false).size());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.n_lines = static_cast<int64_t>(lines.size());
  result.tokens_per_s = result.seconds > 0 ? static_cast<double>(result.n_tokens) / result.seconds : 0.0;
  return result;
}

std::vector<std::string> read_bench_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "cannot be opened for reading", "check that the file exists and is readable");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace lowbit::tokenizer
