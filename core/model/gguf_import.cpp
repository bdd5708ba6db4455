#include "core/model/gguf_import.h"

#include "core/model/architecture.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/jobs/eta.h"
#include "core/model/gguf_dequantize.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

namespace lowbit::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

const char* kSupportedArchitectures = "LowBit imports llama (LLaMA, Mistral, SmolLM, TinyLlama, ...) and qwen2 GGUF files";

// ---------------------------------------------------------------------------------------------------------------
// Architecture: hyperparameters from `{arch}.*` metadata.

struct ArchInfo {
  std::string gguf_name;        // "llama"
  std::string hf_architecture;  // "LlamaForCausalLM"
  std::string model_type;       // "llama"
  bool permute_qk = false;      // llama.cpp's converter permutes q/k rows (llama, not qwen2)
  bool qkv_bias = false;        // q/k/v biases are part of the architecture (qwen2)
};

// From the one architecture table (core/model/architecture.h).
ArchInfo arch_info(const GgufFile& file) {
  const std::string arch = file.require_string("general.architecture");
  const Architecture* known = find_architecture_by_gguf_name(arch);
  if (known == nullptr) {
    throw InputError(file.path().string(), "the model architecture is '" + arch + "'", kSupportedArchitectures);
  }
  return {arch, known->hf_name, known->model_type, known->gguf_rope_permuted, known->qkv_bias};
}

struct Hparams {
  int64_t n_embd = 0, n_ff = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  int64_t n_vocab = 0;  // rows of token_embd, or the number of tokens
  bool tied = false;
};

int64_t positive(const GgufFile& file, const std::string& key) {
  const int64_t value = file.require_int(key);
  if (value <= 0 || value > (int64_t{1} << 31))
    throw InputError(file.path().string(), "metadata key '" + key + "' is " + std::to_string(value) + ", not a valid size",
                     "the file is damaged; download it again");
  return value;
}

Hparams read_hparams(const GgufFile& file, const ArchInfo& arch) {
  const std::string a = arch.gguf_name + ".";
  Hparams h;
  h.n_embd = positive(file, a + "embedding_length");
  h.n_ff = positive(file, a + "feed_forward_length");
  h.n_layer = positive(file, a + "block_count");
  h.n_head = positive(file, a + "attention.head_count");
  h.n_head_kv = file.get_int(a + "attention.head_count_kv") ? positive(file, a + "attention.head_count_kv") : h.n_head;
  if (file.get_int(a + "attention.key_length")) {
    h.head_dim = positive(file, a + "attention.key_length");
  } else if (arch.gguf_name == "llama" && file.get_int(a + "rope.dimension_count")) {
    // transformers takes head_dim from rope.dimension_count for llama (full rotary), and ignores it for qwen2.
    h.head_dim = positive(file, a + "rope.dimension_count");
  } else {
    if (h.n_embd % h.n_head != 0)
      throw InputError(file.path().string(),
                       "embedding_length " + std::to_string(h.n_embd) + " is not a multiple of head_count " +
                           std::to_string(h.n_head),
                       "the file is damaged; download it again");
    h.head_dim = h.n_embd / h.n_head;
  }
  if (h.n_head % h.n_head_kv != 0)
    throw InputError(file.path().string(),
                     "head_count " + std::to_string(h.n_head) + " is not a multiple of head_count_kv " +
                         std::to_string(h.n_head_kv),
                     "the file is damaged; download it again");
  if (h.head_dim % 2 != 0)
    throw InputError(file.path().string(), "the attention head size " + std::to_string(h.head_dim) + " is odd",
                     "the file is damaged; download it again");
  if (const GgufTensorInfo* embd = file.find_tensor("token_embd.weight"); embd && embd->ne.size() == 2) {
    h.n_vocab = embd->ne[1];
  } else if (const auto* tokens = file.get_string_array("tokenizer.ggml.tokens")) {
    h.n_vocab = static_cast<int64_t>(tokens->size());
  }
  h.tied = file.find_tensor("output.weight") == nullptr;
  return h;
}

std::optional<int64_t> token_id(const GgufFile& file, const std::string& key, int64_t n_tokens) {
  auto id = file.get_int(key);
  // llama.cpp writes -1 (as u32 4294967295) for "none".
  if (!id || *id < 0 || *id >= n_tokens) return std::nullopt;
  return id;
}

int64_t token_count(const GgufFile& file) {
  const auto* tokens = file.get_string_array("tokenizer.ggml.tokens");
  return tokens ? static_cast<int64_t>(tokens->size()) : 0;
}

}  // namespace

json gguf_hf_config(const GgufFile& file, const std::string& torch_dtype) {
  const ArchInfo arch = arch_info(file);
  const Hparams h = read_hparams(file, arch);
  const std::string a = arch.gguf_name + ".";
  json config;
  config["architectures"] = {arch.hf_architecture};
  config["model_type"] = arch.model_type;
  config["hidden_size"] = h.n_embd;
  config["intermediate_size"] = h.n_ff;
  config["num_hidden_layers"] = h.n_layer;
  config["num_attention_heads"] = h.n_head;
  config["num_key_value_heads"] = h.n_head_kv;
  if (arch.gguf_name == "llama") config["head_dim"] = h.head_dim;
  // The f32 value widened to double, as transformers reads it (9.999999747378752e-06, not 1e-05).
  config["rms_norm_eps"] = file.get_float(a + "attention.layer_norm_rms_epsilon").value_or(1e-6);
  config["max_position_embeddings"] = file.get_int(a + "context_length").value_or(2048);
  config["rope_theta"] = file.get_float(a + "rope.freq_base").value_or(10000.0);
  json rope_scaling = nullptr;
  const std::string scaling_type = file.get_string(a + "rope.scaling.type").value_or("");
  const auto factor = file.get_float(a + "rope.scaling.factor");
  if ((scaling_type == "linear" || scaling_type == "yarn") && factor && *factor > 0) {
    rope_scaling = {{"rope_type", scaling_type}, {"factor", *factor}};
    if (auto original = file.get_int(a + "rope.scaling.original_context_length"))
      rope_scaling["original_max_position_embeddings"] = *original;
  } else if (auto linear = file.get_float(a + "rope.scale_linear"); linear && *linear != 1.0) {
    rope_scaling = {{"rope_type", "linear"}, {"factor", *linear}};  // the key older converters wrote
  } else if (!scaling_type.empty() && scaling_type != "none") {
    throw InputError(file.path().string(), "the RoPE scaling type is '" + scaling_type + "'",
                     "LowBit imports linear and yarn RoPE scaling only");
  }
  config["rope_scaling"] = rope_scaling;
  config["vocab_size"] = h.n_vocab;
  config["tie_word_embeddings"] = h.tied;
  const int64_t n_tokens = token_count(file);
  if (auto bos = token_id(file, "tokenizer.ggml.bos_token_id", n_tokens)) config["bos_token_id"] = *bos;
  if (auto eos = token_id(file, "tokenizer.ggml.eos_token_id", n_tokens)) config["eos_token_id"] = *eos;
  if (auto pad = token_id(file, "tokenizer.ggml.padding_token_id", n_tokens)) config["pad_token_id"] = *pad;
  config["hidden_act"] = "silu";
  config["initializer_range"] = 0.02;
  config["attention_dropout"] = 0.0;
  config["use_cache"] = true;
  if (arch.gguf_name == "llama") {
    config["attention_bias"] = file.find_tensor("blk.0.attn_q.bias") != nullptr;
    config["mlp_bias"] = false;
    config["pretraining_tp"] = 1;
  } else {
    config["use_sliding_window"] = false;
    config["sliding_window"] = nullptr;
  }
  config["torch_dtype"] = torch_dtype;
  return config;
}

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer.

// The byte offsets where UTF-8 code points start (after the first), i.e. where Python's str slicing may cut.
std::vector<size_t> code_point_cuts(const std::string& s) {
  std::vector<size_t> cuts;
  for (size_t k = 1; k < s.size(); ++k)
    if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) cuts.push_back(k);
  return cuts;
}

// Merges for a sentencepiece vocabulary, derived from pieces and scores exactly as transformers'
// GGUFTokenizerSkeleton does (so that our ids equal those of AutoTokenizer.from_pretrained(..., gguf_file=...)):
// every split of a piece into two pieces is a merge ranked by the whole piece's score; splits of one piece are
// ordered by (left score, right score) descending; both sorts are stable.
std::vector<std::pair<std::string, std::string>> spm_merges(const std::vector<std::string>& tokens,
                                                            const std::vector<double>& scores) {
  std::unordered_map<std::string, double> score_of;
  std::vector<std::string> order;  // first appearance, as a Python dict keeps it
  for (size_t k = 0; k < tokens.size(); ++k) {
    auto [it, inserted] = score_of.emplace(tokens[k], scores[k]);
    if (inserted) order.push_back(tokens[k]);
    else it->second = scores[k];
  }
  struct Merge {
    std::string left, right;
    double score;
  };
  std::vector<Merge> merges;
  for (const std::string& piece : order) {
    const double piece_score = score_of[piece];
    std::vector<Merge> local;
    for (size_t cut : code_point_cuts(piece)) {
      std::string left = piece.substr(0, cut), right = piece.substr(cut);
      if (score_of.count(left) && score_of.count(right)) local.push_back({std::move(left), std::move(right), piece_score});
    }
    std::stable_sort(local.begin(), local.end(), [&](const Merge& x, const Merge& y) {
      const double xl = score_of[x.left], yl = score_of[y.left];
      if (xl != yl) return xl > yl;
      return score_of[x.right] > score_of[y.right];
    });
    for (Merge& m : local) merges.push_back(std::move(m));
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& x, const Merge& y) { return x.score > y.score; });
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (Merge& m : merges) out.emplace_back(std::move(m.left), std::move(m.right));
  return out;
}

// Pre-tokenizer regexes, as facts from the models' own tokenizer.json files (llama.cpp's src/llama-vocab.cpp holds
// equivalent hand-adapted forms of the same expressions).
const char* kLlama3Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
const char* kQwen2Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

ordered_json byte_level(bool use_regex, bool trim_offsets) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", trim_offsets}, {"use_regex", use_regex}};
}

ordered_json split_isolated(const char* regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}

struct BpePre {
  ordered_json normalizer = nullptr;
  ordered_json pre_tokenizer;
  bool ignore_merges = false;
  bool add_bos_default = false;
};

BpePre bpe_pre_tokenizer(const GgufFile& file, const std::string& pre) {
  BpePre out;
  if (pre == "default" || pre == "gpt-2" || pre == "gpt2") {
    // GPT-2's own regex is built into the ByteLevel pre-tokenizer.
    out.pre_tokenizer = byte_level(true, true);
  } else if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") {
    out.pre_tokenizer = {{"type", "Sequence"},
                         {"pretokenizers", {split_isolated(kLlama3Regex), byte_level(false, true)}}};
    out.ignore_merges = true;  // Llama 3 looks whole words up before merging (llama.cpp sets ignore_merges too)
    out.add_bos_default = true;
  } else if (pre == "smollm" || pre == "starcoder") {
    // Each digit its own pre-token, then GPT-2's split: llama.cpp's regex pair {"\p{N}", gpt-2 regex}.
    out.pre_tokenizer = {{"type", "Sequence"},
                         {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true, true)}}};
  } else if (pre == "qwen2") {
    out.normalizer = {{"type", "NFC"}};
    out.pre_tokenizer = {{"type", "Sequence"},
                         {"pretokenizers", {split_isolated(kQwen2Regex), byte_level(false, false)}}};
  } else {
    throw InputError(file.path().string(), "the tokenizer's pre-tokenizer is '" + pre + "'",
                     "LowBit imports the pre-tokenizers default, gpt-2, llama-bpe, smollm, starcoder and qwen2");
  }
  return out;
}

ordered_json template_processing(const std::vector<std::string>& tokens, std::optional<int64_t> bos,
                                 std::optional<int64_t> eos) {
  ordered_json single = ordered_json::array(), pair = ordered_json::array(), specials = ordered_json::object();
  auto special = [&](int64_t id, int type_id) {
    specials[tokens[id]] = {{"id", tokens[id]}, {"ids", {id}}, {"tokens", {tokens[id]}}};
    return ordered_json{{"SpecialToken", {{"id", tokens[id]}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) {
    return ordered_json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  if (bos) single.push_back(special(*bos, 0));
  single.push_back(sequence("A", 0));
  if (eos) single.push_back(special(*eos, 0));
  if (bos) pair.push_back(special(*bos, 0));
  pair.push_back(sequence("A", 0));
  if (eos) pair.push_back(special(*eos, 0));
  if (bos) pair.push_back(special(*bos, 1));
  pair.push_back(sequence("B", 1));
  if (eos) pair.push_back(special(*eos, 1));
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

}  // namespace

HfTokenizerFiles gguf_hf_tokenizer(const GgufFile& file) {
  const std::string path = file.path().string();
  const auto model = file.get_string("tokenizer.ggml.model");
  if (!model)
    throw InputError(path, "the file has no tokenizer (tokenizer.ggml.model is missing)",
                     "download a complete model GGUF; adapters and split parts have no tokenizer");
  const auto* tokens_ptr = file.get_string_array("tokenizer.ggml.tokens");
  if (!tokens_ptr || tokens_ptr->empty())
    throw InputError(path, "the tokenizer has no tokens (tokenizer.ggml.tokens)", "the file is damaged; download it again");
  const std::vector<std::string>& tokens = *tokens_ptr;
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  std::vector<int64_t> token_type(tokens.size(), 1);  // 1 = normal
  if (const auto* types = file.get_int_array("tokenizer.ggml.token_type")) {
    if (types->size() != tokens.size())
      throw InputError(path,
                       "tokenizer.ggml.token_type has " + std::to_string(types->size()) + " entries for " +
                           std::to_string(tokens.size()) + " tokens",
                       "the file is damaged; download it again");
    token_type = *types;
  }
  const auto bos = token_id(file, "tokenizer.ggml.bos_token_id", n_tokens);
  const auto eos = token_id(file, "tokenizer.ggml.eos_token_id", n_tokens);
  const auto unk = token_id(file, "tokenizer.ggml.unknown_token_id", n_tokens);
  const auto pad = token_id(file, "tokenizer.ggml.padding_token_id", n_tokens);

  ordered_json vocab = ordered_json::object();
  for (int64_t id = 0; id < n_tokens; ++id) vocab[tokens[id]] = id;  // a repeated piece keeps its last id, as in Python

  ordered_json merges = ordered_json::array();
  ordered_json bpe = {{"type", "BPE"}, {"dropout", nullptr}};
  HfTokenizerFiles files;
  ordered_json& tok = files.tokenizer;
  tok["version"] = "1.0";
  tok["truncation"] = nullptr;
  tok["padding"] = nullptr;
  bool add_bos = false;
  std::string tokenizer_class;

  if (*model == "llama") {
    // A sentencepiece vocabulary as HF BPE with byte fallback: the form transformers' GGUFLlamaConverter builds
    // (and TinyLlama's tokenizer.json has): "▁" prepended and spaces replaced by "▁" in the normalizer.
    const auto* scores = file.get_float_array("tokenizer.ggml.scores");
    if (!scores || scores->size() != tokens.size())
      throw InputError(path, "the sentencepiece tokenizer has no scores for its " + std::to_string(n_tokens) + " tokens",
                       "the file is damaged; download it again");
    for (auto& [left, right] : spm_merges(tokens, *scores)) merges.push_back({left, right});
    const bool add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
    ordered_json normalizers = ordered_json::array();
    if (add_space_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", "\u2581"}});
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}});
    tok["normalizer"] = {{"type", "Sequence"}, {"normalizers", normalizers}};
    tok["pre_tokenizer"] = nullptr;
    ordered_json decoders = {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                             {{"type", "ByteFallback"}},
                             {{"type", "Fuse"}}};
    if (add_space_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    tok["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
    bpe["unk_token"] = unk ? ordered_json(tokens[*unk]) : ordered_json(nullptr);
    bpe["continuing_subword_prefix"] = nullptr;
    bpe["end_of_word_suffix"] = nullptr;
    bpe["fuse_unk"] = true;
    bpe["byte_fallback"] = true;
    bpe["ignore_merges"] = false;
    add_bos = true;  // llama.cpp's default for sentencepiece vocabularies
    tokenizer_class = "LlamaTokenizerFast";
  } else if (*model == "gpt2") {
    const auto* gguf_merges = file.get_string_array("tokenizer.ggml.merges");
    if (!gguf_merges)
      throw InputError(path, "the byte-level BPE tokenizer has no merges (tokenizer.ggml.merges)",
                       "the file is damaged; download it again");
    std::unordered_set<std::string> known(tokens.begin(), tokens.end());
    for (const std::string& merge : *gguf_merges) {
      const size_t space = merge.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= merge.size())
        throw InputError(path, "tokenizer merge '" + merge + "' is not two tokens separated by a space",
                         "the file is damaged; download it again");
      std::string left = merge.substr(0, space), right = merge.substr(space + 1);
      if (!known.count(left) || !known.count(right) || !known.count(left + right))
        throw InputError(path, "tokenizer merge '" + merge + "' uses a token that is not in the vocabulary",
                         "the file is damaged; download it again");
      merges.push_back({std::move(left), std::move(right)});
    }
    const BpePre pre = bpe_pre_tokenizer(file, file.get_string("tokenizer.ggml.pre").value_or("default"));
    tok["normalizer"] = pre.normalizer;
    tok["pre_tokenizer"] = pre.pre_tokenizer;
    tok["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    bpe["unk_token"] = nullptr;
    bpe["continuing_subword_prefix"] = nullptr;
    bpe["end_of_word_suffix"] = nullptr;
    bpe["fuse_unk"] = false;
    bpe["byte_fallback"] = false;
    bpe["ignore_merges"] = pre.ignore_merges;
    add_bos = pre.add_bos_default;
    tokenizer_class = "PreTrainedTokenizerFast";
  } else {
    throw InputError(path, "the tokenizer model is '" + *model + "'",
                     "LowBit imports sentencepiece ('llama') and byte-level BPE ('gpt2') tokenizers");
  }
  add_bos = file.get_bool("tokenizer.ggml.add_bos_token").value_or(add_bos);
  const bool add_eos = file.get_bool("tokenizer.ggml.add_eos_token").value_or(false);

  // Control tokens (type 3) are special; user-defined ones (type 4) are matched whole in text but not special —
  // what llama.cpp does with them.
  ordered_json added = ordered_json::array();
  ordered_json added_decoder = ordered_json::object();
  for (int64_t id = 0; id < n_tokens; ++id) {
    const int64_t type = token_type[static_cast<size_t>(id)];
    if (type != 3 && type != 4) continue;
    const bool special = type == 3;
    added.push_back({{"id", id},
                     {"content", tokens[id]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", special}});
    added_decoder[std::to_string(id)] = {{"content", tokens[id]}, {"lstrip", false}, {"normalized", false},
                                         {"rstrip", false},       {"single_word", false}, {"special", special}};
  }
  tok["added_tokens"] = added;
  tok["post_processor"] = (add_bos && bos) || (add_eos && eos)
                              ? template_processing(tokens, add_bos ? bos : std::nullopt, add_eos ? eos : std::nullopt)
                              : (*model == "gpt2" ? ordered_json{{"type", "ByteLevel"},
                                                                 {"add_prefix_space", true},
                                                                 {"trim_offsets", false},
                                                                 {"use_regex", true}}
                                                  : ordered_json(nullptr));
  bpe["vocab"] = std::move(vocab);
  bpe["merges"] = std::move(merges);
  tok["model"] = std::move(bpe);
  // tokenizers expects this key order: version, truncation, padding, added_tokens, normalizer, ...
  ordered_json ordered;
  for (const char* key : {"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
                          "post_processor", "decoder", "model"})
    ordered[key] = std::move(tok[key]);
  tok = std::move(ordered);

  ordered_json& config = files.tokenizer_config;
  config["add_bos_token"] = add_bos;
  config["add_eos_token"] = add_eos;
  config["added_tokens_decoder"] = added_decoder;
  ordered_json& special_map = files.special_tokens_map;
  special_map = ordered_json::object();
  if (bos) config["bos_token"] = special_map["bos_token"] = tokens[*bos];
  if (eos) config["eos_token"] = special_map["eos_token"] = tokens[*eos];
  if (unk) config["unk_token"] = special_map["unk_token"] = tokens[*unk];
  if (pad) config["pad_token"] = special_map["pad_token"] = tokens[*pad];
  if (auto chat_template = file.get_string("tokenizer.chat_template")) config["chat_template"] = *chat_template;
  config["clean_up_tokenization_spaces"] = false;
  if (*model == "llama") config["legacy"] = true;  // matches the normalizer above; silences LlamaTokenizerFast
  const auto arch = file.get_string("general.architecture");
  const auto context = arch ? file.get_int(*arch + ".context_length") : std::nullopt;
  if (context && *context > 0) config["model_max_length"] = *context;
  config["tokenizer_class"] = tokenizer_class;
  return files;
}

namespace {

std::string dump_json(const ordered_json& j, int indent) {
  // GGUF token strings are not always valid UTF-8; replace what is not rather than fail the whole import.
  return j.dump(indent, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::string dump_json(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace) + "\n";
}

void write_tokenizer_files(const GgufFile& file, const fs::path& dir) {
  const HfTokenizerFiles files = gguf_hf_tokenizer(file);
  write_text_file_atomically(dir / "tokenizer.json", dump_json(files.tokenizer, 2));
  write_text_file_atomically(dir / "tokenizer_config.json", dump_json(files.tokenizer_config, 2));
  write_text_file_atomically(dir / "special_tokens_map.json", dump_json(files.special_tokens_map, 2));
}

// ---------------------------------------------------------------------------------------------------------------
// Tensors: the name/shape table and the safetensors writer.

enum class Dim { Vocab, Embd, FF, QRows, KVRows };

struct TensorRule {
  const char* gguf;  // suffix after "blk.N." for per-layer tensors
  const char* hf;    // suffix after "model.layers.N."
  std::vector<Dim> hf_shape;
  enum Permute { None, Q, K } permute = None;
};

const std::vector<TensorRule>& global_rules() {
  static const std::vector<TensorRule> rules = {
      {"token_embd.weight", "model.embed_tokens.weight", {Dim::Vocab, Dim::Embd}},
      {"output_norm.weight", "model.norm.weight", {Dim::Embd}},
      {"output.weight", "lm_head.weight", {Dim::Vocab, Dim::Embd}},
  };
  return rules;
}

const std::vector<TensorRule>& layer_rules() {
  static const std::vector<TensorRule> rules = {
      {"attn_norm.weight", "input_layernorm.weight", {Dim::Embd}},
      {"attn_q.weight", "self_attn.q_proj.weight", {Dim::QRows, Dim::Embd}, TensorRule::Q},
      {"attn_k.weight", "self_attn.k_proj.weight", {Dim::KVRows, Dim::Embd}, TensorRule::K},
      {"attn_v.weight", "self_attn.v_proj.weight", {Dim::KVRows, Dim::Embd}},
      {"attn_output.weight", "self_attn.o_proj.weight", {Dim::Embd, Dim::QRows}},
      {"attn_q.bias", "self_attn.q_proj.bias", {Dim::QRows}, TensorRule::Q},
      {"attn_k.bias", "self_attn.k_proj.bias", {Dim::KVRows}, TensorRule::K},
      {"attn_v.bias", "self_attn.v_proj.bias", {Dim::KVRows}},
      {"attn_output.bias", "self_attn.o_proj.bias", {Dim::Embd}},
      {"ffn_norm.weight", "post_attention_layernorm.weight", {Dim::Embd}},
      {"ffn_gate.weight", "mlp.gate_proj.weight", {Dim::FF, Dim::Embd}},
      {"ffn_up.weight", "mlp.up_proj.weight", {Dim::FF, Dim::Embd}},
      {"ffn_down.weight", "mlp.down_proj.weight", {Dim::Embd, Dim::FF}},
  };
  return rules;
}

bool is_required(const std::string& gguf_suffix, const ArchInfo& arch, bool has_attention_bias) {
  if (gguf_suffix == "output.weight") return false;  // absent: tied to token_embd
  const bool qkv_bias = gguf_suffix == "attn_q.bias" || gguf_suffix == "attn_k.bias" || gguf_suffix == "attn_v.bias";
  if (gguf_suffix == "attn_output.bias") return arch.gguf_name == "llama" && has_attention_bias;
  if (qkv_bias) return arch.qkv_bias || has_attention_bias;
  return true;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t k = 0; k < shape.size(); ++k) text += (k ? ", " : "") + std::to_string(shape[k]);
  return text + "]";
}

enum class OutDtype { F32, F16, BF16 };

const char* safetensors_dtype(OutDtype d) { return d == OutDtype::F32 ? "F32" : d == OutDtype::F16 ? "F16" : "BF16"; }
size_t element_size(OutDtype d) { return d == OutDtype::F32 ? 4 : 2; }

struct PlannedTensor {
  const GgufTensorInfo* source = nullptr;
  std::string hf_name;
  std::vector<int64_t> hf_shape;
  OutDtype dtype = OutDtype::F32;
  TensorRule::Permute permute = TensorRule::None;
  int64_t permute_heads = 0;
  uint64_t begin = 0, end = 0;  // data offsets in the safetensors file
};

bool is_quantized(GgmlType type) {
  return type != GgmlType::F32 && type != GgmlType::F16 && type != GgmlType::BF16;
}

// Rows of a q/k projection back from llama.cpp's RoPE layout to HF's. llama.cpp's converter did
//   w.reshape(n_head, 2, head_dim/2, ...).swapaxes(1, 2)      (HF row h·hd + half·hd/2 + i → GGUF row h·hd + 2i + half)
// so HF row h·hd + half·hd/2 + i is GGUF row h·hd + 2i + half (transformers' reverse_permute_weights).
std::vector<uint8_t> unpermute_rows(const std::vector<uint8_t>& data, int64_t rows, int64_t n_head) {
  std::vector<uint8_t> out(data.size());
  const size_t row_bytes = data.size() / static_cast<size_t>(rows);
  const int64_t head_dim = rows / n_head;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t half = 0; half < 2; ++half)
      for (int64_t i = 0; i < head_dim / 2; ++i) {
        const int64_t hf_row = h * head_dim + half * (head_dim / 2) + i;
        const int64_t gguf_row = h * head_dim + 2 * i + half;
        std::memcpy(out.data() + static_cast<size_t>(hf_row) * row_bytes,
                    data.data() + static_cast<size_t>(gguf_row) * row_bytes, row_bytes);
      }
  return out;
}

// Dequantizes a whole tensor to float, row by row (rows of ne0 numbers).
std::vector<float> dequantize_tensor(const GgufTensorInfo& t, const std::vector<uint8_t>& raw) {
  std::vector<float> values(static_cast<size_t>(t.n_elements));
  const int64_t row = t.ne[0];
  const GgmlTypeInfo* info = ggml_type_info(t.type);
  const size_t row_bytes = static_cast<size_t>(row / info->block_size * info->type_size);
  const int64_t rows = t.n_elements / row;
  for (int64_t r = 0; r < rows; ++r)
    dequantize_row(t.ggml_type(), raw.data() + static_cast<size_t>(r) * row_bytes,
                   values.data() + static_cast<size_t>(r * row), row);
  return values;
}

float max_abs(const std::vector<float>& values) {
  float m = 0;
  for (float v : values) m = std::max(m, std::fabs(v));
  return m;
}

// The bytes of one tensor as written to safetensors.
std::vector<uint8_t> convert_tensor(const PlannedTensor& p, const std::vector<uint8_t>& raw) {
  const GgufTensorInfo& t = *p.source;
  std::vector<uint8_t> out;
  if (!is_quantized(t.ggml_type())) {
    out = raw;  // stored type is kept
  } else {
    const std::vector<float> values = dequantize_tensor(t, raw);
    out.resize(values.size() * element_size(p.dtype));
    if (p.dtype == OutDtype::F32) {
      std::memcpy(out.data(), values.data(), out.size());
    } else {
      for (size_t k = 0; k < values.size(); ++k) {
        const uint16_t h = fp32_to_fp16(values[k]);
        std::memcpy(out.data() + 2 * k, &h, 2);
      }
    }
  }
  if (p.permute != TensorRule::None) out = unpermute_rows(out, p.hf_shape[0], p.permute_heads);
  return out;
}

void log_line(jobs::JobEvents& events, jobs::LogLevel level, const std::string& text) { events.log({level, text}); }

fs::path without_trailing_separator(const fs::path& path) {
  fs::path p = path.lexically_normal();
  if (p.filename().empty() && p.has_parent_path()) p = p.parent_path();
  return p;
}

}  // namespace

GgufImportResult import_gguf(const fs::path& gguf_path, const fs::path& out_dir_arg, const GgufImportOptions& options,
                             jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const fs::path out_dir = without_trailing_separator(out_dir_arg);
  std::error_code error;
  if (fs::exists(out_dir, error) && !(fs::is_directory(out_dir, error) && fs::is_empty(out_dir, error)))
    throw InputError(out_dir.string(), "the output folder already exists and is not empty",
                     "choose another --out or remove it");

  const GgufFile file = GgufFile::open(gguf_path);
  const std::string path = file.path().string();
  const ArchInfo arch = arch_info(file);
  const Hparams h = read_hparams(file, arch);
  GgufImportResult result;
  result.gguf_architecture = arch.gguf_name;
  result.hf_architecture = arch.hf_architecture;

  // Check everything before writing anything: tokenizer, names, shapes.
  const HfTokenizerFiles tokenizer = gguf_hf_tokenizer(file);
  const int64_t n_tokens = token_count(file);
  if (n_tokens != h.n_vocab)
    log_line(events, jobs::LogLevel::Info,
             "the tokenizer has " + std::to_string(n_tokens) + " tokens and the embedding " +
                 std::to_string(h.n_vocab) + " rows; vocab_size is " + std::to_string(h.n_vocab));

  auto dim_value = [&](Dim d) -> int64_t {
    switch (d) {
      case Dim::Vocab: return h.n_vocab;
      case Dim::Embd: return h.n_embd;
      case Dim::FF: return h.n_ff;
      case Dim::QRows: return h.n_head * h.head_dim;
      case Dim::KVRows: return h.n_head_kv * h.head_dim;
    }
    return 0;
  };
  const bool has_attention_bias = arch.gguf_name == "llama" && file.find_tensor("blk.0.attn_q.bias") != nullptr;
  const OutDtype dequant_dtype = options.dtype == GgufImportDtype::F32 ? OutDtype::F32 : OutDtype::F16;

  std::vector<PlannedTensor> plan;
  auto plan_tensor = [&](const GgufTensorInfo& t, const TensorRule& rule, const std::string& hf_name) {
    PlannedTensor p;
    p.source = &t;
    p.hf_name = hf_name;
    p.hf_shape = t.hf_shape();
    std::vector<int64_t> expected;
    for (Dim d : rule.hf_shape) expected.push_back(dim_value(d));
    if (p.hf_shape != expected)
      throw InputError(path,
                       "tensor '" + t.name + "' (" + hf_name + ") has shape " + shape_text(p.hf_shape) +
                           ", expected " + shape_text(expected) + " from the metadata",
                       "the file is damaged or from an unsupported variant of the architecture");
    if (!is_quantized(t.ggml_type())) {
      p.dtype = t.ggml_type() == GgmlType::F32 ? OutDtype::F32
                : t.ggml_type() == GgmlType::F16 ? OutDtype::F16
                                                  : OutDtype::BF16;
    } else {
      p.dtype = p.hf_shape.size() == 1 ? OutDtype::F32 : dequant_dtype;
    }
    if (arch.permute_qk && rule.permute != TensorRule::None) {
      p.permute = rule.permute;
      p.permute_heads = rule.permute == TensorRule::Q ? h.n_head : h.n_head_kv;
    }
    plan.push_back(std::move(p));
  };

  std::set<std::string> seen;
  for (const GgufTensorInfo& t : file.tensors()) {
    bool mapped = false;
    for (const TensorRule& rule : global_rules())
      if (t.name == rule.gguf) {
        plan_tensor(t, rule, rule.hf);
        mapped = true;
      }
    if (!mapped && t.name.rfind("blk.", 0) == 0) {
      const size_t dot = t.name.find('.', 4);
      const std::string index_text = dot == std::string::npos ? "" : t.name.substr(4, dot - 4);
      if (!index_text.empty() && index_text.size() < 10 &&
          std::all_of(index_text.begin(), index_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        const int64_t layer = std::stoll(index_text);
        const std::string suffix = t.name.substr(dot + 1);
        for (const TensorRule& rule : layer_rules()) {
          if (suffix != rule.gguf) continue;
          if (layer >= h.n_layer)
            throw InputError(path,
                             "tensor '" + t.name + "' belongs to layer " + std::to_string(layer) +
                                 " but the metadata says there are " + std::to_string(h.n_layer) + " layers",
                             "the file is damaged; download it again");
          if (!is_required(suffix, arch, has_attention_bias) && suffix.find("bias") != std::string::npos)
            break;  // a bias the HF model has no place for: reported as skipped below
          plan_tensor(t, rule, "model.layers." + index_text + "." + rule.hf);
          mapped = true;
        }
      }
    }
    if (mapped) {
      seen.insert(t.name);
    } else {
      result.skipped_tensors.push_back(t.name);
      log_line(events, jobs::LogLevel::Warning,
               "skipping tensor '" + t.name + "': it has no counterpart in " + arch.hf_architecture);
    }
  }
  auto require = [&](const std::string& name) {
    if (!seen.count(name))
      throw InputError(path, "tensor '" + name + "' is missing",
                       "the file is incomplete or a vocabulary-only GGUF; download the full model");
  };
  for (const TensorRule& rule : global_rules())
    if (is_required(rule.gguf, arch, has_attention_bias)) require(rule.gguf);
  for (int64_t layer = 0; layer < h.n_layer; ++layer)
    for (const TensorRule& rule : layer_rules())
      if (is_required(rule.gguf, arch, has_attention_bias)) require("blk." + std::to_string(layer) + "." + rule.gguf);

  // float16 holds up to 65504: a dequantized matrix with larger values is written as F32 instead of as inf.
  // Deciding needs the values, and the safetensors header (with every dtype) comes before the data, so this is a
  // first pass over the quantized tensors.
  jobs::EtaClock clock;
  for (PlannedTensor& p : plan) {
    if (p.dtype != OutDtype::F16 || !is_quantized(p.source->ggml_type())) continue;
    cancel.throw_if_cancelled();
    const float largest = max_abs(dequantize_tensor(*p.source, file.read_tensor_data(*p.source)));
    if (!(largest < 65520.0f)) {  // 65520 and above round to inf (NaN too fails the test)
      p.dtype = OutDtype::F32;
      result.f32_fallback_tensors.push_back(p.hf_name);
      log_line(events, jobs::LogLevel::Warning,
               "tensor '" + p.hf_name + "' has values up to " + std::to_string(largest) +
                   ", beyond the float16 range: it is written as F32");
    }
  }

  // Write order: 4-byte types first, so every tensor starts at a multiple of its element size (the header is
  // padded to 8 bytes), which lets readers map the file and use the data in place.
  std::stable_sort(plan.begin(), plan.end(), [](const PlannedTensor& a, const PlannedTensor& b) {
    return element_size(a.dtype) > element_size(b.dtype);
  });
  json header = json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  bool any_f32_matrix = false, any_f16_matrix = false, any_bf16_matrix = false;
  for (PlannedTensor& p : plan) {
    uint64_t n = 1;
    for (int64_t d : p.hf_shape) n *= static_cast<uint64_t>(d);
    p.begin = offset;
    p.end = offset + n * element_size(p.dtype);
    offset = p.end;
    header[p.hf_name] = {{"dtype", safetensors_dtype(p.dtype)}, {"shape", p.hf_shape}, {"data_offsets", {p.begin, p.end}}};
    if (p.hf_shape.size() == 2) {
      any_f32_matrix |= p.dtype == OutDtype::F32;
      any_f16_matrix |= p.dtype == OutDtype::F16;
      any_bf16_matrix |= p.dtype == OutDtype::BF16;
    }
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  result.safetensors_bytes = 8 + header_text.size() + offset;
  // The widest type the matrices use, so that loading with torch_dtype="auto" loses nothing.
  result.torch_dtype = any_f32_matrix ? "float32" : any_bf16_matrix && !any_f16_matrix ? "bfloat16" : "float16";
  if (any_bf16_matrix && any_f16_matrix && !any_f32_matrix) result.torch_dtype = "float32";
  const json config = gguf_hf_config(file, result.torch_dtype);

  json generation = {{"_from_model_config", true}};
  if (config.contains("bos_token_id")) generation["bos_token_id"] = config["bos_token_id"];
  if (config.contains("eos_token_id")) {
    // llama.cpp's end-of-turn token (Llama 3 <|eot_id|>) also ends generation when it differs from eos.
    const auto eot = token_id(file, "tokenizer.ggml.eot_token_id", n_tokens);
    if (eot && *eot != config["eos_token_id"].get<int64_t>())
      generation["eos_token_id"] = {config["eos_token_id"], *eot};
    else
      generation["eos_token_id"] = config["eos_token_id"];
  }
  if (config.contains("pad_token_id")) generation["pad_token_id"] = config["pad_token_id"];

  const int64_t total = static_cast<int64_t>(plan.size());
  write_directory_atomically(out_dir, [&](const fs::path& dir) {
    write_file_atomically(dir / "model.safetensors", [&](std::ostream& out) {
      unsigned char length[8];
      for (int k = 0; k < 8; ++k) length[k] = static_cast<unsigned char>((header_text.size() >> (8 * k)) & 0xFF);
      out.write(reinterpret_cast<const char*>(length), 8);
      out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
      int64_t done = 0;
      for (const PlannedTensor& p : plan) {
        cancel.throw_if_cancelled();
        const std::vector<uint8_t> bytes = convert_tensor(p, file.read_tensor_data(*p.source));
        if (bytes.size() != p.end - p.begin)
          throw InternalError("gguf import: tensor " + p.hf_name + " converted to " + std::to_string(bytes.size()) +
                              " bytes, planned " + std::to_string(p.end - p.begin));
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!out) throw ResourceError("writing " + (dir / "model.safetensors").string() + " failed; the disk may be full");
        ++done;
        events.progress({"tensors", done, total, clock.seconds_left(done, total)});
      }
    });
    write_text_file_atomically(dir / "config.json", dump_json(config, 2));
    write_text_file_atomically(dir / "generation_config.json", dump_json(generation, 2));
    write_text_file_atomically(dir / "tokenizer.json", dump_json(tokenizer.tokenizer, 2));
    write_text_file_atomically(dir / "tokenizer_config.json", dump_json(tokenizer.tokenizer_config, 2));
    write_text_file_atomically(dir / "special_tokens_map.json", dump_json(tokenizer.special_tokens_map, 2));
    cancel.throw_if_cancelled();
  }, ExistingFolder::Refuse);
  result.tensors_written = total;
  return result;
}

void write_tokenizer_from_gguf(const fs::path& gguf_path, const fs::path& out_dir) {
  const GgufFile file = GgufFile::open(gguf_path);
  fs::create_directories(out_dir);
  write_tokenizer_files(file, out_dir);
}

void GgufImportJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  events.log({jobs::LogLevel::Info,
              "importing " + params_.gguf_path.string() + " into " + params_.out_dir.string() + " (quantized weights as " +
                  (params_.options.dtype == GgufImportDtype::F32 ? "F32" : "F16") + ")"});
  result_ = import_gguf(params_.gguf_path, params_.out_dir, params_.options, events, cancel);
  events.log({jobs::LogLevel::Info, "imported " + std::to_string(result_.tensors_written) + " tensors as " +
                                        result_.hf_architecture + " (" + result_.torch_dtype + ")"});
  events.artifact({"model", params_.out_dir.string()});
}

}  // namespace lowbit::model
