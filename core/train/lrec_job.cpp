#include "core/train/lrec_job.h"

#include <c10/core/GradMode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "core/data/calibration.h"
#include "core/data/text_corpus.h"
#include "core/eval/perplexity.h"
#include "core/jobs/eta.h"
#include "core/lora/peft_adapter.h"
#include "core/model/llama_model.h"
#include "core/model/safetensors.h"
#include "core/system/memory_usage.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/teacher_cache.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

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

std::string checkpoint_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%06lld", static_cast<long long>(step));
  return name;
}

int64_t latest_checkpoint_step(const fs::path& run_dir) {
  int64_t latest = -1;
  if (!fs::exists(run_dir / "checkpoints")) return latest;
  for (const auto& entry : fs::directory_iterator(run_dir / "checkpoints")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) == 0 && name.find('.') == std::string::npos &&
        fs::exists(entry.path() / "trainer_state.json")) {
      latest = std::max<int64_t>(latest, std::stoll(name.substr(5)));
    }
  }
  return latest;
}

// Keeps the metrics a resumed run has already produced up to `step`, so the file reads as one run.
void truncate_metrics(const fs::path& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const json record = json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.value("step", int64_t{0}) <= step) kept += line + "\n";
  }
  in.close();
  write_text_file_atomically(path, kept);
}

void set_training(const std::vector<lora::AdapterLayer>& adapter, bool training) {
  for (const auto& entry : adapter) entry.layer->set_training(training);
}

}  // namespace

void apply_preset(LrecParams& params, const std::string& preset) {
  params.lora = {32, 128.0, 0.05};
  params.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  params.weight_decay = 1e-5;
  params.loss.kl = 1.0;
  if (preset == "int4") {
    params.loss.ce = 10.0;
    params.schedule.base_lr = 1e-5;
  } else if (preset == "int3") {
    params.loss.ce = 40.0;
    params.schedule.base_lr = 2e-5;
  } else if (preset == "int2") {
    params.loss.ce = 120.0;
    params.schedule.base_lr = 3e-5;
  } else {
    throw InputError("", "unknown preset '" + preset + "'", "use int4, int3 or int2 (the paper's Table 4)");
  }
}

MemoryEstimate estimate_lrec_memory(const LrecParams& p) {
  const model::LlamaConfig config = model::load_llama_config(p.student_dir);
  TrainingShape shape;
  shape.lora_rank = p.lora.rank;
  shape.lora_dropout = p.lora.dropout;
  shape.target_modules = p.target_modules;
  shape.micro_batch = p.micro_batch;
  shape.seqlen = p.seqlen;
  shape.gradient_checkpointing = p.gradient_checkpointing;
  shape.teacher_top_k = p.teacher_top_k;
  shape.compute_bytes = at::elementSize(model::default_compute_dtype(config, p.device));
  return estimate_training_memory(config, quant::read_quant_config(p.student_dir.string()), shape);
}

void LrecJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const auto started = std::chrono::steady_clock::now();
  const LrecParams& p = params_;
  if (p.micro_batch < 1 || p.accumulation < 1 || p.schedule.total_steps < 1 || p.seqlen < 2) {
    throw InputError("", "micro-batch, accumulation, steps and seqlen must be positive", "");
  }
  int64_t start_step = 0;
  fs::path resume_from;
  if (p.resume) {
    const int64_t latest = latest_checkpoint_step(p.run_dir);
    if (latest < 0) throw InputError(p.run_dir.string(), "has no checkpoint to resume from", "start a new run");
    start_step = latest;
    resume_from = p.run_dir / "checkpoints" / checkpoint_name(latest);
    events.log({jobs::LogLevel::Info, "resuming from " + resume_from.string()});
  } else if (fs::exists(p.run_dir) && !fs::is_empty(p.run_dir)) {
    throw InputError(p.run_dir.string(), "already holds a run", "choose another --out, or add --resume to continue it");
  }
  fs::create_directories(p.run_dir / "checkpoints");

  const model::LlamaConfig student_config = model::load_llama_config(p.student_dir);
  if (model::load_llama_config(p.teacher_dir).vocab_size != student_config.vocab_size) {
    throw InputError(p.teacher_dir.string(), "has another vocabulary than the student", "use the model that was quantized");
  }
  const MemoryEstimate estimate = estimate_lrec_memory(p);
  result_.estimated_bytes = estimate.total();
  events.log({jobs::LogLevel::Info, "memory estimate for training on " + p.device.str() + ": " + estimate.describe()});

  const tokenizer::Tokenizer tokenizer = tokenizer::Tokenizer::load(p.student_dir, student_config);
  const auto [train_corpus, held_out_corpus] = split_corpus(data::load_text_corpus(p.calibration), p.held_out_fraction);
  const at::Tensor windows = data::calibration_windows(train_corpus, tokenizer, p.calibration_windows, p.seqlen, p.seed);
  const std::vector<int64_t> held_out_tokens =
      eval::perplexity_tokens(held_out_corpus, tokenizer, eval::PerplexityProtocol::Gptq);
  const int64_t eval_count = std::min<int64_t>(p.eval_windows, static_cast<int64_t>(held_out_tokens.size()) / p.seqlen);
  if (eval_count < 1) throw InputError(p.calibration.string(), "holds too little text to evaluate on", "use more text");
  const at::Tensor eval_ids = at::tensor(held_out_tokens, at::kLong).narrow(0, 0, eval_count * p.seqlen).view({eval_count, p.seqlen});

  // The teacher: either cached first (and gone before the student arrives) or kept for online targets.
  std::unique_ptr<model::LlamaModel> teacher;
  std::optional<TeacherCache> teacher_cache;
  const fs::path cache_path = p.run_dir / "teacher_cache.safetensors";
  if (p.teacher_top_k > 0) {
    if (!fs::exists(cache_path)) {
      events.log({jobs::LogLevel::Info, "caching the teacher's top-" + std::to_string(p.teacher_top_k) +
                                            " log-probs for " + std::to_string(windows.size(0) + eval_count) + " windows"});
      auto caching_teacher = model::LlamaModel::load(p.teacher_dir, {p.device, std::nullopt});
      write_teacher_cache(*caching_teacher, windows, eval_ids, p.teacher_top_k, cache_path, events, cancel);
    }
    system::release_cached_vram();
    teacher_cache = TeacherCache::open(cache_path, windows, eval_ids, p.teacher_top_k);
  } else {
    teacher = model::LlamaModel::load(p.teacher_dir, {p.device, std::nullopt});
  }
  const int device_index = std::max<int>(0, p.device.index());
  if (p.device.is_cuda()) system::reset_peak_vram(device_index);
  auto student = model::LlamaModel::load(p.student_dir, {p.device, std::nullopt});
  if (!student->quantization()) {
    events.log({jobs::LogLevel::Warning, p.student_dir.string() + " is not quantized; correcting it anyway"});
  }
  student->set_gradient_checkpointing(p.gradient_checkpointing);
  // Distillation targets of rows of the calibration (or held-out) windows.
  auto loss_for = [&](const at::Tensor& ids, const std::vector<int64_t>& rows, bool held_out) {
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
  const std::vector<lora::AdapterLayer> adapter = lora::attach_new_adapter(*student, adapter_config, true, p.seed);
  std::vector<at::Tensor> parameters;
  for (const auto& entry : adapter) {
    parameters.push_back(entry.layer->lora_a());
    parameters.push_back(entry.layer->lora_b());
  }
  torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(p.schedule.base_lr).weight_decay(p.weight_decay));
  if (p.resume) {
    lora::restore_adapter_weights(adapter, resume_from / "adapter");
    torch::load(optimizer, (resume_from / "optimizer.pt").string());
    truncate_metrics(p.run_dir / "metrics.jsonl", start_step);
  } else {
    const json config = {{"kind", "lrec"}, {"student", p.student_dir.string()}, {"teacher", p.teacher_dir.string()},
                         {"calibration", p.calibration.string()}, {"lora_rank", p.lora.rank},
                         {"lora_alpha", p.lora.alpha}, {"lora_dropout", p.lora.dropout},
                         {"target_modules", p.target_modules}, {"kl_weight", p.loss.kl}, {"ce_weight", p.loss.ce},
                         {"lr", p.schedule.base_lr}, {"warmup_steps", p.schedule.warmup_steps},
                         {"steps", p.schedule.total_steps}, {"weight_decay", p.weight_decay},
                         {"max_grad_norm", p.max_grad_norm}, {"micro_batch", p.micro_batch},
                         {"accumulation", p.accumulation}, {"seqlen", p.seqlen},
                         {"calibration_windows", p.calibration_windows}, {"held_out_fraction", p.held_out_fraction},
                         {"eval_windows", eval_count}, {"teacher_top_k", p.teacher_top_k},
                         {"gradient_checkpointing", p.gradient_checkpointing}, {"seed", p.seed}, {"device", p.device.str()}};
    write_text_file_atomically(p.run_dir / "config.json", config.dump(2) + "\n");
  }
  std::ofstream metrics(p.run_dir / "metrics.jsonl", std::ios::app);
  auto write_metrics = [&](const json& record) {
    metrics << record.dump() << "\n";
    metrics.flush();
  };

  auto evaluate = [&](int64_t step) {
    c10::NoGradGuard no_grad;
    set_training(adapter, false);
    double kl = 0, ce = 0;
    for (int64_t i = 0; i < eval_count; ++i) {
      const DistillationLoss loss = loss_for(eval_ids.narrow(0, i, 1), {i}, true);
      kl += loss.kl.item<double>();
      ce += loss.ce.item<double>();
    }
    set_training(adapter, true);
    kl /= static_cast<double>(eval_count);
    ce /= static_cast<double>(eval_count);
    write_metrics({{"step", step}, {"val_kl", kl}, {"val_ce", ce}, {"val_ppl", std::exp(ce)}});
    events.metric({"val/kl", step, kl});
    events.metric({"val/ce", step, ce});
    events.metric({"val/ppl", step, std::exp(ce)});
    result_.final_val_ppl = std::exp(ce);
  };
  auto save_checkpoint = [&](int64_t step) {
    write_directory_atomically(p.run_dir / "checkpoints" / checkpoint_name(step), [&](const fs::path& dir) {
      lora::save_adapter(adapter, adapter_config, dir / "adapter");
      torch::save(optimizer, (dir / "optimizer.pt").string());
      write_text_file_atomically(dir / "trainer_state.json", json{{"step", step}}.dump() + "\n");
    });
  };

  if (start_step == 0) evaluate(0);
  set_training(adapter, true);
  const int64_t windows_count = windows.size(0);
  std::map<int64_t, std::vector<int64_t>> orders;  // epoch → sample order, seeded by (seed, epoch)
  auto sample_index = [&](int64_t global) {
    const int64_t epoch = global / windows_count;
    auto& order = orders[epoch];
    if (order.empty()) {
      order.resize(static_cast<size_t>(windows_count));
      std::iota(order.begin(), order.end(), 0);
      std::mt19937_64 generator(p.seed * 1000003 + static_cast<uint64_t>(epoch));
      std::shuffle(order.begin(), order.end(), generator);
    }
    return order[static_cast<size_t>(global % windows_count)];
  };
  const int64_t tokens_per_step = p.micro_batch * p.accumulation * p.seqlen;
  jobs::EtaClock clock;
  std::string last_checkpoint = p.resume ? resume_from.string() : "none";
  for (int64_t step = start_step; step < p.schedule.total_steps; ++step) {
    cancel.throw_if_cancelled();
    const auto step_started = std::chrono::steady_clock::now();
    at::manual_seed(p.seed * 7919 + static_cast<uint64_t>(step));  // dropout masks depend on the step alone
    optimizer.zero_grad();
    double kl = 0, ce = 0, total = 0;
    for (int64_t micro = 0; micro < p.accumulation; ++micro) {
      std::vector<int64_t> rows;
      for (int64_t b = 0; b < p.micro_batch; ++b) {
        rows.push_back(sample_index((step * p.accumulation + micro) * p.micro_batch + b));
      }
      const at::Tensor ids = windows.index_select(0, at::tensor(rows, at::kLong));
      const DistillationLoss loss = loss_for(ids, rows, false);
      (loss.total / static_cast<double>(p.accumulation)).backward();
      kl += loss.kl.item<double>() / p.accumulation;
      ce += loss.ce.item<double>() / p.accumulation;
      total += loss.total.item<double>() / p.accumulation;
    }
    if (!std::isfinite(total)) {
      throw InputError(p.run_dir.string(),
                       "training diverged at step " + std::to_string(step + 1) + ": the loss is " +
                           (std::isnan(total) ? std::string("NaN") : std::string("infinite")) + " at learning rate " + std::to_string(learning_rate(p.schedule, step)),
                       "the last good checkpoint is " + last_checkpoint + "; resume it with a lower --lr");
    }
    const double grad_norm = torch::nn::utils::clip_grad_norm_(parameters, p.max_grad_norm);
    const double lr = learning_rate(p.schedule, step);
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
    optimizer.step();
    const double step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_started).count();
    const int64_t done = step + 1;
    const double epoch = static_cast<double>(done * p.accumulation * p.micro_batch) / static_cast<double>(windows_count);
    write_metrics({{"step", done}, {"epoch", epoch}, {"kl", kl}, {"ce", ce}, {"total", total}, {"lr", lr},
                   {"grad_norm", grad_norm}, {"tokens_per_s", tokens_per_step / step_seconds},
                   {"vram_peak", p.device.is_cuda() ? system::peak_vram_bytes(device_index) : 0}});
    events.metric({"train/kl", done, kl});
    events.metric({"train/ce", done, ce});
    events.metric({"train/total", done, total});
    events.progress({"steps", done, p.schedule.total_steps, clock.seconds_left(done - start_step, p.schedule.total_steps - start_step)});
    if (done % p.eval_every == 0 || done == p.schedule.total_steps) evaluate(done);
    if (done % p.checkpoint_every == 0 || done == p.schedule.total_steps) {
      save_checkpoint(done);
      last_checkpoint = (p.run_dir / "checkpoints" / checkpoint_name(done)).string();
    }
  }
  write_directory_atomically(p.run_dir / "adapter", [&](const fs::path& dir) { lora::save_adapter(adapter, adapter_config, dir); });
  result_.steps_done = p.schedule.total_steps;
  result_.adapter_dir = p.run_dir / "adapter";
  result_.peak_vram_bytes = p.device.is_cuda() ? system::peak_vram_bytes(device_index) : 0;
  result_.peak_ram_bytes = system::peak_ram_bytes();
  result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  events.artifact({"adapter", result_.adapter_dir.string()});
}

}  // namespace lowbit::train
