// LoRA adapters on a LlamaModel, in PEFT's file layout so that `peft` loads what LowBit trains and LowBit
// loads what `peft` trains:
//   adapter_config.json        {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": [...], ...}
//   adapter_model.safetensors  base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight  [r, in]
//                              base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight  [out, r]
// Adapters stack: each attach/load wraps the projections as they are, so the newest adapter is on top.
//
//   auto adapter = attach_new_adapter(model, config, /*trainable=*/true, /*seed=*/0);
//   save_adapter(adapter, config, "runs/lrec/adapter");
//   load_adapter(other_model, "runs/lrec/adapter", /*trainable=*/false);
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/lora/adapter_config.h"
#include "core/lora/lora_linear.h"
#include "core/model/llama_model.h"

namespace lowbit::lora {

struct AdapterLayer {
  std::string module;  // "model.layers.0.self_attn.q_proj"
  LoraLinear* layer;   // owned by the model
};

// Every target projection of every layer gets a new LoraLinear on top of what it has.
std::vector<AdapterLayer> attach_new_adapter(model::LlamaModel& model, const AdapterConfig& config, bool trainable,
                                             uint64_t seed);


// InputError naming the folder and the key when something does not fit the model.
std::vector<AdapterLayer> load_adapter(model::LlamaModel& model, const std::filesystem::path& dir, bool trainable);

// Copies the weights of the adapter saved in `dir` into the layers of `adapter` (same modules and shapes), e.g.
// to resume training; InputError naming the key when one is missing.
void restore_adapter_weights(const std::vector<AdapterLayer>& adapter, const std::filesystem::path& dir);

// Written file by file with write-then-rename; the folder is created if needed.
void save_adapter(const std::vector<AdapterLayer>& adapter, const AdapterConfig& config,
                  const std::filesystem::path& dir);

}  // namespace lowbit::lora
