#include "core/train/lrec_job.h"
#include "core/train/run_inputs.h"
#include "core/util/json_limits.h"

#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/data/calibration.h"
#include "core/data/text_corpus.h"
#include "core/eval/perplexity.h"
#include "core/lora/peft_adapter.h"
#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "core/system/device.h"
#include "core/system/memory_usage.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/metric_names.h"
#include "core/train/run_status.h"
#include "core/train/teacher_cache.h"
#include "core/train/trainer.h"
#include "core/train/training_settings.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"
#include "core/util/format.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Calibration and held-out parts of one corpus: the held-out part is the end of the text (from a paragraph
// break) or the last documents of a JSONL file, so that no evaluated token was trained on.
std::pair<data::TextCorpus, data::TextCorpus> split_corpus(const data::TextCorpus& corpus, double held_out_fraction) {
  data::TextCorpus train = corpus, held_out = corpus;
  if (corpus.format == data::TextFormat::JsonLines) {
    const auto count = static_cast<int64_t>(corpus.documents.size());
    const int64_t kept = std::max<int64_t>(1, static_cast<int64_t>(std::llround(count * (1.0 - held_out_fraction))));
    if (kept >= count) throw InputError(corpus.path.string(), "has too few records to hold some out", "use more text");
    train.documents.assign(corpus.documents.begin(), corpus.documents.begin() + kept);
    held_out.documents.assign(corpus.documents.begin() + kept, corpus.documents.end());
    return {train, held_out};
  }
  const std::string& text = corpus.documents.front();
  const auto target = static_cast<size_t>(static_cast<double>(text.size()) * (1.0 - held_out_fraction));
  size_t cut = text.rfind("\n\n", target);
  if (cut == std::string::npos || cut == 0) cut = text.rfind('\n', target);
  if (cut == std::string::npos || cut == 0) cut = target;
  train.documents = {text.substr(0, cut)};
  held_out.documents = {text.substr(cut + (text.compare(cut, 2, "\n\n") == 0 ? 2 : 0))};
  return {train, held_out};
}

}  // namespace

TrainingShape lrec_training_shape(const LrecSettings& p, int64_t compute_bytes) {
  TrainingShape shape = adapter_training_shape(p, p.seqlen, p.teacher_top_k, compute_bytes);
  shape.teacher_hidden_state = p.loss.kind == CorrectionLoss::HiddenMseCe;
  return shape;
}

MemoryEstimate estimate_lrec_memory(const LrecSettings& p, at::Device device) {
  const model::LlamaConfig config = model::load_llama_config(p.student_dir);
  return estimate_training_memory(config, quant::read_quant_config(p.student_dir.string()),
                                  lrec_training_shape(p, static_cast<int64_t>(at::elementSize(model::default_compute_dtype(config, device)))));
}

void LrecJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const auto started = std::chrono::steady_clock::now();
  // Absolute, so that config.json names the same folders whatever directory a resume is started from.
  for (fs::path* path : {&params_.student_dir, &params_.teacher_dir, &params_.calibration}) {
    if (!path->empty()) *path = fs::absolute(*path).lexically_normal();
  }
  const LrecSettings& p = params_;
  const std::vector<NamedInput> inputs = {{"student_dir", p.student_dir}, {"teacher_dir", p.teacher_dir}};
  if (p.micro_batch < 1 || p.accumulation < 1 || p.schedule.total_steps < 1 || p.seqlen < 2) {
    throw InputError("", "micro-batch, accumulation, steps and seqlen must be positive", "");
  }
  const at::Device device = system::resolve_device(p.device);
  result_.device = device.str();
  Trainer::run_in_claimed_directory(p.run_dir, p.resume, [&] {
    // The settings first: a run killed at any later moment can be resumed (from step 0 before its first checkpoint).
    if (!p.resume) {
      json config = {{"kind", "lrec"}, {"total_steps", p.schedule.total_steps}};
      config.update(lrec_settings_schema().to_json(p));
      config["input_fingerprints"] = input_fingerprints(inputs);
      write_text_file_atomically(p.run_dir / "config.json", config.dump(2) + "\n");
    } else {
      check_input_fingerprints(
          util::read_json_file_or_none(p.run_dir / "config.json", util::kConfigJsonLimits).value_or(json::object()),
          inputs, p.run_dir);
    }
    fs::create_directories(p.run_dir / "checkpoints");
    run_with_status(p.run_dir, [&] { train(events, cancel, started, device); });
  });
}

void LrecJob::train(jobs::JobEvents& events, const jobs::CancelToken& cancel,
                    std::chrono::steady_clock::time_point started, at::Device device) {
  const LrecSettings& p = params_;
  const model::LlamaConfig student_config = model::load_llama_config(p.student_dir);
  const model::LlamaConfig teacher_config = model::load_llama_config(p.teacher_dir);
  if (teacher_config.vocab_size != student_config.vocab_size || teacher_config.hidden_size != student_config.hidden_size) {
    throw InputError(p.teacher_dir.string(), "is not the model the student was quantized from (another vocabulary or width)",
                     "use the model that was quantized");
  }
  const bool hidden_target = p.loss.kind == CorrectionLoss::HiddenMseCe;
  const MemoryEstimate estimate = estimate_lrec_memory(p, device);
  result_.estimated_bytes = estimate.total();
  events.log({jobs::LogLevel::Info, "memory estimate for training on " + device.str() + ": " + estimate.describe()});

  const tokenizer::Tokenizer tokenizer = tokenizer::Tokenizer::load(p.student_dir, student_config);
  const auto [train_corpus, held_out_corpus] = split_corpus(data::load_text_corpus(p.calibration), p.held_out_fraction);
  const at::Tensor windows = data::calibration_windows(train_corpus, tokenizer, p.calibration_windows, p.seqlen, p.seed);
  const std::vector<int64_t> held_out_tokens =
      eval::perplexity_tokens(held_out_corpus, tokenizer, eval::PerplexityProtocol::Gptq);
  const int64_t eval_count = std::min<int64_t>(p.eval_windows, static_cast<int64_t>(held_out_tokens.size()) / p.seqlen);
  if (eval_count < 1) throw InputError(p.calibration.string(), "holds too little text to evaluate on", "use more text");
  const at::Tensor eval_ids = at::tensor(held_out_tokens, at::kLong).narrow(0, 0, eval_count * p.seqlen).view({eval_count, p.seqlen});

  // The teacher: either cached first (and gone before the student arrives) or kept for online targets. LREC
  // caches its top-k log-probs, RILQ its final hidden states.
  std::unique_ptr<model::LlamaModel> teacher;
  std::optional<TeacherCache> teacher_cache;
  std::optional<HiddenStateCache> hidden_cache;
  const int64_t cached_windows = windows.size(0) + eval_count;
  if (p.teacher_top_k > 0) {
    const fs::path cache_path = p.run_dir / (hidden_target ? "teacher_hidden.safetensors" : "teacher_cache.safetensors");
    if (!fs::exists(cache_path)) {
      const int64_t element_bytes = static_cast<int64_t>(at::elementSize(model::default_compute_dtype(teacher_config, device)));
      const int64_t bytes = hidden_target ? hidden_state_cache_bytes(cached_windows, p.seqlen, teacher_config.hidden_size, element_bytes)
                                          : teacher_cache_bytes(cached_windows, p.seqlen, p.teacher_top_k);
      events.log({jobs::LogLevel::Info,
                  "caching the teacher's " +
                      (hidden_target ? std::string("final hidden states") : "top-" + std::to_string(p.teacher_top_k) + " log-probs") +
                      " for " + std::to_string(cached_windows) + " windows: " + format_bytes(bytes) + " in " + cache_path.string()});
      auto caching_teacher = model::LlamaModel::load(p.teacher_dir, {device, std::nullopt});
      if (hidden_target) {
        write_hidden_state_cache(*caching_teacher, windows, eval_ids, cache_path, events, cancel);
      } else {
        write_teacher_cache(*caching_teacher, windows, eval_ids, p.teacher_top_k, cache_path, events, cancel);
      }
    }
    system::release_cached_vram();
    if (hidden_target) {
      hidden_cache = HiddenStateCache::open(cache_path, windows, eval_ids, teacher_config.hidden_size);
    } else {
      teacher_cache = TeacherCache::open(cache_path, windows, eval_ids, p.teacher_top_k);
    }
  } else {
    teacher = model::LlamaModel::load(p.teacher_dir, {device, std::nullopt});
  }
  const int device_index = std::max<int>(0, device.index());
  if (device.is_cuda()) system::reset_peak_vram(device_index);
  auto student = model::LlamaModel::load(p.student_dir, {device, std::nullopt});
  if (!student->quantization()) {
    events.log({jobs::LogLevel::Warning, p.student_dir.string() + " is not quantized; correcting it anyway"});
  }
  student->set_gradient_checkpointing(p.gradient_checkpointing);
  // Distillation targets of rows of the calibration (or held-out) windows.
  auto loss_for = [&](const at::Tensor& ids, const std::vector<int64_t>& rows, bool held_out) {
    if (hidden_target) {
      const at::Tensor hidden = student->final_hidden_state(ids);
      at::Tensor target;
      if (hidden_cache) {
        target = held_out ? hidden_cache->eval_rows(rows) : hidden_cache->train_rows(rows);
      } else {
        c10::NoGradGuard no_grad;
        target = teacher->final_hidden_state(ids);
      }
      return hidden_state_loss(hidden, target, student->logits(hidden), ids, p.loss);
    }
    const at::Tensor student_logits = student->forward(ids);
    if (teacher_cache) {
      return distillation_loss(student_logits, held_out ? teacher_cache->eval_rows(rows) : teacher_cache->train_rows(rows),
                               ids, p.loss);
    }
    at::Tensor teacher_logits;
    {
      c10::NoGradGuard no_grad;
      teacher_logits = teacher->forward(ids);
    }
    return distillation_loss(student_logits, teacher_logits, ids, p.loss);
  };

  lora::AdapterConfig adapter_config{p.lora, p.target_modules, p.student_dir.string()};
  std::vector<lora::AdapterLayer> adapter = lora::attach_new_adapter(*student, adapter_config, true, p.seed);

  TrainerSettings settings = trainer_settings(p, p.schedule, p.accumulation, device);
  settings.early_stop_metric = metrics::kValTotal;  // the training loss, on the held-out windows
  Trainer trainer(settings, adapter, adapter_config);
  const TrainerResult trained = trainer.run(
      events, cancel, windows.size(0),
      [&](const std::vector<int64_t>& rows) {
        const at::Tensor ids = windows.index_select(0, at::tensor(rows, at::kLong));
        const DistillationLoss loss = loss_for(ids, rows, false);
        const NamedValue distance = hidden_target ? NamedValue{metrics::kTrainMse, loss.mse.item<double>()}
                                                  : NamedValue{metrics::kTrainKl, loss.kl.item<double>()};
        return MicroBatchLoss{loss.total, {distance, {metrics::kTrainCe, loss.ce.item<double>()}}, ids.numel()};
      },
      [&]() {
        double distance = 0, ce = 0, total = 0;
        for (int64_t i = 0; i < eval_count; ++i) {
          const DistillationLoss loss = loss_for(eval_ids.narrow(0, i, 1), {i}, true);
          distance += (hidden_target ? loss.mse : loss.kl).item<double>();
          ce += loss.ce.item<double>();
          total += loss.total.item<double>();
        }
        const auto count = static_cast<double>(eval_count);
        distance /= count;
        ce /= count;
        total /= count;
        result_.final_val_ppl = std::exp(ce);
        return std::vector<NamedValue>{{hidden_target ? metrics::kValMse : metrics::kValKl, distance},
                                       {metrics::kValCe, ce},
                                       {metrics::kValPpl, std::exp(ce)},
                                       {metrics::kValTotal, total}};
      });
  result_.steps_done = trained.steps_done;
  result_.best_step = trained.best_step;
  result_.adapter_dir = trained.adapter_dir;
  result_.peak_vram_bytes = device.is_cuda() ? system::peak_vram_bytes(device_index) : 0;
  result_.peak_ram_bytes = system::peak_ram_bytes();
  result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace lowbit::train
