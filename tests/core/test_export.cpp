// `lowbit export --to hf`: a GPTQ INT4 stories260K with two stacked adapters (a correction, then a fine-tune on
// top) merged into one folder. LowBit reading the merged folder gives the stacked model's logits within 1e-5 (fp32
// export); transformers loading it — with no peft and no GPTQ code — gives them within the logits tolerance (fp32)
// and within fp16 rounding (fp16 export). The GGUF export of the same stack reads back in llama.cpp's `gguf` package
// and in LowBit's own GGUF import.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "core/export/gguf_export.h"
#include "core/export/hf_export.h"
#include "core/model/gguf_import.h"
#include "core/tokenizer/tokenizer.h"
#include "core/lora/peft_adapter.h"
#include "core/model/safetensors.h"
#include "core/quant/quantize_job.h"
#include "core/util/errors.h"
#include "tests/support/relative_error.h"
#include "tests/support/temp_dir.h"
#include "tests/support/testdata.h"
#include "tests/support/tolerances.h"

namespace lowbit::exporting {
namespace {

namespace fs = std::filesystem;
using testing::testdata_path;

constexpr const char* kModel = "models/stories260K-hf";

using testing::relative_max_error;

bool python_ready() {
  return std::system((std::string("'") + LOWBIT_PYTHON + "' -c 'import transformers, gguf' 2>/dev/null").c_str()) == 0;
}

at::Tensor transformers_logits(const fs::path& model, const fs::path& ids, const fs::path& out) {
  const std::string command = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR +
                              "/scripts/peft_reference.py' logits --base '" + model.string() + "' --ids '" + ids.string() +
                              "' --out '" + out.string() + "' 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return model::SafetensorsFile::open(out)->tensor("logits");
}

// INT4 GPTQ (act-order) of stories260K with two adapters on every projection, their B drawn so that each matters.
class HfExport : public ::testing::Test {
 protected:
  void SetUp() override {
    LOWBIT_REQUIRE_TESTDATA(kModel);
    quant::QuantizeSettings q;
    q.device = "cpu";
    q.model_dir = testdata_path(kModel);
    q.out_dir = dir.path() / "int4";
    q.calibration = testdata_path("train_text/tinystories_val_sample.txt");
    q.nsamples = 8;
    q.seqlen = 128;
    q.config.bits = 4;
    q.config.group_size = 32;
    q.config.desc_act = true;
    jobs::IgnoreEvents events;
    quant::QuantizeJob(q).run(events, jobs::CancelToken());
    c10::NoGradGuard no_grad;
    auto model = model::LlamaModel::load(q.out_dir, {at::kCPU, at::kFloat});
    lora::AdapterConfig config;
    config.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    for (int index = 0; index < 2; ++index) {
      config.shape = {4 + 4 * index, 8.0 + 24.0 * index, 0.0};
      const auto adapter = lora::attach_new_adapter(*model, config, false, 31 + index);
      at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(41 + index);
      for (const lora::AdapterLayer& entry : adapter) entry.layer->lora_b().detach().normal_(0.0, 0.05, generator);
      adapters.push_back(dir.path() / ("adapter" + std::to_string(index)));
      lora::save_adapter(adapter, config, adapters.back());
    }
    ids = at::randint(3, 512, {2, 24}, at::kLong);
    model::save_safetensors(dir.path() / "ids.safetensors", {{"input_ids", ids}});
    stacked = model->forward(ids);
    base = model::LlamaModel::load(q.out_dir, {at::kCPU, at::kFloat})->forward(ids);
  }

  HfExportResult export_as(ExportDtype dtype, const std::string& name) {
    jobs::IgnoreEvents events;
    return export_hf({dir.path() / "int4", adapters, dir.path() / name, dtype}, events, jobs::CancelToken());
  }

  testing::TempDir dir;
  std::vector<fs::path> adapters;
  at::Tensor ids, stacked, base;
};

TEST_F(HfExport, TheMergedFolderComputesWhatTheStackedModelComputes) {
  c10::NoGradGuard no_grad;
  ASSERT_GT((stacked - base).abs().max().item<double>(), 1e-2) << "the adapters must change the output";
  const HfExportResult r = export_as(ExportDtype::Float32, "merged");
  EXPECT_EQ(r.merged_projections, 5 * 7);
  EXPECT_EQ(r.dequantized_projections, 5 * 7);
  const fs::path merged = dir.path() / "merged";
  std::ifstream in(merged / "config.json");
  const nlohmann::json config = nlohmann::json::parse(in);
  EXPECT_FALSE(config.contains("quantization_config"));
  EXPECT_EQ(config["torch_dtype"], "float32");
  EXPECT_TRUE(fs::exists(merged / "tokenizer.model") || fs::exists(merged / "tokenizer.json"));
  EXPECT_FALSE(fs::exists(dir.path() / "merged.partial"));

  const at::Tensor ours = model::LlamaModel::load(merged, {at::kCPU, at::kFloat})->forward(ids);
  const double lowbit_error = relative_max_error(ours, stacked);
  std::printf("merged fp32 export in LowBit vs GPTQ + 2 adapters: relative max logit difference %.3g\n", lowbit_error);
  EXPECT_LE(lowbit_error, 1e-5);

  if (!python_ready()) GTEST_SKIP() << LOWBIT_PYTHON << " has no transformers (run scripts/setup.sh)";
  const at::Tensor theirs = transformers_logits(merged, dir.path() / "ids.safetensors", dir.path() / "hf.safetensors");
  const double transformers_error = relative_max_error(theirs, stacked);
  std::printf("merged fp32 export in transformers vs LowBit's GPTQ + 2 adapters: relative max logit difference %.3g\n",
              transformers_error);
  EXPECT_LE(transformers_error, 1e-5);
}

TEST_F(HfExport, AFloat16ExportLoadsInTransformersWithinHalfPrecision) {
  if (!python_ready()) GTEST_SKIP() << LOWBIT_PYTHON << " has no transformers (run scripts/setup.sh)";
  c10::NoGradGuard no_grad;
  const HfExportResult r = export_as(ExportDtype::Float16, "merged16");
  EXPECT_GT(r.safetensors_bytes, 0u);
  const at::Tensor theirs = transformers_logits(dir.path() / "merged16", dir.path() / "ids.safetensors",
                                                dir.path() / "hf16.safetensors");
  const double error = relative_max_error(theirs, stacked);
  std::printf("merged fp16 export in transformers (fp32 compute) vs LowBit's GPTQ + 2 adapters: %.3g\n", error);
  EXPECT_LE(error, 5e-3);  // fp16 weights: 2^-11 relative rounding on each
  EXPECT_GT(error, 0.0);
}

// GGUF: the `gguf` package (llama.cpp's own reader) dequantizes every tensor close to the merged weight, each
// type within its rounding; LowBit's GGUF import reads the F16 file back to the stacked model's logits (fp16
// bound) and the same tokenizer; the Modelfile names the file.
TEST_F(HfExport, GgufFilesHoldTheMergedWeightsAndTheTokenizer) {
  if (!python_ready()) GTEST_SKIP() << LOWBIT_PYTHON << " has no transformers/gguf (run scripts/setup.sh)";
  c10::NoGradGuard no_grad;
  export_as(ExportDtype::Float32, "merged");
  for (const GgufExportType type : {GgufExportType::F16, GgufExportType::Q8_0, GgufExportType::Q4_0}) {
    const std::string name = std::string("gguf-") + gguf_export_type_name(type);
    jobs::IgnoreEvents events;
    const GgufExportResult r = export_gguf({dir.path() / "int4", adapters, dir.path() / name, type}, events,
                                           jobs::CancelToken());
    EXPECT_EQ(r.tokenizer, "llama (sentencepiece tokenizer.model)");
    EXPECT_TRUE(fs::exists(r.gguf_file)) << r.gguf_file;
    const std::string command = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR +
                                "/scripts/check_gguf_export.py' '" + r.gguf_file.string() + "' '" +
                                (dir.path() / "merged").string() + "' 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream modelfile(r.modelfile);
    const std::string text((std::istreambuf_iterator<char>(modelfile)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("FROM ./" + r.gguf_file.filename().string()), std::string::npos) << text;
    EXPECT_NE(text.find("PARAMETER stop \"</s>\""), std::string::npos) << text;
  }
  jobs::IgnoreEvents events;
  model::GgufImportOptions import_options;
  import_options.dtype = model::GgufImportDtype::F32;
  model::import_gguf(dir.path() / "gguf-F16" / "int4-merged.F16.gguf", dir.path() / "back", import_options, events,
                     jobs::CancelToken());
  const at::Tensor back = model::LlamaModel::load(dir.path() / "back", {at::kCPU, at::kFloat})->forward(ids);
  const double error = relative_max_error(back, stacked);
  std::printf("F16 GGUF export, imported back by LowBit, vs GPTQ + 2 adapters: relative max logit difference %.3g\n",
              error);
  EXPECT_LE(error, 5e-3);
  const auto config = model::load_llama_config(dir.path() / "back");
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  EXPECT_EQ(tokenizer::Tokenizer::load(dir.path() / "back", config).encode(text, true),
            tokenizer::Tokenizer::load(testdata_path(kModel), config).encode(text, true));
}

TEST_F(HfExport, AnExistingFolderIsNeverOverwritten) {
  fs::create_directories(dir.path() / "taken");
  std::ofstream(dir.path() / "taken" / "keep.txt") << "mine";
  EXPECT_THROW(export_as(ExportDtype::Float16, "taken"), InputError);
  EXPECT_TRUE(fs::exists(dir.path() / "taken" / "keep.txt"));
}

}  // namespace
}  // namespace lowbit::exporting
