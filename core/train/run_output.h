// What a run made, as something to chat with: the model its last step used and the adapters stacked on it, in load
// order (a fine-tune on top of the correction it was trained on). Read from the run folder alone — a New run
// pipeline's pipeline.json, an LREC or EMEF run's config.json — so that the dashboard can offer "Chat with the
// result" for a run it finished, or one it opened from disk.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

namespace lowbit::train {

struct RunOutput {
  std::filesystem::path model;
  std::vector<std::filesystem::path> adapters;
};

// nullopt when the folder is not a LowBit run, its settings cannot be read, or what it made is not all on disk
// (a stopped run: no final adapter yet; a quantized model that is gone).
std::optional<RunOutput> run_output(const std::filesystem::path& run_dir);

}  // namespace lowbit::train
