// What a run was started from, kept in its config.json, so that a resume refuses to continue on another model
// that happens to sit at the same path (or was replaced there): the folders' fingerprints must match.
//
//   config["input_fingerprints"] = input_fingerprints({{"student_dir", p.student_dir}, ...});   // a new run
//   check_input_fingerprints(config, {{"student_dir", p.student_dir}, ...}, p.run_dir);         // a resume
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lowbit::train {

using NamedInput = std::pair<std::string, std::filesystem::path>;

// SHA-256 of the folder's config.json (or adapter_config.json) and of the names and sizes of its *.safetensors
// files: cheap (no weight is read) and different for any other model or quantization.
std::string folder_fingerprint(const std::filesystem::path& dir);

nlohmann::json input_fingerprints(const std::vector<NamedInput>& inputs);

// Throws InputError naming the run and the input when a folder is not the one the run started from. A run folder
// of an earlier version (no fingerprints) is let through.
void check_input_fingerprints(const nlohmann::json& run_config, const std::vector<NamedInput>& inputs,
                              const std::filesystem::path& run_dir);

}  // namespace lowbit::train
