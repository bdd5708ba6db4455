// The GGUF importer against transformers' own GGUF loader (fixtures from scripts/make_gguf_fixtures.py), against
// llama.cpp's tokenizer tests, and against damaged files made by mutating a real GGUF.
//
// Tolerances: importing as F32 must reproduce transformers' float32 state dict bit for bit (same dequantization
// formulas, same order of float operations). Importing as F16 rounds each dequantized value once to nearest-even
// float16, so |ours − reference| ≤ max(|reference|·2^-11, 2^-25): half an ulp for normal halves (11-bit
// significand), half the smallest subnormal step below 2^-14. Tensors stored as F16/F32/BF16 are copied, so they
// are exact in both modes.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/gguf_dequantize.h"
#include "core/model/gguf_file.h"
#include "core/model/gguf_import.h"
#include "core/util/errors.h"
#include "tests/support/testdata.h"

#ifndef LOWBIT_GGUF_FIXTURES_DIR
#define LOWBIT_GGUF_FIXTURES_DIR ""
#endif
#ifndef LOWBIT_SMOLLM2_GGUF
#define LOWBIT_SMOLLM2_GGUF ""
#endif
#ifndef LOWBIT_PYTHON
#define LOWBIT_PYTHON ""
#endif
#ifndef LOWBIT_SOURCE_DIR
#define LOWBIT_SOURCE_DIR ""
#endif

namespace fs = std::filesystem;
using lowbit::InputError;
using nlohmann::json;
namespace model = lowbit::model;
namespace jobs = lowbit::jobs;

namespace {

const char* kStories = "models/stories260K/stories260K.gguf";
const char* kTinyRandom = "models/llama-2-tiny-random/llama-2-tiny-random.gguf";

fs::path fixtures_dir() { return fs::path(LOWBIT_GGUF_FIXTURES_DIR); }

bool have_fixtures() {
  return !fixtures_dir().empty() && fs::exists(fixtures_dir() / "done.json");
}

#define REQUIRE_FIXTURES()                                                                                   \
  do {                                                                                                       \
    if (!have_fixtures())                                                                                    \
      GTEST_SKIP() << "GGUF fixtures not found in '" << LOWBIT_GGUF_FIXTURES_DIR                            \
                   << "' (run scripts/make_gguf_fixtures.py --out DIR, or the ctest fixture)";               \
  } while (false)

// A fresh folder per test, removed at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("lowbit_gguf_" + name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct RecordingEvents : jobs::JobEvents {
  std::vector<jobs::Progress> progresses;
  std::vector<std::string> logs;
  std::vector<jobs::Artifact> artifacts;
  std::function<void(const jobs::Progress&)> on_progress;
  void progress(const jobs::Progress& p) override {
    progresses.push_back(p);
    if (on_progress) on_progress(p);
  }
  void metric(const jobs::Metric&) override {}
  void log(const jobs::LogLine& line) override { logs.push_back(line.text); }
  void artifact(const jobs::Artifact& a) override { artifacts.push_back(a); }
  void token(const jobs::Token&) override {}
};

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

struct LoadedTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// A minimal safetensors reader for the checks (F32, F16, BF16 widened to float).
std::map<std::string, LoadedTensor> read_safetensors(const fs::path& path) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  uint64_t header_size = 0;
  for (int k = 0; k < 8; ++k) header_size |= static_cast<uint64_t>(bytes.at(k)) << (8 * k);
  const json header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_size));
  const uint8_t* data = bytes.data() + 8 + header_size;
  std::map<std::string, LoadedTensor> tensors;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    LoadedTensor t;
    t.dtype = it.value()["dtype"].get<std::string>();
    t.shape = it.value()["shape"].get<std::vector<int64_t>>();
    const uint64_t begin = it.value()["data_offsets"][0], end = it.value()["data_offsets"][1];
    const size_t element = t.dtype == "F32" ? 4 : 2;
    EXPECT_EQ(begin % element, 0u) << it.key() << " is not aligned to its element size";
    const size_t n = static_cast<size_t>((end - begin) / element);
    t.values.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const uint8_t* p = data + begin + k * element;
      if (t.dtype == "F32") {
        std::memcpy(&t.values[k], p, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, p, 2);
        t.values[k] = t.dtype == "F16" ? model::fp16_to_fp32(h) : model::bf16_to_fp32(h);
      }
    }
    tensors.emplace(it.key(), std::move(t));
  }
  return tensors;
}

fs::path model_gguf(const std::string& name) {
  if (name == "stories260k") return lowbit::testing::testdata_path(kStories);
  if (name == "tiny_random") return lowbit::testing::testdata_path(kTinyRandom);
  if (name == "smollm2") return fs::path(LOWBIT_SMOLLM2_GGUF);
  return fixtures_dir() / "synthetic" / (name + ".gguf");  // quants, qwen2
}

struct Comparison {
  double max_abs_diff = 0;
  std::string worst;
};

// Compares an imported folder with transformers' state dict; returns the largest difference.
Comparison compare_with_reference(const fs::path& folder, const std::string& name, bool f16) {
  const auto ours = read_safetensors(folder / "model.safetensors");
  const auto reference = read_safetensors(fixtures_dir() / name / "reference.safetensors");
  Comparison c;
  EXPECT_EQ(ours.size(), reference.size()) << name;
  for (const auto& [key, ref] : reference) {
    auto it = ours.find(key);
    if (it == ours.end()) {
      ADD_FAILURE() << name << ": " << key << " missing from the import";
      continue;
    }
    const LoadedTensor& got = it->second;
    EXPECT_EQ(got.shape, ref.shape) << name << ": " << key;
    if (got.values.size() != ref.values.size()) continue;
    if (ref.shape.size() == 1) {
      EXPECT_EQ(got.dtype, "F32") << name << ": 1-D " << key << " should stay F32";
    }
    if (!f16 && got.dtype == "F16") {
      EXPECT_EQ(ref.shape.size(), 2u) << name << ": " << key;  // only matrices stored as F16 in the file may be
    }
    size_t bad = 0;
    for (size_t k = 0; k < ref.values.size(); ++k) {
      const double r = ref.values[k], g = got.values[k];
      const double diff = std::fabs(g - r);
      if (diff > c.max_abs_diff) {
        c.max_abs_diff = diff;
        c.worst = key;
      }
      const double bound = got.dtype == "F16" ? std::max(std::fabs(r) * std::ldexp(1.0, -11), std::ldexp(1.0, -25)) : 0;
      if (!(diff <= bound) && bad++ < 3)
        ADD_FAILURE() << name << ": " << key << "[" << k << "] = " << g << ", transformers " << r << " (" << got.dtype << ")";
    }
  }
  return c;
}

void expect_config_matches(const fs::path& folder, const std::string& name) {
  const json ours = read_json(folder / "config.json");
  const json ref = read_json(fixtures_dir() / name / "config.json");
  for (const char* key : {"model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "num_key_value_heads", "rms_norm_eps", "max_position_embeddings", "rope_theta", "vocab_size",
                          "tie_word_embeddings", "bos_token_id", "eos_token_id", "head_dim", "rope_scaling"}) {
    if (!ref.contains(key) && !ours.contains(key)) continue;
    if (std::string(key) == "head_dim" && !ours.contains(key)) continue;  // qwen2 derives it
    EXPECT_EQ(ours.value(key, json()), ref.value(key, json())) << name << " config." << key;
  }
}

model::GgufImportResult import_model(const fs::path& gguf, const fs::path& out, model::GgufImportDtype dtype,
                                     RecordingEvents& events) {
  model::GgufImportOptions options;
  options.dtype = dtype;
  jobs::CancelToken cancel;
  return model::import_gguf(gguf, out, options, events, cancel);
}

// Expects fn to throw InputError whose message names the file and contains every fragment.
template <typename Fn>
void expect_input_error(Fn fn, const std::string& file, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no InputError; expected one mentioning '" << fragments.front() << "'";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file), std::string::npos) << "message does not name the file: " << message;
    for (const std::string& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << "message lacks '" << fragment << "': " << message;
  }
}

// Position of `text` encoded as a GGUF string (u64 length + bytes) in a file's bytes.
size_t find_gguf_string(const std::vector<uint8_t>& bytes, const std::string& text) {
  std::vector<uint8_t> pattern(8 + text.size());
  for (int k = 0; k < 8; ++k) pattern[k] = static_cast<uint8_t>((text.size() >> (8 * k)) & 0xFF);
  std::memcpy(pattern.data() + 8, text.data(), text.size());
  auto it = std::search(bytes.begin(), bytes.end(), pattern.begin(), pattern.end());
  if (it == bytes.end()) throw std::runtime_error("'" + text + "' not found in the GGUF");
  return static_cast<size_t>(it - bytes.begin());
}

void put_u32(std::vector<uint8_t>& bytes, size_t at, uint32_t value) {
  for (int k = 0; k < 4; ++k) bytes[at + k] = static_cast<uint8_t>((value >> (8 * k)) & 0xFF);
}

void put_u64(std::vector<uint8_t>& bytes, size_t at, uint64_t value) {
  for (int k = 0; k < 8; ++k) bytes[at + k] = static_cast<uint8_t>((value >> (8 * k)) & 0xFF);
}

// Byte positions of one tensor's info fields (type and data offset) in a GGUF's bytes.
struct TensorInfoFields {
  size_t type_at = 0, offset_at = 0;
};

TensorInfoFields tensor_info_fields(const std::vector<uint8_t>& bytes, const std::string& name) {
  const size_t at = find_gguf_string(bytes, name) + 8 + name.size();
  uint32_t n_dims = 0;
  std::memcpy(&n_dims, bytes.data() + at, 4);
  TensorInfoFields f;
  f.type_at = at + 4 + 8 * n_dims;
  f.offset_at = f.type_at + 4;
  return f;
}

}  // namespace

// --------------------------------------------------------------------------------------------- float16 helpers

TEST(GgufDequantize, Fp16RoundTripsEveryHalfAndRoundsToNearestEven) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;  // NaN payloads
    const float f = model::fp16_to_fp32(static_cast<uint16_t>(h));
    ASSERT_EQ(model::fp32_to_fp16(f), h) << "half " << h << " = " << f;
  }
  EXPECT_EQ(model::fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie → even (1.0)
  EXPECT_EQ(model::fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie → even (1 + 2^-9)
  EXPECT_EQ(model::fp32_to_fp16(65519.0f), 0x7BFF);
  EXPECT_EQ(model::fp32_to_fp16(65520.0f), 0x7C00);  // rounds past the largest half: inf
  EXPECT_EQ(model::fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and the smallest subnormal → 0
  EXPECT_EQ(model::fp32_to_fp16(std::ldexp(1.5f, -25)), 0x0001);
}

// ------------------------------------------------------------------------------------------- the file reader

TEST(GgufFile, ReadsStories260kHeader) {
  LOWBIT_REQUIRE_TESTDATA(kStories);
  const model::GgufFile file = model::GgufFile::open(lowbit::testing::testdata_path(kStories));
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 32u);
  EXPECT_EQ(file.data_offset(), 14176u);
  EXPECT_EQ(file.tensors().size(), 48u);
  EXPECT_EQ(file.require_string("general.architecture"), "llama");
  EXPECT_EQ(file.require_int("llama.block_count"), 5);
  ASSERT_NE(file.get_string_array("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(file.get_string_array("tokenizer.ggml.tokens")->size(), 512u);
  const model::GgufTensorInfo* embd = file.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->hf_shape(), (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(embd->ggml_type(), model::GgmlType::F32);
}

// ------------------------------------------------------------------------------------------ against transformers

class GgufImportVsTransformers : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufImportVsTransformers, TensorsAndConfigMatchInF32AndF16) {
  REQUIRE_FIXTURES();
  const std::string name = GetParam();
  const fs::path gguf = model_gguf(name);
  if (gguf.empty() || !fs::exists(gguf)) GTEST_SKIP() << name << ": " << gguf << " not found";
  if (!fs::exists(fixtures_dir() / name / "reference.safetensors")) GTEST_SKIP() << "no fixture for " << name;
  TempDir tmp("vs_" + name);
  for (auto dtype : {model::GgufImportDtype::F32, model::GgufImportDtype::F16}) {
    const bool f16 = dtype == model::GgufImportDtype::F16;
    const fs::path out = tmp.path() / (f16 ? "f16" : "f32");
    RecordingEvents events;
    const model::GgufImportResult result = import_model(gguf, out, dtype, events);
    const Comparison c = compare_with_reference(out, name, f16);
    std::printf("[ measured ] %s %s: max |ours - transformers| = %.9g (%s), torch_dtype %s\n", name.c_str(),
                f16 ? "F16" : "F32", c.max_abs_diff, c.worst.c_str(), result.torch_dtype.c_str());
    if (!f16) {
      EXPECT_EQ(c.max_abs_diff, 0.0) << name;
    }
    expect_config_matches(out, name);
    EXPECT_FALSE(fs::exists(out.string() + ".partial"));
    EXPECT_TRUE(fs::exists(out / "generation_config.json"));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GgufImportVsTransformers,
                         ::testing::Values("stories260k", "tiny_random", "quants", "qwen2", "smollm2"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(GgufImport, Fp16OverflowFallsBackToF32WithALogLine) {
  REQUIRE_FIXTURES();
  TempDir tmp("overflow");
  RecordingEvents events;
  const auto result = import_model(model_gguf("quants"), tmp.path() / "out", model::GgufImportDtype::F16, events);
  ASSERT_EQ(result.f32_fallback_tensors, std::vector<std::string>{"model.layers.1.mlp.down_proj.weight"});
  EXPECT_EQ(result.torch_dtype, "float32");
  bool logged = false;
  for (const std::string& line : events.logs) logged |= line.find("beyond the float16 range") != std::string::npos;
  EXPECT_TRUE(logged);
  const auto tensors = read_safetensors(tmp.path() / "out" / "model.safetensors");
  EXPECT_EQ(tensors.at("model.layers.1.mlp.down_proj.weight").dtype, "F32");
  EXPECT_EQ(tensors.at("model.layers.0.mlp.down_proj.weight").dtype, "F16");
}

TEST(GgufImport, StoredTypesAreKeptAndTiedOutputIsLeftOut) {
  LOWBIT_REQUIRE_TESTDATA(kTinyRandom);
  TempDir tmp("stored");
  RecordingEvents events;
  const auto result = import_model(lowbit::testing::testdata_path(kTinyRandom), tmp.path() / "out",
                                   model::GgufImportDtype::F32, events);
  EXPECT_EQ(result.torch_dtype, "float16");  // its matrices are F16 in the file and stay F16
  const auto tensors = read_safetensors(tmp.path() / "out" / "model.safetensors");
  EXPECT_EQ(tensors.at("model.layers.0.self_attn.q_proj.weight").dtype, "F16");
  EXPECT_EQ(tensors.at("model.norm.weight").dtype, "F32");
  EXPECT_EQ(tensors.count("lm_head.weight"), 1u);  // untied in this file
  const json config = read_json(tmp.path() / "out" / "config.json");
  EXPECT_EQ(config["tie_word_embeddings"], false);
  EXPECT_EQ(config["architectures"], json::array({"LlamaForCausalLM"}));
}

TEST(GgufImport, JobReportsProgressPerTensorAndTheModelArtifact) {
  LOWBIT_REQUIRE_TESTDATA(kStories);
  TempDir tmp("job");
  RecordingEvents events;
  jobs::CancelToken cancel;
  model::GgufImportJob job({lowbit::testing::testdata_path(kStories), tmp.path() / "out", {}});
  job.run(events, cancel);
  ASSERT_EQ(events.progresses.size(), 48u);
  for (size_t k = 0; k < events.progresses.size(); ++k) {
    EXPECT_EQ(events.progresses[k].phase, "tensors");
    EXPECT_EQ(events.progresses[k].done, static_cast<int64_t>(k + 1));
    EXPECT_EQ(events.progresses[k].total, 48);
  }
  EXPECT_EQ(events.progresses.back().eta_s, 0.0);
  ASSERT_EQ(events.artifacts.size(), 1u);
  EXPECT_EQ(events.artifacts[0].kind, "model");
  EXPECT_EQ(events.artifacts[0].path, (tmp.path() / "out").string());
  EXPECT_EQ(job.result().tensors_written, 48);
  for (const char* file : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                           "tokenizer_config.json", "special_tokens_map.json"})
    EXPECT_TRUE(fs::exists(tmp.path() / "out" / file)) << file;
}

TEST(GgufImport, CancelHalfwayLeavesNoFolder) {
  LOWBIT_REQUIRE_TESTDATA(kStories);
  TempDir tmp("cancel");
  const fs::path out = tmp.path() / "out";
  RecordingEvents events;
  jobs::CancelToken cancel;
  events.on_progress = [&](const jobs::Progress& p) {
    if (p.done * 2 >= p.total) cancel.request();
  };
  EXPECT_THROW(model::import_gguf(lowbit::testing::testdata_path(kStories), out, {}, events, cancel), lowbit::Cancelled);
  EXPECT_EQ(events.progresses.back().done, 24);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
}

// ------------------------------------------------------------------------------------------------ tokenizers

namespace {

// Runs the fixture script's check-tokenizer on a folder; returns its report.
json check_tokenizer(const fs::path& folder, const std::string& name) {
  const fs::path script = fs::path(LOWBIT_SOURCE_DIR) / "scripts" / "make_gguf_fixtures.py";
  const fs::path report = folder / "tokenizer_report.json";
  const std::string command = std::string("HF_HUB_OFFLINE=1 \"") + LOWBIT_PYTHON + "\" \"" + script.string() +
                              "\" check-tokenizer --folder \"" + folder.string() + "\" --expected \"" +
                              (fixtures_dir() / name / "ids.json").string() + "\" --report \"" + report.string() +
                              "\" > \"" + (folder / "tokenizer_check.log").string() + "\" 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << command;
  return fs::exists(report) ? read_json(report) : json();
}

}  // namespace

class GgufTokenizer : public ::testing::TestWithParam<std::string> {};

// tokenizer.json loads in HF tokenizers (and AutoTokenizer) and gives transformers' GGUF ids and llama.cpp's ids.
// Where they differ (transformers turns SmolLM2's and StarCoder's digit-splitting pre-tokenizer into plain GPT-2
// byte-level, and phi-3 into a BPE without byte fallback), llama.cpp is the reference.
TEST_P(GgufTokenizer, IdsMatchTransformersAndLlamaCpp) {
  REQUIRE_FIXTURES();
  if (std::string(LOWBIT_PYTHON).empty() || !fs::exists(LOWBIT_PYTHON) || std::string(LOWBIT_SOURCE_DIR).empty())
    GTEST_SKIP() << "no Python (LOWBIT_PYTHON) or source folder (LOWBIT_SOURCE_DIR) to run the tokenizer check";
  const std::string name = GetParam();
  if (!fs::exists(fixtures_dir() / name / "ids.json")) GTEST_SKIP() << "no ids fixture for " << name;
  const json expected = read_json(fixtures_dir() / name / "ids.json");
  const fs::path gguf = expected["gguf"].get<std::string>();
  TempDir tmp("tok_" + name);
  const fs::path out = tmp.path() / "out";
  const model::GgufFile file = model::GgufFile::open(gguf);
  if (file.tensors().empty()) {
    model::write_tokenizer_from_gguf(gguf, out);
  } else {
    RecordingEvents events;
    import_model(gguf, out, model::GgufImportDtype::F16, events);
  }
  const json report = check_tokenizer(out, name);
  ASSERT_TRUE(report.is_object());
  const int n = report["n_texts"];
  std::printf("[ measured ] %s: AutoTokenizer %d/%d", name.c_str(), report["auto_tokenizer_agrees"].get<int>(), n);
  EXPECT_EQ(report["auto_tokenizer_agrees"], n);
  if (report["llama.cpp"].is_object()) {
    std::printf(", llama.cpp %d/%d", report["llama.cpp"]["agree"].get<int>(), n);
    EXPECT_EQ(report["llama.cpp"]["agree"], n) << report["llama.cpp"]["mismatches"].dump();
  }
  if (report["transformers"].is_object()) {
    const json& t = report["transformers"];
    std::printf(", transformers %d/%d (without digits %d/%d)", t["agree"].get<int>(), n,
                t["agree_without_digits"].get<int>(), t["n_without_digits"].get<int>());
    if (name == "smollm2" || name == "starcoder") {
      EXPECT_EQ(t["agree_without_digits"], t["n_without_digits"]) << t["mismatches"].dump();
    } else if (name != "phi3") {
      EXPECT_EQ(t["agree"], n) << t["mismatches"].dump();
    }
  }
  std::printf("\n");
  const bool add_bos = read_json(out / "tokenizer_config.json")["add_bos_token"];
  EXPECT_EQ(report["adds_bos"], add_bos);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, GgufTokenizer,
                         ::testing::Values("spm", "phi3", "starcoder", "stories260k", "tiny_random", "quants", "qwen2",
                                           "smollm2"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(GgufTokenizer, SmolLM2GetsTheDigitSplittingPreTokenizerAndChatTemplate) {
  const fs::path gguf = LOWBIT_SMOLLM2_GGUF;
  if (gguf.empty() || !fs::exists(gguf)) GTEST_SKIP() << "SmolLM2 GGUF not found at '" << LOWBIT_SMOLLM2_GGUF << "'";
  const model::HfTokenizerFiles files = model::gguf_hf_tokenizer(model::GgufFile::open(gguf));
  EXPECT_EQ(files.tokenizer["pre_tokenizer"]["type"], "Sequence");
  EXPECT_EQ(files.tokenizer["pre_tokenizer"]["pretokenizers"][0]["type"], "Digits");
  EXPECT_EQ(files.tokenizer["pre_tokenizer"]["pretokenizers"][1]["type"], "ByteLevel");
  EXPECT_EQ(files.tokenizer["model"]["merges"].size(), 48900u);
  EXPECT_EQ(files.tokenizer["added_tokens"].size(), 17u);
  EXPECT_EQ(files.tokenizer_config["bos_token"], "<|im_start|>");
  EXPECT_EQ(files.tokenizer_config["eos_token"], "<|im_end|>");
  EXPECT_EQ(files.tokenizer_config["add_bos_token"], false);
  EXPECT_NE(files.tokenizer_config["chat_template"].get<std::string>().find("<|im_start|>"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------- damaged input

class GgufBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(lowbit::testing::testdata_path(kStories))) GTEST_SKIP() << kStories << " not found";
    original_ = read_bytes(lowbit::testing::testdata_path(kStories));
  }
  // Writes the mutated bytes and expects both open() and import_gguf() to refuse them.
  void expect_refused(const std::vector<uint8_t>& bytes, const std::vector<std::string>& fragments) {
    const fs::path path = tmp_.path() / "bad.gguf";
    write_bytes(path, bytes);
    expect_input_error([&] { model::GgufFile::open(path); }, path.string(), fragments);
    RecordingEvents events;
    expect_input_error([&] { import_model(path, tmp_.path() / "out", model::GgufImportDtype::F16, events); },
                       path.string(), fragments);
    EXPECT_FALSE(fs::exists(tmp_.path() / "out"));
    EXPECT_FALSE(fs::exists(tmp_.path() / "out.partial"));
  }
  TempDir tmp_{"bad"};
  std::vector<uint8_t> original_;
};

TEST_F(GgufBadInput, WrongMagic) {
  auto bytes = original_;
  std::memcpy(bytes.data(), "GGML", 4);
  expect_refused(bytes, {"not a GGUF file"});
}

TEST_F(GgufBadInput, Version99) {
  auto bytes = original_;
  put_u32(bytes, 4, 99);
  expect_refused(bytes, {"unsupported GGUF version 99"});
}

TEST_F(GgufBadInput, TruncatedInTheData) {
  auto bytes = original_;
  bytes.resize(bytes.size() * 6 / 10);
  expect_refused(bytes, {"beyond the end of the file", "truncated"});
}

TEST_F(GgufBadInput, TruncatedInTheHeader) {
  auto bytes = original_;
  bytes.resize(1000);
  expect_refused(bytes, {"truncated"});
}

TEST_F(GgufBadInput, TensorOffsetPastTheEnd) {
  auto bytes = original_;
  put_u64(bytes, tensor_info_fields(bytes, "output_norm.weight").offset_at, uint64_t{1} << 40);
  expect_refused(bytes, {"tensor 'output_norm.weight'", "beyond the end of the file"});
}

TEST_F(GgufBadInput, OverlappingTensors) {
  auto bytes = original_;
  uint64_t embd_offset = 0;
  std::memcpy(&embd_offset, bytes.data() + tensor_info_fields(bytes, "token_embd.weight").offset_at, 8);
  put_u64(bytes, tensor_info_fields(bytes, "output.weight").offset_at, embd_offset);
  expect_refused(bytes, {"overlap"});
}

TEST_F(GgufBadInput, UnknownGgmlType250) {
  auto bytes = original_;
  put_u32(bytes, tensor_info_fields(bytes, "token_embd.weight").type_at, 250);
  expect_refused(bytes, {"tensor 'token_embd.weight'", "ggml type 250"});
}

TEST_F(GgufBadInput, MetadataStringLength2Pow60) {
  auto bytes = original_;
  put_u64(bytes, 24, uint64_t{1} << 60);  // the first key's length, right after the 24-byte header
  expect_refused(bytes, {"1152921504606846976", "more than the"});
}

TEST_F(GgufBadInput, ArrayCountLargerThanTheFile) {
  auto bytes = original_;
  const std::string key = "tokenizer.ggml.tokens";
  const size_t count_at = find_gguf_string(bytes, key) + 8 + key.size() + 4 + 4;  // value type, element type
  put_u64(bytes, count_at, uint64_t{1} << 62);
  expect_refused(bytes, {"tokenizer.ggml.tokens", "cannot fit"});
}

TEST_F(GgufBadInput, UnsupportedArchitectureIsNamed) {
  auto bytes = original_;
  const size_t at = find_gguf_string(bytes, "general.architecture") + 8 + 20 + 4;
  const size_t value_at = find_gguf_string(std::vector<uint8_t>(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end()), "llama") + at;
  std::memcpy(bytes.data() + value_at + 8, "gemma", 5);
  const fs::path path = tmp_.path() / "gemma.gguf";
  write_bytes(path, bytes);
  RecordingEvents events;
  expect_input_error([&] { import_model(path, tmp_.path() / "out", model::GgufImportDtype::F16, events); },
                     path.string(), {"'gemma'", "LowBit imports llama"});
}

TEST_F(GgufBadInput, ExistingNonEmptyOutputFolderIsRefused) {
  const fs::path out = tmp_.path() / "taken";
  fs::create_directories(out);
  write_bytes(out / "keep.txt", {'x'});
  RecordingEvents events;
  expect_input_error(
      [&] { import_model(lowbit::testing::testdata_path(kStories), out, model::GgufImportDtype::F16, events); },
      out.string(), {"not empty", "choose another --out or remove it"});
  EXPECT_TRUE(fs::exists(out / "keep.txt"));
}

TEST(GgufBadTokenizer, UnknownPreTokenizerIsNamed) {
  const char* starcoder = "tokenizers/llama.cpp/ggml-vocab-starcoder.gguf";
  LOWBIT_REQUIRE_TESTDATA(starcoder);
  auto bytes = read_bytes(lowbit::testing::testdata_path(starcoder));
  const std::string key = "tokenizer.ggml.pre";
  const size_t value_at = find_gguf_string(bytes, key) + 8 + key.size() + 4;
  std::memcpy(bytes.data() + value_at + 8, "starcodex", 9);
  TempDir tmp("pre");
  const fs::path path = tmp.path() / "vocab.gguf";
  write_bytes(path, bytes);
  expect_input_error([&] { model::write_tokenizer_from_gguf(path, tmp.path() / "out"); }, path.string(),
                     {"'starcodex'", "pre-tokenizers"});
}

TEST(GgufBadTokenizer, VocabOnlyFileIsNotAModel) {
  const char* spm = "tokenizers/ggml-vocab-llama-spm.gguf";
  LOWBIT_REQUIRE_TESTDATA(spm);
  TempDir tmp("vocab_only");
  RecordingEvents events;
  const fs::path path = lowbit::testing::testdata_path(spm);
  expect_input_error([&] { import_model(path, tmp.path() / "out", model::GgufImportDtype::F16, events); },
                     path.string(), {"tensor 'token_embd.weight' is missing"});
}
