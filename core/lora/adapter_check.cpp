#include "core/lora/adapter_check.h"

#include <system_error>

#include "core/lora/peft_adapter.h"
#include "core/util/errors.h"

namespace lowbit::lora {
namespace fs = std::filesystem;

namespace {

bool same_folder(const fs::path& a, const fs::path& b) {
  std::error_code error;
  const bool same = fs::equivalent(a, b, error);
  return !error && same;
}

}  // namespace

AdapterCheck check_adapter_for_model(const fs::path& adapter_dir, const fs::path& model_dir) {
  if (!fs::is_directory(adapter_dir)) {
    throw InputError(adapter_dir.string(), "is not a folder", "choose the adapter folder (it holds adapter_config.json)");
  }
  AdapterCheck check;
  const AdapterConfig config = read_adapter_config(adapter_dir);
  check.rank = config.shape.rank;
  check.target_modules = config.target_modules;
  check.base_model = config.base_model_name_or_path;
  if (!fs::exists(adapter_dir / "adapter_model.safetensors")) {
    throw InputError(adapter_dir.string(), "has adapter_config.json but no adapter_model.safetensors",
                     "choose the adapter of a finished run (its adapter folder), or resume the run that makes it");
  }
  const fs::path base = check.base_model;
  if (!base.empty() && fs::exists(base) && !same_folder(base, model_dir)) {
    throw InputError(adapter_dir.string(), "was made for " + base.string() + ", not for " + model_dir.string(),
                     "fine-tune " + base.string() + " with it, or choose the adapter made for this model");
  }
  std::string modules;
  for (const std::string& module : check.target_modules) modules += (modules.empty() ? "" : ", ") + module;
  check.description = "LoRA rank " + std::to_string(check.rank) + " on " + modules;
  if (!base.empty()) {
    check.description += ", made for " + base.filename().string();
    if (!fs::exists(base)) check.description += " (not on this computer; its shapes are checked when the run loads it)";
  }
  return check;
}

}  // namespace lowbit::lora
