// Whether an adapter folder can be stacked under a new fine-tune of a model, read from its files alone (no model
// loaded): the wizard checks the correction adapter it is given as it is typed, as the fine-tune would refuse it.
// Torch-free, for the UI.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/jobs/job.h"

namespace lowbit::lora {

struct AdapterCheck {
  int64_t rank = 0;
  std::vector<std::string> target_modules;
  std::string base_model;   // base_model_name_or_path
  std::string description;  // "LoRA rank 4 on q_proj, k_proj, v_proj, o_proj, made for int2"
};

// InputError (naming the folder, what is wrong and what to do) for a folder that is not an adapter, has no
// weights, or was made for another model that is on this computer. An adapter whose base is not on this computer
// (made elsewhere) passes; the fine-tune checks its shapes when it loads it.
AdapterCheck check_adapter_for_model(const std::filesystem::path& adapter_dir, const std::filesystem::path& model_dir);

class AdapterCheckJob : public jobs::Job {
 public:
  AdapterCheckJob(std::filesystem::path adapter_dir, std::filesystem::path model_dir)
      : adapter_dir_(std::move(adapter_dir)), model_dir_(std::move(model_dir)) {}
  std::string title() const override { return "Check adapter"; }
  void run(jobs::JobEvents&, const jobs::CancelToken&) override { check_ = check_adapter_for_model(adapter_dir_, model_dir_); }
  const AdapterCheck& check() const { return check_; }

 private:
  std::filesystem::path adapter_dir_, model_dir_;
  AdapterCheck check_;
};

}  // namespace lowbit::lora
