#include "core/export/gguf_export.h"
#include "core/util/json_limits.h"

#include <sentencepiece_processor.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/export/hf_export.h"
#include "core/model/architecture.h"
#include "core/model/gguf_dequantize.h"
#include "core/tokenizer/chat_template.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

namespace lowbit::exporting {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr uint64_t kAlignment = 32;  // GGUF's default general.alignment
constexpr int64_t kBlock = 32;       // numbers per Q8_0 / Q4_0 block

enum class ValueType : uint32_t { U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9 };
enum class TensorType : uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8 };

void put_u32(std::string& out, uint32_t value) { out.append(reinterpret_cast<const char*>(&value), 4); }
void put_u64(std::string& out, uint64_t value) { out.append(reinterpret_cast<const char*>(&value), 8); }
void put_string(std::string& out, const std::string& text) {
  put_u64(out, text.size());
  out += text;
}

// The key/value section, in the order added (llama.cpp's writers put general.* first).
class Metadata {
 public:
  void string(const std::string& key, const std::string& value) {
    head(key, ValueType::String);
    put_string(bytes_, value);
  }
  void u32(const std::string& key, uint32_t value) {
    head(key, ValueType::U32);
    put_u32(bytes_, value);
  }
  void f32(const std::string& key, float value) {
    head(key, ValueType::F32);
    bytes_.append(reinterpret_cast<const char*>(&value), 4);
  }
  void boolean(const std::string& key, bool value) {
    head(key, ValueType::Bool);
    bytes_ += static_cast<char>(value ? 1 : 0);
  }
  void strings(const std::string& key, const std::vector<std::string>& values) {
    array_head(key, ValueType::String, values.size());
    for (const std::string& value : values) put_string(bytes_, value);
  }
  void f32s(const std::string& key, const std::vector<float>& values) {
    array_head(key, ValueType::F32, values.size());
    bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  }
  void i32s(const std::string& key, const std::vector<int32_t>& values) {
    array_head(key, ValueType::I32, values.size());
    bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  }
  const std::string& bytes() const { return bytes_; }
  uint64_t count() const { return count_; }

 private:
  void head(const std::string& key, ValueType type) {
    put_string(bytes_, key);
    put_u32(bytes_, static_cast<uint32_t>(type));
    ++count_;
  }
  void array_head(const std::string& key, ValueType type, size_t n) {
    head(key, ValueType::Array);
    put_u32(bytes_, static_cast<uint32_t>(type));
    put_u64(bytes_, n);
  }
  std::string bytes_;
  uint64_t count_ = 0;
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> ne;  // innermost first
  TensorType type;
  std::string data;
};

std::string as_f32(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4);
}

std::string as_f16(const std::vector<float>& values) {
  std::string out(values.size() * 2, '\0');
  for (size_t k = 0; k < values.size(); ++k) {
    const uint16_t half = model::fp32_to_fp16(values[k]);
    std::memcpy(&out[2 * k], &half, 2);
  }
  return out;
}

// llama.cpp's quantize_row_q8_0_ref: per 32 numbers, d = max|x| / 127 (fp16) and round(x / d).
std::string as_q8_0(const std::vector<float>& values) {
  std::string out;
  out.reserve(values.size() / kBlock * 34);
  for (size_t start = 0; start < values.size(); start += kBlock) {
    float amax = 0;
    for (int64_t j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(values[start + j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t half = model::fp32_to_fp16(d);
    out.append(reinterpret_cast<const char*>(&half), 2);
    for (int64_t j = 0; j < kBlock; ++j) out += static_cast<char>(static_cast<int8_t>(std::roundf(values[start + j] * id)));
  }
  return out;
}

// llama.cpp's quantize_row_q4_0_ref: d = (the number of largest magnitude) / −8, 4-bit codes min(15, x/d + 8.5),
// the first 16 numbers in the low nibbles, the last 16 in the high ones.
std::string as_q4_0(const std::vector<float>& values) {
  std::string out;
  out.reserve(values.size() / kBlock * 18);
  for (size_t start = 0; start < values.size(); start += kBlock) {
    float amax = 0, max = 0;
    for (int64_t j = 0; j < kBlock; ++j) {
      const float v = values[start + j];
      if (std::fabs(v) > amax) {
        amax = std::fabs(v);
        max = v;
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t half = model::fp32_to_fp16(d);
    out.append(reinterpret_cast<const char*>(&half), 2);
    for (int64_t j = 0; j < kBlock / 2; ++j) {
      const auto low = static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>(values[start + j] * id + 8.5f))));
      const auto high = static_cast<uint8_t>(
          std::min(15, static_cast<int>(static_cast<int8_t>(values[start + j + kBlock / 2] * id + 8.5f))));
      out += static_cast<char>(low | (high << 4));
    }
  }
  return out;
}

// HF name → GGUF name (llama.cpp's tensor names), and whether the rows take llama.cpp's RoPE order.
struct NameRule {
  const char* hf;
  const char* gguf;
  enum Permute { None, Q, K } permute = None;
};

const std::vector<NameRule>& layer_rules() {
  static const std::vector<NameRule> rules = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight", NameRule::Q},
      {"self_attn.k_proj.weight", "attn_k.weight", NameRule::K},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias", NameRule::Q},
      {"self_attn.k_proj.bias", "attn_k.bias", NameRule::K},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  return rules;
}

std::pair<std::string, NameRule::Permute> gguf_name(const std::string& hf) {
  if (hf == "model.embed_tokens.weight") return {"token_embd.weight", NameRule::None};
  if (hf == "model.norm.weight") return {"output_norm.weight", NameRule::None};
  if (hf == "lm_head.weight") return {"output.weight", NameRule::None};
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) == 0) {
    const size_t dot = hf.find('.', prefix.size());
    const std::string layer = hf.substr(prefix.size(), dot - prefix.size());
    const std::string rest = hf.substr(dot + 1);
    for (const NameRule& rule : layer_rules()) {
      if (rest == rule.hf) return {"blk." + layer + "." + rule.gguf, rule.permute};
    }
  }
  throw InternalError("GGUF export: no llama.cpp name for the tensor " + hf);
}

// convert_hf_to_gguf.py's LlamaModel.permute: rows h·hd + half·hd/2 + i go to h·hd + 2i + half.
at::Tensor rope_permuted(const at::Tensor& w, int64_t n_head) {
  const int64_t rows = w.size(0);
  std::vector<int64_t> shape = {n_head, 2, rows / n_head / 2};
  for (int64_t d = 1; d < w.dim(); ++d) shape.push_back(w.size(d));
  return w.reshape(shape).transpose(1, 2).reshape(w.sizes()).contiguous();
}

GgufTensor convert(const std::string& hf_name, at::Tensor weight, const model::LlamaConfig& config, bool permute_rope,
                   GgufExportType type, int64_t& f16_fallbacks) {
  const auto [name, permute] = gguf_name(hf_name);
  if (permute_rope && permute != NameRule::None) {
    weight = rope_permuted(weight, permute == NameRule::Q ? config.n_head : config.n_head_kv);
  }
  const at::Tensor flat = weight.to(at::kFloat).contiguous();
  const std::vector<float> values(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
  GgufTensor tensor;
  tensor.name = name;
  for (int64_t d = weight.dim() - 1; d >= 0; --d) tensor.ne.push_back(static_cast<uint64_t>(weight.size(d)));
  if (weight.dim() == 1) {
    tensor.type = TensorType::F32;
    tensor.data = as_f32(values);
  } else if (type == GgufExportType::F16 || weight.size(1) % kBlock != 0) {
    f16_fallbacks += type != GgufExportType::F16 ? 1 : 0;
    tensor.type = TensorType::F16;
    tensor.data = as_f16(values);
  } else if (type == GgufExportType::Q8_0) {
    tensor.type = TensorType::Q8_0;
    tensor.data = as_q8_0(values);
  } else {
    tensor.type = TensorType::Q4_0;
    tensor.data = as_q4_0(values);
  }
  return tensor;
}

json read_json(const fs::path& file) {
  if (!fs::exists(file)) return json();
  const bool tokenizer_json = file.filename() == "tokenizer.json";
  return util::read_json_file(file, tokenizer_json ? util::kTokenizerJsonLimits : util::kConfigJsonLimits);
}

std::optional<int64_t> config_token(const json& config, const char* key) {
  const auto found = config.find(key);
  if (found == config.end()) return std::nullopt;
  if (found->is_number_integer()) return found->get<int64_t>();
  if (found->is_array() && !found->empty() && (*found)[0].is_number_integer()) return (*found)[0].get<int64_t>();
  return std::nullopt;
}

// The pre-tokenizers llama.cpp knows by name, recognised by the structure of tokenizer.json's pre_tokenizer
// (the ones lowbit import builds for each name, which are what the original tokenizers hold).
std::string bpe_pre_name(const json& pre, const fs::path& file) {
  const auto is_byte_level = [](const json& j) { return j.is_object() && j.value("type", "") == "ByteLevel"; };
  if (is_byte_level(pre) && pre.value("use_regex", true)) return "gpt-2";
  if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers")) {
    const json& parts = pre["pretokenizers"];
    if (parts.size() == 2 && parts[0].value("type", "") == "Digits" && parts[0].value("individual_digits", false) &&
        is_byte_level(parts[1])) {
      return "smollm";
    }
    if (parts.size() == 2 && parts[0].value("type", "") == "Split" && is_byte_level(parts[1])) {
      const std::string regex = parts[0].contains("pattern") ? parts[0]["pattern"].value("Regex", "") : "";
      if (regex.find("\\p{N}{1,3}") != std::string::npos) return "llama-bpe";
      if (regex.find("\\p{N}|") != std::string::npos) return "qwen2";
    }
  }
  throw InputError(file.string(), "has a byte-level BPE pre-tokenizer LowBit cannot name for llama.cpp",
                   "LowBit writes GGUF tokenizers for sentencepiece models and the GPT-2, SmolLM, Llama 3 and Qwen2 "
                   "pre-tokenizers; export to a Hugging Face folder instead (--to hf) and convert it with llama.cpp");
}

struct TokenizerMetadata {
  std::string description;
  std::vector<std::string> stop_texts;  // eos and end-of-turn tokens, for the Modelfile
};

// tokenizer.ggml.* from the folder's tokenizer.model (sentencepiece, as convert_hf_to_gguf.py reads it) or its
// tokenizer.json (byte-level BPE).
TokenizerMetadata write_tokenizer(Metadata& meta, const fs::path& dir, const json& config, int64_t vocab_size) {
  TokenizerMetadata result;
  const json tokenizer_config = read_json(dir / "tokenizer_config.json");
  std::optional<int64_t> bos = config_token(config, "bos_token_id"), eos = config_token(config, "eos_token_id");
  std::optional<int64_t> pad = config_token(config, "pad_token_id"), unk;
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  bool add_bos = true;
  if (fs::exists(dir / "tokenizer.model")) {
    sentencepiece::SentencePieceProcessor spm;
    const auto status = spm.Load((dir / "tokenizer.model").string());
    if (!status.ok()) throw InputError((dir / "tokenizer.model").string(), status.ToString(), "the model folder is damaged");
    std::vector<float> scores;
    for (int id = 0; id < spm.GetPieceSize(); ++id) {
      tokens.push_back(spm.IdToPiece(id));
      scores.push_back(spm.GetScore(id));
      types.push_back(spm.IsUnknown(id) ? 2 : spm.IsControl(id) ? 3 : spm.IsUnused(id) ? 5 : spm.IsByte(id) ? 6 : 1);
    }
    for (int64_t id = static_cast<int64_t>(tokens.size()); id < vocab_size; ++id) {  // rows past the vocabulary
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      scores.push_back(-1000.0f);
      types.push_back(4);
    }
    if (!bos && spm.bos_id() >= 0) bos = spm.bos_id();
    if (!eos && spm.eos_id() >= 0) eos = spm.eos_id();
    if (spm.unk_id() >= 0) unk = spm.unk_id();
    meta.string("tokenizer.ggml.model", "llama");
    meta.strings("tokenizer.ggml.tokens", tokens);
    meta.f32s("tokenizer.ggml.scores", scores);
    meta.i32s("tokenizer.ggml.token_type", types);
    result.description = "llama (sentencepiece tokenizer.model)";
  } else if (fs::exists(dir / "tokenizer.json")) {
    const fs::path file = dir / "tokenizer.json";
    const json tokenizer = read_json(file);
    const json& model = tokenizer["model"];
    if (!model.is_object() || model.value("type", "") != "BPE" || model.value("byte_fallback", false)) {
      throw InputError(file.string(), "is not a byte-level BPE tokenizer (and the folder has no tokenizer.model)",
                       "export to a Hugging Face folder instead (--to hf) and convert it with llama.cpp");
    }
    const std::string pre = bpe_pre_name(tokenizer["pre_tokenizer"], file);
    std::map<int64_t, std::pair<std::string, int32_t>> by_id;
    for (const auto& [text, id] : model["vocab"].items()) by_id[id.get<int64_t>()] = {text, 1};
    if (tokenizer.contains("added_tokens")) {
      for (const json& added : tokenizer["added_tokens"]) {
        by_id[added.at("id").get<int64_t>()] = {added.at("content").get<std::string>(), added.value("special", false) ? 3 : 4};
      }
    }
    const int64_t count = std::max<int64_t>(vocab_size, by_id.empty() ? 0 : by_id.rbegin()->first + 1);
    for (int64_t id = 0; id < count; ++id) {
      const auto found = by_id.find(id);
      tokens.push_back(found != by_id.end() ? found->second.first : "[PAD" + std::to_string(id) + "]");
      types.push_back(found != by_id.end() ? found->second.second : 4);
    }
    std::vector<std::string> merges;
    for (const json& merge : model["merges"]) {
      merges.push_back(merge.is_string() ? merge.get<std::string>()
                                         : merge.at(0).get<std::string>() + " " + merge.at(1).get<std::string>());
    }
    const auto id_of = [&](const json& token) -> std::optional<int64_t> {
      const std::string text = token.is_string() ? token.get<std::string>()
                               : token.is_object() ? token.value("content", "")
                                                   : "";
      for (const auto& [id, entry] : by_id) {
        if (!text.empty() && entry.first == text) return id;
      }
      return std::nullopt;
    };
    if (tokenizer_config.contains("bos_token")) bos = id_of(tokenizer_config["bos_token"]).value_or(bos.value_or(-1));
    if (tokenizer_config.contains("eos_token")) eos = id_of(tokenizer_config["eos_token"]).value_or(eos.value_or(-1));
    if (bos && *bos < 0) bos.reset();
    if (eos && *eos < 0) eos.reset();
    add_bos = pre == "llama-bpe";
    meta.string("tokenizer.ggml.model", "gpt2");
    meta.string("tokenizer.ggml.pre", pre);
    meta.strings("tokenizer.ggml.tokens", tokens);
    meta.i32s("tokenizer.ggml.token_type", types);
    meta.strings("tokenizer.ggml.merges", merges);
    result.description = "gpt2 (byte-level BPE tokenizer.json, pre-tokenizer " + pre + ")";
  } else {
    throw InputError(dir.string(), "has no tokenizer (tokenizer.model or tokenizer.json)",
                     "a GGUF file carries its tokenizer: copy the tokenizer files of the model it came from into it");
  }
  const auto valid = [&](const std::optional<int64_t>& id) { return id && *id >= 0 && *id < static_cast<int64_t>(tokens.size()); };
  if (valid(bos)) meta.u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*bos));
  if (valid(eos)) meta.u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(*eos));
  if (valid(unk)) meta.u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(*unk));
  if (valid(pad)) meta.u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(*pad));
  if (tokenizer_config.contains("add_bos_token") && tokenizer_config["add_bos_token"].is_boolean()) {
    add_bos = tokenizer_config["add_bos_token"].get<bool>();
  }
  meta.boolean("tokenizer.ggml.add_bos_token", add_bos);
  meta.boolean("tokenizer.ggml.add_eos_token", tokenizer_config.value("add_eos_token", false));
  if (valid(eos)) result.stop_texts.push_back(tokens[static_cast<size_t>(*eos)]);
  for (const char* end_of_turn : {"<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"}) {
    if (std::find(tokens.begin(), tokens.end(), end_of_turn) != tokens.end() &&
        std::find(result.stop_texts.begin(), result.stop_texts.end(), end_of_turn) == result.stop_texts.end()) {
      result.stop_texts.push_back(end_of_turn);
    }
  }
  return result;
}

// Ollama's Go-template form of the chat template families it cannot guess wrongly; "" for the others (Ollama then
// takes tokenizer.chat_template from the GGUF).
std::string ollama_template(const std::string& jinja) {
  if (jinja.find("<|im_start|>") != std::string::npos) {
    return "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
           "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n";
  }
  if (jinja.find("<|start_header_id|>") != std::string::npos) {
    return "{{- if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}"
           "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}"
           "<|start_header_id|>assistant<|end_header_id|>\n\n";
  }
  if (jinja.find("[INST]") != std::string::npos) {
    return "{{- range $i, $m := .Messages }}{{- if eq $m.Role \"user\" }}[INST] {{ if and (eq $i 0) $.System }}"
           "<<SYS>>\n{{ $.System }}\n<</SYS>>\n\n{{ end }}{{ $m.Content }} [/INST]{{- else }} {{ $m.Content }}</s>"
           "{{- end }}{{- end }}";
  }
  return "";
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

const char* gguf_export_type_name(GgufExportType type) {
  switch (type) {
    case GgufExportType::F16: return "F16";
    case GgufExportType::Q8_0: return "Q8_0";
    case GgufExportType::Q4_0: return "Q4_0";
  }
  return "";
}

GgufExportResult export_gguf(const GgufExportOptions& options, jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  if (fs::exists(options.out_dir)) {
    throw InputError(options.out_dir.string(), "already exists", "choose another --out, or delete it first");
  }
  check_output_folder_writable(options.out_dir);
  const json config_file = read_json(options.model_dir / "config.json");
  const MergedModel merged = merge_model(options.model_dir, options.adapters, at::kFloat, events, cancel);
  const model::LlamaConfig& c = merged.config;
  const model::Architecture& arch = model::architecture_of(c);
  const std::string a = arch.gguf_name;
  std::string name = fs::weakly_canonical(options.model_dir).filename().string();
  if (!options.adapters.empty()) name += "-merged";

  Metadata meta;
  meta.string("general.architecture", a);
  meta.string("general.name", name);
  meta.u32("general.file_type", options.type == GgufExportType::F16 ? 1 : options.type == GgufExportType::Q8_0 ? 7 : 2);
  meta.u32("general.quantization_version", 2);
  meta.u32(a + ".context_length", static_cast<uint32_t>(c.max_position_embeddings));
  meta.u32(a + ".embedding_length", static_cast<uint32_t>(c.hidden_size));
  meta.u32(a + ".feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  meta.u32(a + ".block_count", static_cast<uint32_t>(c.n_layer));
  meta.u32(a + ".attention.head_count", static_cast<uint32_t>(c.n_head));
  meta.u32(a + ".attention.head_count_kv", static_cast<uint32_t>(c.n_head_kv));
  meta.f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(config_file.value("rms_norm_eps", 1e-6)));
  meta.f32(a + ".rope.freq_base", static_cast<float>(config_file.value("rope_theta", 10000.0)));
  if (a == "llama") {
    meta.u32(a + ".rope.dimension_count", static_cast<uint32_t>(c.head_dim));
    meta.u32(a + ".vocab_size", static_cast<uint32_t>(c.vocab_size));
  }
  if (c.head_dim * c.n_head != c.hidden_size) {
    meta.u32(a + ".attention.key_length", static_cast<uint32_t>(c.head_dim));
    meta.u32(a + ".attention.value_length", static_cast<uint32_t>(c.head_dim));
  }
  const json& scaling = config_file.contains("rope_scaling") ? config_file["rope_scaling"] : json();
  if (scaling.is_object()) {
    const std::string kind = scaling.value("rope_type", scaling.value("type", ""));
    if (kind != "linear") {
      throw InputError((options.model_dir / "config.json").string(), "uses RoPE scaling '" + kind + "'",
                       "LowBit writes GGUF for models without RoPE scaling or with linear scaling; export to a "
                       "Hugging Face folder instead (--to hf)");
    }
    meta.string(a + ".rope.scaling.type", "linear");
    meta.f32(a + ".rope.scaling.factor", static_cast<float>(scaling.value("factor", 1.0)));
  }
  const TokenizerMetadata tokenizer = write_tokenizer(meta, options.model_dir, config_file, c.vocab_size);
  const auto chat = tokenizer::load_model_chat_template(options.model_dir);
  if (chat) meta.string("tokenizer.chat_template", chat->chat_template.source());

  GgufExportResult result;
  std::vector<GgufTensor> tensors;
  for (const auto& [hf_name, weight] : merged.tensors) {
    cancel.throw_if_cancelled();
    tensors.push_back(convert(hf_name, weight, c, arch.gguf_rope_permuted, options.type, result.f16_fallback_tensors));
  }
  result.tensors = static_cast<int64_t>(tensors.size());
  result.tokenizer = tokenizer.description;

  const std::string file_name = name + "." + gguf_export_type_name(options.type) + ".gguf";
  const std::string modelfile_template = chat ? ollama_template(chat->chat_template.source()) : "";
  result.ollama_template = !modelfile_template.empty();
  write_directory_atomically(options.out_dir, [&](const fs::path& partial) {
    write_file_atomically(partial / file_name, [&](std::ostream& out) {
      std::string head = "GGUF";
      put_u32(head, 3);
      put_u64(head, tensors.size());
      put_u64(head, meta.count());
      head += meta.bytes();
      uint64_t offset = 0;
      for (const GgufTensor& tensor : tensors) {
        put_string(head, tensor.name);
        put_u32(head, static_cast<uint32_t>(tensor.ne.size()));
        for (uint64_t n : tensor.ne) put_u64(head, n);
        put_u32(head, static_cast<uint32_t>(tensor.type));
        put_u64(head, offset);
        offset += (tensor.data.size() + kAlignment - 1) / kAlignment * kAlignment;
      }
      head.append((kAlignment - head.size() % kAlignment) % kAlignment, '\0');
      out.write(head.data(), static_cast<std::streamsize>(head.size()));
      for (const GgufTensor& tensor : tensors) {
        out.write(tensor.data.data(), static_cast<std::streamsize>(tensor.data.size()));
        const std::string padding((kAlignment - tensor.data.size() % kAlignment) % kAlignment, '\0');
        out.write(padding.data(), static_cast<std::streamsize>(padding.size()));
      }
    });
    std::string modelfile = "# Ollama: ollama create " + name + " -f Modelfile\nFROM ./" + file_name + "\n";
    if (!modelfile_template.empty()) modelfile += "TEMPLATE \"\"\"" + modelfile_template + "\"\"\"\n";
    for (const std::string& stop : tokenizer.stop_texts) modelfile += "PARAMETER stop " + quoted(stop) + "\n";
    write_text_file_atomically(partial / "Modelfile", modelfile);
  }, ExistingFolder::Refuse);
  result.gguf_file = options.out_dir / file_name;
  result.modelfile = options.out_dir / "Modelfile";
  result.gguf_bytes = fs::file_size(result.gguf_file);
  return result;
}

}  // namespace lowbit::exporting
