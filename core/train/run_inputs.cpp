#include "core/train/run_inputs.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/util/errors.h"
#include "core/util/sha.h"

namespace lowbit::train {

namespace fs = std::filesystem;

std::string folder_fingerprint(const fs::path& dir) {
  Sha256 hash;
  for (const char* name : {"config.json", "adapter_config.json"}) {
    std::ifstream in(dir / name, std::ios::binary);
    if (!in) continue;
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    hash.update(name, std::char_traits<char>::length(name));
    hash.update(bytes.data(), bytes.size());
  }
  std::vector<std::string> weights;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().extension() == ".safetensors") {
      weights.push_back(it->path().filename().string() + " " + std::to_string(fs::file_size(it->path(), error)));
    }
  }
  std::sort(weights.begin(), weights.end());
  for (const std::string& entry : weights) hash.update(entry.data(), entry.size());
  return "sha256:" + hash.hex_digest();
}

nlohmann::json input_fingerprints(const std::vector<NamedInput>& inputs) {
  nlohmann::json fingerprints = nlohmann::json::object();
  for (const auto& [name, dir] : inputs) fingerprints[name] = folder_fingerprint(dir);
  return fingerprints;
}

void check_input_fingerprints(const nlohmann::json& run_config, const std::vector<NamedInput>& inputs,
                              const fs::path& run_dir) {
  const auto stored = run_config.find("input_fingerprints");
  if (stored == run_config.end() || !stored->is_object()) return;
  for (const auto& [name, dir] : inputs) {
    const auto expected = stored->find(name);
    if (expected == stored->end() || !expected->is_string()) continue;
    if (expected->get<std::string>() != folder_fingerprint(dir)) {
      throw InputError(run_dir.string(),
                       "was started from another model than the one now at " + dir.string() + " (" + name +
                           "): its config.json or weights differ",
                       "put the run's own model back at that path, or start a new run");
    }
  }
}

}  // namespace lowbit::train
