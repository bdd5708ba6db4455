#include "core/train/resume_run.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/model/model_summary.h"
#include "core/train/emef_job.h"
#include "core/train/lrec_job.h"
#include "core/train/trainer.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Reads one setting, naming the file and the key when it is missing or of the wrong type.
template <typename T>
T setting(const json& config, const fs::path& file, const char* key) {
  if (!config.contains(key)) {
    throw InputError(file.string(), std::string("has no \"") + key + "\"",
                     "the run was made by an older LowBit; continue it with the command that started it and --resume");
  }
  try {
    return config.at(key).get<T>();
  } catch (const json::exception&) {
    throw InputError(file.string(), std::string("\"") + key + "\" has the wrong type", "the file was edited by hand; restore it");
  }
}

lora::LoraShape lora_shape(const json& c, const fs::path& file) {
  return {setting<int64_t>(c, file, "lora_rank"), setting<double>(c, file, "lora_alpha"),
          setting<double>(c, file, "lora_dropout")};
}

std::shared_ptr<jobs::Job> lrec_job(const json& c, const fs::path& file, const fs::path& run_dir, at::Device device) {
  LrecParams p;
  p.run_dir = run_dir;
  p.resume = true;
  p.student_dir = setting<std::string>(c, file, "student");
  p.teacher_dir = setting<std::string>(c, file, "teacher");
  p.calibration = setting<std::string>(c, file, "calibration");
  p.lora = lora_shape(c, file);
  p.target_modules = setting<std::vector<std::string>>(c, file, "target_modules");
  p.loss.kl = setting<double>(c, file, "kl_weight");
  p.loss.ce = setting<double>(c, file, "ce_weight");
  p.loss.direction = setting<std::string>(c, file, "kl_direction") == "student_teacher" ? KlDirection::StudentTeacher
                                                                                       : KlDirection::TeacherStudent;
  p.loss.normalisation = setting<std::string>(c, file, "kl_normalisation") == "per_token" ? KlNormalisation::PerToken
                                                                                           : KlNormalisation::PerSequence;
  p.schedule = {setting<double>(c, file, "lr"), setting<int64_t>(c, file, "warmup_steps"),
                setting<int64_t>(c, file, "steps"), parse_schedule_kind(setting<std::string>(c, file, "schedule")),
                setting<double>(c, file, "min_lr_ratio")};
  p.weight_decay = setting<double>(c, file, "weight_decay");
  p.max_grad_norm = setting<double>(c, file, "max_grad_norm");
  p.micro_batch = setting<int64_t>(c, file, "micro_batch");
  p.accumulation = setting<int64_t>(c, file, "accumulation");
  p.seqlen = setting<int64_t>(c, file, "seqlen");
  p.calibration_windows = setting<int64_t>(c, file, "calibration_windows");
  p.held_out_fraction = setting<double>(c, file, "held_out_fraction");
  p.eval_windows = setting<int64_t>(c, file, "eval_windows");
  p.teacher_top_k = setting<int64_t>(c, file, "teacher_top_k");
  p.gradient_checkpointing = setting<bool>(c, file, "gradient_checkpointing");
  p.seed = setting<uint64_t>(c, file, "seed");
  p.eval_every = setting<int64_t>(c, file, "eval_every");
  p.checkpoint_every = setting<int64_t>(c, file, "checkpoint_every");
  p.device = device;
  return std::make_shared<LrecJob>(p);
}

std::shared_ptr<jobs::Job> emef_job(const json& c, const fs::path& file, const fs::path& run_dir, at::Device device) {
  EmefParams p;
  p.run_dir = run_dir;
  p.resume = true;
  p.model_dir = setting<std::string>(c, file, "model");
  for (const std::string& adapter : setting<std::vector<std::string>>(c, file, "base_adapters")) p.base_adapters.push_back(adapter);
  p.data = setting<std::string>(c, file, "data");
  const auto columns = setting<std::vector<std::string>>(c, file, "columns");
  if (columns.size() != 3) throw InputError(file.string(), "\"columns\" must name three fields", "restore the file");
  p.columns = {columns[0], columns[1], columns[2]};
  p.examples.cutoff = setting<int64_t>(c, file, "cutoff");
  p.examples.train_on_inputs = setting<bool>(c, file, "train_on_inputs");
  p.examples.add_eos = setting<bool>(c, file, "add_eos");
  p.prompt_template = data::parse_prompt_template(c.value("template", std::string("alpaca")));
  p.lora = lora_shape(c, file);
  p.target_modules = setting<std::vector<std::string>>(c, file, "target_modules");
  p.lr = setting<double>(c, file, "lr");
  p.warmup_steps = setting<int64_t>(c, file, "warmup_steps");
  p.schedule = parse_schedule_kind(setting<std::string>(c, file, "schedule"));
  p.steps = setting<int64_t>(c, file, "steps");
  p.epochs = setting<double>(c, file, "epochs");
  p.batch = setting<int64_t>(c, file, "batch");
  p.micro_batch = setting<int64_t>(c, file, "micro_batch");
  p.weight_decay = setting<double>(c, file, "weight_decay");
  p.max_grad_norm = setting<double>(c, file, "max_grad_norm");
  p.validation = setting<double>(c, file, "validation");
  p.eval_examples = setting<int64_t>(c, file, "eval_examples");
  p.eval_every = setting<int64_t>(c, file, "eval_every");
  p.checkpoint_every = setting<int64_t>(c, file, "checkpoint_every");
  p.gradient_checkpointing = setting<bool>(c, file, "gradient_checkpointing");
  p.seed = setting<uint64_t>(c, file, "seed");
  p.device = device;
  return std::make_shared<EmefJob>(p);
}

}  // namespace

std::shared_ptr<jobs::Job> make_resume_job(const fs::path& run_dir, at::Device device) {
  const fs::path file = run_dir / "config.json";
  std::ifstream in(file);
  if (!in) throw InputError(run_dir.string(), "has no config.json", "open the run folder itself (it holds metrics.jsonl)");
  const json config = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) throw InputError(file.string(), "is not valid JSON", "the run cannot be resumed from it");
  if (fs::exists(run_dir / "adapter" / "adapter_model.safetensors")) {
    throw InputError(run_dir.string(), "is finished: its adapter is saved", "start a new run to train further");
  }
  if (Trainer::latest_checkpoint(run_dir) < 0) {
    throw InputError(run_dir.string(), "has no checkpoint yet (it stopped before its first one)",
                     "start it again as a new run in an empty folder");
  }
  const std::string kind = setting<std::string>(config, file, "kind");
  if (kind == "lrec") return lrec_job(config, file, run_dir, device);
  if (kind == "emef") return emef_job(config, file, run_dir, device);
  throw InputError(file.string(), "is of an unknown kind of run \"" + kind + "\"", "only LREC and EMEF runs can be resumed");
}

}  // namespace lowbit::train

namespace lowbit::train {

void ResumeRunJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const auto job = make_resume_job(run_dir_, model::resolve_device(device_name_));
  events.log({jobs::LogLevel::Info, "resuming " + job->title() + " in " + run_dir_.string()});
  job->run(events, cancel);
}

}  // namespace lowbit::train
