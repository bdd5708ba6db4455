// The settings of a quantization (core/quant/quantize_job.h), in one place: the fields and their defaults, the
// group-size policy, and — through quantize_settings_schema() — the `lowbit quantize` command line and the
// usage text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/quant/quant_config.h"
#include "core/util/settings_schema.h"

namespace lowbit::quant {

struct QuantizeSettings {
  std::filesystem::path model_dir;
  std::filesystem::path out_dir;
  std::optional<std::filesystem::path> calibration;  // required for GPTQ; optional for RTN (error report)
  QuantConfig config;
  int64_t nsamples = 128;
  int64_t seqlen = 2048;
  uint64_t seed = 0;
  std::string device = "auto";  // resolved when the job runs
};

bool operator==(const QuantizeSettings& a, const QuantizeSettings& b);
inline bool operator!=(const QuantizeSettings& a, const QuantizeSettings& b) { return !(a == b); }

// 128 columns per group when the hidden size allows it (as GPTQ's LLaMA checkpoints), else 32.
int64_t default_group_size(int64_t hidden_size);

const SettingsSchema<QuantizeSettings>& quantize_settings_schema();

}  // namespace lowbit::quant
