#include "core/train/emef_job.h"
#include "core/train/run_inputs.h"
#include "core/util/json_limits.h"

#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/lora/peft_adapter.h"
#include "core/model/llama_model.h"
#include "core/system/device.h"
#include "core/system/memory_usage.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/run_status.h"
#include "core/train/metric_names.h"
#include "core/train/trainer.h"
#include "core/train/training_settings.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kIgnored = -100;

struct Batch {
  at::Tensor input_ids, labels;  // [B, T_max], right-padded: causal attention never looks at the padding
  int64_t tokens = 0;
};

Batch make_batch(const std::vector<data::TokenizedExample>& examples, const std::vector<int64_t>& rows) {
  size_t longest = 0;
  for (const int64_t row : rows) longest = std::max(longest, examples[static_cast<size_t>(row)].input_ids.size());
  const auto count = static_cast<int64_t>(rows.size());
  Batch batch;
  batch.input_ids = at::zeros({count, static_cast<int64_t>(longest)}, at::kLong);
  batch.labels = at::full({count, static_cast<int64_t>(longest)}, kIgnored, at::kLong);
  for (int64_t b = 0; b < count; ++b) {
    const data::TokenizedExample& e = examples[static_cast<size_t>(rows[static_cast<size_t>(b)])];
    const auto length = static_cast<int64_t>(e.input_ids.size());
    batch.input_ids[b].narrow(0, 0, length).copy_(at::tensor(e.input_ids, at::kLong));
    batch.labels[b].narrow(0, 0, length).copy_(at::tensor(e.labels, at::kLong));
    batch.tokens += length;
  }
  return batch;
}

// Sum of next-token cross-entropy over the labelled positions, and how many there are.
std::pair<at::Tensor, int64_t> summed_cross_entropy(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t steps = logits.size(1);
  const at::Tensor predictions = logits.narrow(1, 0, steps - 1).to(at::kFloat).reshape({-1, logits.size(-1)});
  const at::Tensor targets = labels.narrow(1, 1, steps - 1).to(logits.device()).reshape({-1});
  const at::Tensor summed = at::cross_entropy_loss(predictions, targets, {}, at::Reduction::Sum, kIgnored);
  return {summed, (targets != kIgnored).sum().item<int64_t>()};
}

int64_t frozen_adapter_bytes(const std::vector<fs::path>& adapters) {
  int64_t bytes = 0;
  for (const fs::path& dir : adapters) {
    if (fs::exists(dir / "adapter_model.safetensors")) bytes += static_cast<int64_t>(fs::file_size(dir / "adapter_model.safetensors"));
  }
  return bytes;
}

}  // namespace

TrainingShape emef_training_shape(const EmefSettings& p, int64_t compute_bytes) {
  return adapter_training_shape(p, p.examples.cutoff, /*teacher_top_k=*/-1, compute_bytes);
}

MemoryEstimate estimate_emef_memory(const EmefSettings& p, at::Device device) {
  const model::LlamaConfig config = model::load_llama_config(p.model_dir);
  TrainingShape shape = emef_training_shape(p, static_cast<int64_t>(at::elementSize(model::default_compute_dtype(config, device))));
  shape.frozen_adapter_bytes = frozen_adapter_bytes(p.base_adapters);
  return estimate_training_memory(config, quant::read_quant_config(p.model_dir.string()), shape);
}

void EmefJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const auto started = std::chrono::steady_clock::now();
  // Absolute, so that config.json names the same files whatever directory a resume is started from.
  for (fs::path* path : {&params_.model_dir, &params_.data}) {
    if (!path->empty()) *path = fs::absolute(*path).lexically_normal();
  }
  for (fs::path& adapter : params_.base_adapters) adapter = fs::absolute(adapter).lexically_normal();
  const EmefSettings& p = params_;
  std::vector<NamedInput> inputs = {{"model_dir", p.model_dir}};
  for (size_t i = 0; i < p.base_adapters.size(); ++i) inputs.push_back({"base_adapter_" + std::to_string(i), p.base_adapters[i]});
  if (p.micro_batch < 1 || p.batch < p.micro_batch || p.batch % p.micro_batch != 0) {
    throw InputError("", "the batch (" + std::to_string(p.batch) + ") must be a multiple of the micro-batch (" +
                             std::to_string(p.micro_batch) + ")",
                     "e.g. --batch 128 --micro-batch 4");
  }
  if (p.examples.cutoff < 8) throw InputError("", "the cutoff length must be at least 8 tokens", "the paper uses 512");
  const at::Device device = system::resolve_device(p.device);
  result_.device = device.str();
  // The folder is claimed (locked, then checked) before the data is read, so that two runs started together
  // cannot both find it empty.
  Trainer::run_in_claimed_directory(p.run_dir, p.resume, [&] {
    if (p.resume) {
      check_input_fingerprints(
          util::read_json_file_or_none(p.run_dir / "config.json", util::kConfigJsonLimits).value_or(json::object()),
          inputs, p.run_dir);
    }

    // Data first: a bad file should fail in a second, not after the model has loaded.
    const model::LlamaConfig config = model::load_llama_config(p.model_dir);
    const tokenizer::Tokenizer tokenizer = tokenizer::Tokenizer::load(p.model_dir, config);
    const data::InstructionDataset dataset = data::load_instruction_data(p.data, p.columns);
    const data::PromptFormat format = data::PromptFormat::for_model(p.model_dir, p.prompt_template, nullptr);
    events.log({jobs::LogLevel::Info, "prompt template: " + format.describe()});
    data::PreparedExamples prepared = data::prepare_examples(dataset, tokenizer, p.examples, format);
    const std::vector<data::DataProblem>& problems = prepared.problems;
    std::vector<data::TokenizedExample>& usable = prepared.usable;
    if (usable.size() < 2) {
      throw InputError(p.data.string(), "has fewer than two usable records", "see the problems listed above");
    }
    const data::Split split = data::split_records(static_cast<int64_t>(usable.size()), p.validation, p.seed);
    std::vector<data::TokenizedExample> train_examples, validation_examples;
    for (const int64_t i : split.train) train_examples.push_back(usable[static_cast<size_t>(i)]);
    for (const int64_t i : split.validation) validation_examples.push_back(usable[static_cast<size_t>(i)]);
    if (validation_examples.size() > static_cast<size_t>(p.eval_examples)) validation_examples.resize(static_cast<size_t>(p.eval_examples));
    if (validation_examples.empty()) throw InputError(p.data.string(), "leaves no record for validation", "use more data or --val");

    const data::LengthStatistics stats = data::length_statistics(usable);
    std::string report = "data: " + p.data.string() + "\n" + std::to_string(prepared.records_in_file()) + " records read, " +
                         std::to_string(problems.size()) + " left out\n" + stats.describe(p.examples.cutoff) + "\n" +
                         std::to_string(train_examples.size()) + " for training, " +
                         std::to_string(split.validation.size()) + " held out for validation (" +
                         std::to_string(validation_examples.size()) + " evaluated)\n";
    for (const data::DataProblem& problem : problems) report += "left out: " + problem.describe(dataset.json_lines) + "\n";
    events.log({jobs::LogLevel::Info, stats.describe(p.examples.cutoff)});
    for (size_t i = 0; i < std::min<size_t>(problems.size(), 10); ++i) {
      events.log({jobs::LogLevel::Warning, p.data.string() + ": " + problems[i].describe(dataset.json_lines) + "; left out"});
    }
    if (problems.size() > 10) {
      events.log({jobs::LogLevel::Warning, std::to_string(problems.size() - 10) + " more records left out (all in data_report.txt)"});
    }

    const int64_t accumulation = p.batch / p.micro_batch;
    result_.train_examples = static_cast<int64_t>(train_examples.size());
    result_.validation_examples = static_cast<int64_t>(split.validation.size());
    result_.skipped_records = static_cast<int64_t>(problems.size());
    result_.steps_per_epoch = (result_.train_examples + p.batch - 1) / p.batch;
    const int64_t total_steps = p.steps.value_or(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p.epochs * static_cast<double>(result_.train_examples) / static_cast<double>(p.batch)))));
    const MemoryEstimate estimate = estimate_emef_memory(p, device);
    result_.estimated_bytes = estimate.total();
    events.log({jobs::LogLevel::Info, "memory estimate for training on " + device.str() + ": " + estimate.describe()});

    // The settings first: a run killed at any later moment can be resumed (from step 0 before its first
    // checkpoint). total_steps: what the settings came to on this data (the dashboard's progress bar).
    if (!p.resume) {
      json run_config = {{"kind", "emef"}, {"total_steps", total_steps}};
      run_config.update(emef_settings_schema().to_json(p));
      run_config["input_fingerprints"] = input_fingerprints(inputs);
      write_text_file_atomically(p.run_dir / "config.json", run_config.dump(2) + "\n");
    }
    fs::create_directories(p.run_dir);
    // From here on the folder is the run's: its run_state.json says whether it is going, stopped, done or failed.
    run_with_status(p.run_dir, [&] {
      write_text_file_atomically(p.run_dir / "data_report.txt", report);
      const int device_index = std::max<int>(0, device.index());
      if (device.is_cuda()) system::reset_peak_vram(device_index);
      auto model = model::LlamaModel::load(p.model_dir, {device, std::nullopt});
      for (const fs::path& adapter_dir : p.base_adapters) lora::load_adapter(*model, adapter_dir, /*trainable=*/false);
      model->set_gradient_checkpointing(p.gradient_checkpointing);
      lora::AdapterConfig adapter_config{p.lora, p.target_modules, p.model_dir.string()};
      const std::vector<lora::AdapterLayer> adapter = lora::attach_new_adapter(*model, adapter_config, true, p.seed);

      Schedule schedule{p.lr, std::min(p.warmup_steps, total_steps / 10), total_steps, p.schedule, 0.0};

      TrainerSettings settings = trainer_settings(p, schedule, accumulation, device);
      settings.early_stop_metric = metrics::kValCe;
      bool first_evaluation = true;
      Trainer trainer(settings, adapter, adapter_config);
      const TrainerResult trained = trainer.run(
          events, cancel, result_.train_examples,
          [&](const std::vector<int64_t>& rows) {
            const Batch batch = make_batch(train_examples, rows);
            const auto [summed, labelled] = summed_cross_entropy(model->forward(batch.input_ids), batch.labels);
            const at::Tensor mean = summed / static_cast<double>(std::max<int64_t>(labelled, 1));
            return MicroBatchLoss{mean, {{metrics::kTrainCe, mean.item<double>()}}, batch.tokens};
          },
          [&]() {
            double summed = 0;
            int64_t labelled = 0;
            for (size_t begin = 0; begin < validation_examples.size(); begin += static_cast<size_t>(p.micro_batch)) {
              std::vector<int64_t> rows;
              for (size_t i = begin; i < std::min(validation_examples.size(), begin + static_cast<size_t>(p.micro_batch)); ++i) {
                rows.push_back(static_cast<int64_t>(i));
              }
              const Batch batch = make_batch(validation_examples, rows);
              const auto [sum, count] = summed_cross_entropy(model->forward(batch.input_ids), batch.labels);
              summed += sum.item<double>();
              labelled += count;
            }
            const double loss = summed / static_cast<double>(std::max<int64_t>(labelled, 1));
            if (first_evaluation) result_.first_val_loss = loss;
            first_evaluation = false;
            result_.final_val_loss = loss;
            result_.final_val_ppl = std::exp(loss);
            return std::vector<NamedValue>{{metrics::kValCe, loss}, {metrics::kValPpl, std::exp(loss)}};
          });

      result_.seconds_per_step = trained.seconds_per_step;
      result_.steps_done = trained.steps_done;
      result_.best_step = trained.best_step;
      result_.adapter_dir = trained.adapter_dir;
      result_.peak_vram_bytes = device.is_cuda() ? system::peak_vram_bytes(device_index) : 0;
      result_.peak_ram_bytes = system::peak_ram_bytes();
      result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    });
  });
}

}  // namespace lowbit::train
