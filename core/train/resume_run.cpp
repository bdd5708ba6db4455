#include "core/train/resume_run.h"
#include "core/util/folder_lock.h"
#include "core/util/json_limits.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/train/emef_job.h"
#include "core/train/lrec_job.h"
#include "core/train/run_plan.h"
#include "core/train/trainer.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

template <typename Job, typename Settings>
std::shared_ptr<jobs::Job> resumed_job(const SettingsSchema<Settings>& schema, const json& config, const fs::path& file,
                                       const fs::path& run_dir, const std::string& device) {
  Settings settings = schema.from_json(config, file.string());
  settings.run_dir = run_dir;
  settings.resume = true;
  settings.device = device;
  return std::make_shared<Job>(settings);
}

}  // namespace

std::shared_ptr<jobs::Job> make_resume_job(const fs::path& run_dir, const std::string& device) {
  if (std::optional<RunPlan> plan = read_pipeline(run_dir)) {
    const std::vector<fs::path> folders = training_run_folders(*plan);
    if (!folders.empty() && fs::exists(folders.back() / "adapter" / "adapter_model.safetensors")) {
      throw InputError(run_dir.string(), "is finished: its last step's adapter is saved", "start a new run to train further");
    }
    plan->resume = true;
    plan->device = device;
    return std::make_shared<RunPlanJob>(std::move(*plan));
  }
  const fs::path file = run_dir / "config.json";
  std::error_code error;
  if (fs::is_directory(run_dir, error)) {
    // A run still being written is refused as in use (with its writer's pid) before its state is judged; the job
    // takes the lock for itself when it starts.
    const FolderLock in_use_check = FolderLock::acquire(run_dir, "a run");
  }
  if (!fs::exists(file, error)) {
    throw InputError(run_dir.string(), "has no config.json", "open the run folder itself (it holds metrics.jsonl)");
  }
  const json config = util::read_json_file(file, util::kConfigJsonLimits);
  if (!config.is_object()) throw InputError(file.string(), "is not a JSON object", "the run cannot be resumed from it");
  if (fs::exists(run_dir / "adapter" / "adapter_model.safetensors")) {
    throw InputError(run_dir.string(), "is finished: its adapter is saved", "start a new run to train further");
  }
  const std::string kind = config.value("kind", std::string());
  if (kind == "lrec") return resumed_job<LrecJob>(lrec_settings_schema(), config, file, run_dir, device);
  if (kind == "emef") return resumed_job<EmefJob>(emef_settings_schema(), config, file, run_dir, device);
  throw InputError(file.string(), "is of an unknown kind of run \"" + kind + "\"", "only LREC and EMEF runs can be resumed");
}

void ResumeRunJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const auto job = make_resume_job(run_dir_, device_name_);
  events.log({jobs::LogLevel::Info, "resuming " + job->title() + " in " + run_dir_.string()});
  job->run(events, cancel);
}

}  // namespace lowbit::train
