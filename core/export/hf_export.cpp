#include "core/export/hf_export.h"
#include "core/util/json_limits.h"

#include <c10/core/GradMode.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/jobs/eta.h"
#include "core/lora/lora_linear.h"
#include "core/lora/peft_adapter.h"
#include "core/model/architecture.h"
#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "core/quant/quant_linear.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

namespace lowbit::exporting {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The files a model folder holds besides its weights and config, which a merged model keeps unchanged.
const char* const kCopiedFiles[] = {"tokenizer.json",          "tokenizer.model",    "tokenizer_config.json",
                                    "special_tokens_map.json", "added_tokens.json",  "chat_template.jinja",
                                    "chat_template.json",      "generation_config.json"};

struct MergedProjection {
  at::Tensor weight;  // float32 [out, in]
  at::Tensor bias;    // undefined when none
  int adapters = 0;
  bool dequantized = false;
};

// Walks a projection's stack down to its base weight and adds each adapter's update on the way back up, so the
// result is what forward() computes: base(x) + Σ (α/r)·B·A·x.
MergedProjection merge(const model::Linear& linear) {
  if (const auto* lora = dynamic_cast<const lora::LoraLinear*>(&linear)) {
    MergedProjection merged = merge(lora->base());
    const double scaling = lora->shape().alpha / static_cast<double>(lora->shape().rank);
    merged.weight = merged.weight + at::matmul(lora->lora_b().to(at::kFloat), lora->lora_a().to(at::kFloat)) * scaling;
    ++merged.adapters;
    return merged;
  }
  if (const auto* dense = dynamic_cast<const model::DenseLinear*>(&linear)) {
    return {dense->weight().to(at::kFloat), dense->bias(), 0, false};
  }
  if (const auto* quantized = dynamic_cast<const quant::QuantLinear*>(&linear)) {
    return {quantized->dequantized_weight(), quantized->bias(), 0, true};
  }
  throw InternalError("export: a projection of unknown kind (" + linear.describe() + ")");
}

json exported_config(const fs::path& model_dir, ExportDtype dtype) {
  json config = util::read_json_file(model_dir / "config.json", util::kConfigJsonLimits);
  if (!config.is_object()) {
    throw InputError((model_dir / "config.json").string(), "is not a JSON object", "the model folder is damaged");
  }
  config.erase("quantization_config");
  config["torch_dtype"] = dtype == ExportDtype::Float16 ? "float16" : "float32";
  return config;
}

}  // namespace

MergedModel merge_model(const fs::path& model_dir, const std::vector<fs::path>& adapters, at::ScalarType dtype,
                        jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  c10::NoGradGuard no_grad;
  events.log({jobs::LogLevel::Info, "loading " + model_dir.string()});
  auto model = model::LlamaModel::load(model_dir, {at::kCPU, at::kFloat});
  for (const fs::path& adapter : adapters) {
    lora::load_adapter(*model, adapter, /*trainable=*/false);
    events.log({jobs::LogLevel::Info, "stacked the adapter " + adapter.string()});
  }
  MergedModel merged;
  merged.config = model->config();
  const model::LlamaConfig& config = merged.config;
  const auto add = [&](const model::LlamaTensor tensor, int64_t layer, const at::Tensor& value) {
    const model::LlamaTensorSpec* spec = model::find_tensor_spec(config, tensor);
    if (spec == nullptr) throw InternalError("export: the architecture has no tensor for a weight LowBit holds");
    merged.tensors.emplace_back(model::hf_tensor_name(*spec, layer), value.to(dtype).contiguous());
  };
  add(model::LlamaTensor::TokenEmbedding, 0, model->embed_tokens());
  add(model::LlamaTensor::OutputNorm, 0, model->final_norm());
  if (!config.tie_word_embeddings) add(model::LlamaTensor::Output, 0, model->lm_head());

  jobs::EtaClock clock;
  const int64_t n_layer = static_cast<int64_t>(model->layers().size());
  for (int64_t index = 0; index < n_layer; ++index) {
    cancel.throw_if_cancelled();
    const model::LlamaLayer& layer = model->layers()[static_cast<size_t>(index)];
    add(model::LlamaTensor::AttnNorm, index, layer.attn_norm);
    add(model::LlamaTensor::FfnNorm, index, layer.ffn_norm);
    for (const model::LlamaProjection& projection : model::llama_projections()) {
      const MergedProjection merged_projection = merge(*(layer.*projection.member));
      add(projection.tensor, index, merged_projection.weight);
      if (merged_projection.bias.defined()) {
        const auto bias = model::projection_bias(config, projection.tensor);
        if (!bias) throw InternalError("export: a bias on a projection the architecture gives none");
        add(*bias, index, merged_projection.bias);
      }
      merged.merged_projections += merged_projection.adapters > 0 ? 1 : 0;
      merged.dequantized_projections += merged_projection.dequantized ? 1 : 0;
    }
    events.progress({"layers", index + 1, n_layer, clock.seconds_left(index + 1, n_layer)});
  }
  return merged;
}

HfExportResult export_hf(const HfExportOptions& options, jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  if (fs::exists(options.out_dir)) {
    throw InputError(options.out_dir.string(), "already exists", "choose another --out, or delete it first");
  }
  check_output_folder_writable(options.out_dir);
  const at::ScalarType out_dtype = options.dtype == ExportDtype::Float16 ? at::kHalf : at::kFloat;
  const MergedModel merged = merge_model(options.model_dir, options.adapters, out_dtype, events, cancel);
  const auto& tensors = merged.tensors;
  HfExportResult result;
  result.merged_projections = merged.merged_projections;
  result.dequantized_projections = merged.dequantized_projections;
  result.tensors = static_cast<int64_t>(tensors.size());

  const json out_config = exported_config(options.model_dir, options.dtype);
  write_directory_atomically(options.out_dir, [&](const fs::path& partial) {
    model::save_safetensors(partial / "model.safetensors", tensors, {{"format", "pt"}});
    write_text_file_atomically(partial / "config.json", out_config.dump(2) + "\n");
    for (const char* name : kCopiedFiles) {
      if (!fs::exists(options.model_dir / name)) continue;
      fs::copy_file(options.model_dir / name, partial / name);
      result.copied_files.push_back(name);
    }
    cancel.throw_if_cancelled();
  }, ExistingFolder::Refuse);
  result.safetensors_bytes = fs::file_size(options.out_dir / "model.safetensors");
  return result;
}

}  // namespace lowbit::exporting
