// What a run started from and what it made, read from the run folder alone — a New run pipeline's pipeline.json,
// an LREC or EMEF run's config.json, each through its settings schema — so that the dashboard can offer "Chat with
// the result" for a run it finished or opened from disk, and the Models page can list the runs made from a model.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::train {

struct RunOutput {
  std::filesystem::path model;
  std::vector<std::filesystem::path> adapters;
};

// What a run made, as something to chat with: the model its last step used and the adapters stacked on it, in load
// order (a fine-tune on top of the correction it was trained on).
// nullopt when the folder is not a LowBit run, its settings cannot be read, or what it made is not all on disk
// (a stopped run: no final adapter yet; a quantized model that is gone).
std::optional<RunOutput> run_output(const std::filesystem::path& run_dir);

// What a run of this kind (its config.json's "kind": "pipeline", "lrec", "emef") is, for people: "pipeline (New run)",
// "correction (LREC)", "fine-tune (EMEF)"; "" for a kind LowBit does not make.
std::string run_kind_label(const std::string& kind);

struct RunSource {
  std::filesystem::path model;
  std::string role;  // how the run used it: its run_kind_label
};

// The models a run started from: a pipeline's model; an LREC run's quantized student and its teacher; an EMEF run's
// model. Empty when the folder is not a LowBit run or its settings cannot be read.
std::vector<RunSource> models_a_run_started_from(const std::filesystem::path& run_dir);

}  // namespace lowbit::train
