#include "core/lora/peft_adapter.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/model/safetensors.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

namespace lowbit::lora {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kKeyPrefix = "base_model.model.";

std::string module_path(const model::LlamaModel& model, const model::LlamaProjection& projection, int64_t layer) {
  for (const auto& spec : model::llama_tensor_names(model.config().architecture)) {
    if (spec.tensor == projection.tensor) {
      const std::string name = model::hf_tensor_name(spec, layer);
      return name.substr(0, name.size() - std::string(".weight").size());
    }
  }
  throw InternalError("projection missing from the tensor table");
}

template <typename MakeLayer>
std::vector<AdapterLayer> wrap_targets(model::LlamaModel& model, const std::vector<std::string>& targets,
                                       MakeLayer&& make_layer) {
  std::vector<AdapterLayer> adapter;
  for (int64_t i = 0; i < model.config().n_layer; ++i) {
    model::LlamaLayer& layer = model.layers()[static_cast<size_t>(i)];
    for (const model::LlamaProjection& projection : model::llama_projections()) {
      if (std::find(targets.begin(), targets.end(), projection.name) == targets.end()) continue;
      const std::string module = module_path(model, projection, i);
      auto wrapped = make_layer(std::move(layer.*projection.member), module);
      LoraLinear* raw = wrapped.get();
      layer.*projection.member = std::move(wrapped);
      adapter.push_back({module, raw});
    }
  }
  return adapter;
}

}  // namespace

std::vector<AdapterLayer> attach_new_adapter(model::LlamaModel& model, const AdapterConfig& config, bool trainable,
                                             uint64_t seed) {
  check_adapter_targets(config.target_modules, "adapter settings");
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return wrap_targets(model, config.target_modules, [&](std::unique_ptr<model::Linear> base, const std::string&) {
    return std::make_unique<LoraLinear>(std::move(base), config.shape, trainable, generator, model.device());
  });
}

std::vector<AdapterLayer> load_adapter(model::LlamaModel& model, const fs::path& dir, bool trainable) {
  const AdapterConfig config = read_adapter_config(dir);
  const fs::path weights = dir / "adapter_model.safetensors";
  if (!fs::exists(weights)) {
    throw InputError(dir.string(),
                     fs::exists(dir / "adapter_model.bin")
                         ? "holds only adapter_model.bin, a pickle, which can run arbitrary code when loaded and is "
                           "therefore not opened"
                         : "has no adapter_model.safetensors",
                     "re-save the adapter with peft's save_pretrained(..., safe_serialization=True)");
  }
  const auto file = model::SafetensorsFile::open(weights);
  std::set<std::string> unused;
  for (const auto& [name, info] : file->tensors()) unused.insert(name);
  auto fetch = [&](const std::string& key) {
    if (!file->contains(key)) {
      throw InputError(weights.string(), "tensor '" + key + "' is missing",
                       "the adapter was trained for a model with other layers or target modules");
    }
    unused.erase(key);
    return file->tensor(key);
  };
  std::vector<AdapterLayer> adapter =
      wrap_targets(model, config.target_modules, [&](std::unique_ptr<model::Linear> base, const std::string& module) {
        const std::string prefix = kKeyPrefix + module;
        try {
          const at::Tensor lora_a = fetch(prefix + ".lora_A.weight");
          const at::Tensor lora_b = fetch(prefix + ".lora_B.weight");
          return std::make_unique<LoraLinear>(std::move(base), config.shape, lora_a, lora_b, trainable, model.device());
        } catch (const InputError& e) {
          throw InputError(weights.string(), module + ": " + e.problem(), e.remedy());
        }
      });
  if (!unused.empty()) {
    throw InputError(weights.string(), "has weights LowBit would not use, e.g. '" + *unused.begin() + "'",
                     "the adapter targets modules other than its adapter_config.json says");
  }
  return adapter;
}

void restore_adapter_weights(const std::vector<AdapterLayer>& adapter, const fs::path& dir) {
  const fs::path weights = dir / "adapter_model.safetensors";
  const auto file = model::SafetensorsFile::open(weights);
  c10::NoGradGuard no_grad;
  for (const AdapterLayer& entry : adapter) {
    for (const auto& [suffix, target] : {std::pair<const char*, at::Tensor*>{".lora_A.weight", &entry.layer->lora_a()},
                                         {".lora_B.weight", &entry.layer->lora_b()}}) {
      const std::string key = kKeyPrefix + entry.module + suffix;
      if (!file->contains(key)) {
        throw InputError(weights.string(), "tensor '" + key + "' is missing", "the checkpoint belongs to another run");
      }
      target->copy_(file->tensor(key));
    }
  }
}

void save_adapter(const std::vector<AdapterLayer>& adapter, const AdapterConfig& config, const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const AdapterLayer& entry : adapter) {
    tensors.emplace_back(kKeyPrefix + entry.module + ".lora_A.weight", entry.layer->lora_a().detach().cpu().contiguous());
    tensors.emplace_back(kKeyPrefix + entry.module + ".lora_B.weight", entry.layer->lora_b().detach().cpu().contiguous());
  }
  model::save_safetensors(dir / "adapter_model.safetensors", tensors, {{"format", "pt"}});
  const json document = {{"peft_type", "LORA"},
                         {"task_type", "CAUSAL_LM"},
                         {"r", config.shape.rank},
                         {"lora_alpha", config.shape.alpha},
                         {"lora_dropout", config.shape.dropout},
                         {"target_modules", config.target_modules},
                         {"bias", "none"},
                         {"fan_in_fan_out", false},
                         {"inference_mode", true},
                         {"init_lora_weights", true},
                         {"use_rslora", false},
                         {"use_dora", false},
                         {"modules_to_save", nullptr},
                         {"layers_to_transform", nullptr},
                         {"base_model_name_or_path", config.base_model_name_or_path}};
  write_text_file_atomically(dir / "adapter_config.json", document.dump(2) + "\n");
}

}  // namespace lowbit::lora
