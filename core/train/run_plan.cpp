#include "core/train/run_plan.h"
#include "core/util/json_limits.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/jobs/pipeline_job.h"
#include "core/quant/quantize_job.h"
#include "core/system/device.h"
#include "core/train/device_speed.h"
#include "core/train/emef_job.h"
#include "core/train/lrec_job.h"
#include "core/train/run_status.h"
#include "core/train/trainer.h"
#include "core/model/llama_config.h"
#include "core/quant/quant_config.h"
#include "core/model/llama_model.h"
#include "core/model/model_summary.h"
#include "core/system/memory_usage.h"
#include "core/system/nvidia_driver.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"
#include "core/util/format.h"

namespace lowbit::train {
namespace {

// Elementwise operations per decoder layer and forward pass outside the projections' matmuls: norms, rotary,
// attention softmax and products, activation, residuals (about what LlamaModel::forward dispatches).
constexpr double kOpsPerLayerForward = 30;
constexpr double kOpsPerQuantizedProjection = 3;  // unpack, scale, matmul of the dequantized weight
constexpr double kOpsPerAdapter = 5;              // dropout, A, B, scale, add
constexpr double kOpsPerGptqColumnBlock = 12;     // one block of 128 columns of the GPTQ update loop
constexpr int64_t kGptqBlock = 128;
constexpr double kElementsPerDequantizedWeight = 4;  // read packed, shift and mask, subtract the zero, scale
// Training costs about three times its counted work: autograd's bookkeeping and allocations, the optimizer and
// gradient clipping are not counted above. Fitted on LREC (200 steps) and EMEF (3 epochs of 1k Alpaca records)
// runs of stories260K on a 2-core CPU, where the counted work alone came to about 1/4 and 1/2.7 of the measured
// times; not yet compared on a GPU.
constexpr double kTrainingOverhead = 3.0;

double elapsed_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct ModelWork {
  double weights = 0;              // N: the decoder's projections and lm_head
  double forward_ops = 0;          // operations of one forward pass
  double dequantized = 0;          // weight elements unpacked per forward pass (0 for a dense model)
  double hidden = 0, intermediate = 0, heads = 0, head_dim = 0, layers = 0, vocabulary = 0;
  // Activation elements a forward pass touches per token outside the matmuls: norms, rotary, residuals and the
  // MLP's activation (~20 H + 4 I per layer), the fused attention's softmax over `length` positions (~2 per head
  // and position), and the logits' log-softmax and loss (~6 V).
  double elements_per_token(double length) const {
    return layers * (20 * hidden + 4 * intermediate + 2 * heads * length) + 6 * vocabulary;
  }
  // Attention's own products (Q·Kᵀ and the weighted sum of V) per token: 2 · 2 · heads · head_dim · length per layer.
  double attention_flops_per_token(double length) const { return layers * 4 * heads * head_dim * length; }
};

ModelWork model_work(const model::LlamaConfig& c, bool quantized, const std::vector<std::string>& adapter_targets,
                     int adapter_stacks) {
  ModelWork work;
  for (const auto& [name, shape] : projection_shapes(c, quantized)) {
    work.weights += static_cast<double>(shape.in * shape.out) * static_cast<double>(c.n_layer);
  }
  if (quantized) work.dequantized = kElementsPerDequantizedWeight * work.weights;
  work.weights += static_cast<double>(c.vocab_size * c.hidden_size);
  const double per_layer = kOpsPerLayerForward + (quantized ? 7 * kOpsPerQuantizedProjection : 7) +
                           kOpsPerAdapter * static_cast<double>(adapter_targets.size() * static_cast<size_t>(adapter_stacks));
  work.forward_ops = per_layer * static_cast<double>(c.n_layer) + 5;
  work.hidden = static_cast<double>(c.hidden_size);
  work.intermediate = static_cast<double>(c.intermediate_size);
  work.heads = static_cast<double>(c.n_head);
  work.head_dim = static_cast<double>(c.head_dim);
  work.layers = static_cast<double>(c.n_layer);
  work.vocabulary = static_cast<double>(c.vocab_size);
  return work;
}

// Adds the work of `passes` passes (forward = 1, backward = 2, recompute = 1) over `calls` batches of `batch`
// sequences of `length` tokens: the packed weights are unpacked once per pass and call.
void add_passes(StepEstimate& step, const ModelWork& m, double calls, double batch, double length, double passes) {
  const double tokens = calls * batch * length;
  step.flops += (2.0 * m.weights + m.attention_flops_per_token(length)) * tokens * passes;
  step.elements += passes * (tokens * m.elements_per_token(length) + calls * m.dequantized);
  step.operations += passes * calls * m.forward_ops;
}

StepEstimate finish(StepEstimate step, const DeviceSpeed& speed, double overhead = 1.0) {
  step.seconds = overhead * ((speed.flops_per_s > 0 ? step.flops / speed.flops_per_s : 0) +
                             (speed.elements_per_s > 0 ? step.elements / speed.elements_per_s : 0) +
                             step.operations * speed.seconds_per_op);
  return step;
}

// Bytes of a LoRA adapter of `rank` on `targets` in fp32 (for adapters a pipeline has not made yet).
int64_t planned_adapter_bytes(const model::LlamaConfig& c, bool quantized, const std::vector<std::string>& targets,
                              int64_t rank) {
  const auto shapes = projection_shapes(c, quantized);
  int64_t bytes = 0;
  for (const std::string& target : targets) {
    const auto found = shapes.find(target);
    if (found != shapes.end()) bytes += rank * (found->second.in + found->second.out) * 4;
  }
  return bytes * c.n_layer;
}

}  // namespace

DeviceSpeed measure_device_speed(at::Device device, at::ScalarType dtype, int64_t hidden_size) {
  const int64_t h = std::clamp<int64_t>(hidden_size, 256, 4096);
  const auto options = at::TensorOptions().device(device).dtype(dtype);
  const at::Tensor a = at::randn({512, h}, options), b = at::randn({h, h}, options);
  auto sync = [&](const at::Tensor& t) { (void)t.sum().item<double>(); };
  sync(at::matmul(a, b));  // warm-up: kernels chosen, caches filled
  DeviceSpeed speed;
  int64_t repeats = 0;
  auto start = std::chrono::steady_clock::now();
  at::Tensor c;
  do {
    c = at::matmul(a, b);
    ++repeats;
    if (repeats % 4 == 0) sync(c);
  } while (elapsed_since(start) < 0.15 && repeats < 4096);
  sync(c);
  speed.flops_per_s = 2.0 * 512.0 * static_cast<double>(h * h) * static_cast<double>(repeats) / elapsed_since(start);
  // Elementwise throughput on tensors far larger than the caches (memory-bound, as activations and unpacking are),
  // in place: on virtual machines fresh 16 MB results measure page faults that swing threefold between runs.
  at::Tensor big = at::randn({1 << 22}, options);
  const at::Tensor other = at::randn({1 << 22}, options);
  big.add_(other, 1e-6);
  sync(big);
  repeats = 0;
  start = std::chrono::steady_clock::now();
  do {
    big.add_(other, 1e-6);
    ++repeats;
    if (repeats % 8 == 0) sync(big);
  } while (elapsed_since(start) < 0.1 && repeats < 4096);
  sync(big);
  speed.elements_per_s = static_cast<double>(big.numel()) * static_cast<double>(repeats) / elapsed_since(start);
  at::Tensor x = at::randn({64}, options);
  const at::Tensor one = at::ones({64}, options);
  start = std::chrono::steady_clock::now();
  constexpr int kOps = 400;
  for (int i = 0; i < kOps; ++i) x = at::add(x, one, 1e-6);
  sync(x);
  speed.seconds_per_op = elapsed_since(start) / kOps;
  speed.compute_bytes = static_cast<int64_t>(at::elementSize(dtype));
  return speed;
}

StepEstimate estimate_quantize_step(const model::LlamaConfig& c, const quant::QuantizeSettings& p, const DeviceSpeed& speed) {
  StepEstimate step;
  const bool rtn = p.config.method == quant::QuantMethod::Rtn;
  step.step = std::string("quantize (") + (rtn ? "RTN " : "GPTQ ") + std::to_string(p.config.bits) + "-bit)";
  const auto shapes = projection_shapes(c, false);
  const double tokens = static_cast<double>(p.nsamples * p.seqlen);
  double layer_weights = 0, hessians = 0, updates = 0, blocks = 0;
  int64_t largest_in = 0;
  for (const auto& [name, shape] : shapes) {
    layer_weights += static_cast<double>(shape.in * shape.out);
    updates += static_cast<double>(shape.in) * static_cast<double>(shape.in) * static_cast<double>(shape.out);
    blocks += static_cast<double>((shape.in + kGptqBlock - 1) / kGptqBlock);
    largest_in = std::max(largest_in, shape.in);
  }
  // q/k/v share their input, as do gate/up: four Hessians per layer.
  hessians = 2.0 * tokens * static_cast<double>(3 * c.hidden_size * c.hidden_size + shapes.at("down_proj").in * shapes.at("down_proj").in);
  const double layers = static_cast<double>(c.n_layer);
  const int64_t dense = speed.compute_bytes;
  if (rtn) {
    step.flops = layers * layer_weights * 4;
    step.elements = layers * layer_weights * 8;
    step.operations = layers * 7 * 10;
  } else {
    const double seqlen = static_cast<double>(p.seqlen);
    const double activation_elements = 20 * static_cast<double>(c.hidden_size) + 4 * static_cast<double>(c.intermediate_size) +
                                       2 * static_cast<double>(c.n_head) * seqlen;
    const double attention_flops = 4 * static_cast<double>(c.n_head * c.head_dim) * seqlen;
    step.flops = layers * (2 * (2.0 * layer_weights + attention_flops) * tokens + hessians + updates);
    step.elements = layers * (2 * tokens * activation_elements + layer_weights * 8);
    step.operations = layers * (2 * kOpsPerLayerForward * static_cast<double>(p.nsamples) + kOpsPerGptqColumnBlock * blocks);
  }
  // One layer in fp32, its Hessians, the calibration activations in and out, the embeddings.
  const int64_t activations = 2 * p.nsamples * p.seqlen * c.hidden_size * 4;
  step.memory_bytes = static_cast<int64_t>(layer_weights) * 4 + 4 * largest_in * largest_in * 4 + activations +
                      2 * c.vocab_size * c.hidden_size * dense;
  return finish(step, speed);
}

StepEstimate estimate_correct_step(const model::LlamaConfig& c, const std::optional<quant::QuantConfig>& quantization,
                                   const LrecSettings& p, const DeviceSpeed& speed) {
  StepEstimate step;
  step.step = "correct (LREC)";
  step.memory_bytes = estimate_training_memory(c, quantization, lrec_training_shape(p, speed.compute_bytes)).total();

  const ModelWork student = model_work(c, quantization.has_value(), p.target_modules, 1);
  const ModelWork teacher = model_work(c, false, {}, 0);
  const double seqlen = static_cast<double>(p.seqlen);
  const double micro_batches = static_cast<double>(p.schedule.total_steps * p.accumulation);
  const double evaluations = std::floor(static_cast<double>(p.schedule.total_steps) / static_cast<double>(p.eval_every)) + 1;
  const double eval_windows = static_cast<double>(p.eval_windows);
  const double passes = p.gradient_checkpointing ? 4.0 : 3.0;  // forward, backward (2×), recompute
  // A cached teacher runs once over every window; an online one (top-k 0) beside every step and evaluation.
  if (p.teacher_top_k > 0) {
    add_passes(step, teacher, static_cast<double>(p.calibration_windows) + eval_windows, 1, seqlen, 1);
  } else {
    add_passes(step, teacher, micro_batches, static_cast<double>(p.micro_batch), seqlen, 1);
    add_passes(step, teacher, eval_windows * evaluations, 1, seqlen, 1);
  }
  add_passes(step, student, micro_batches, static_cast<double>(p.micro_batch), seqlen, passes);
  add_passes(step, student, eval_windows * evaluations, 1, seqlen, 1);
  return finish(step, speed, kTrainingOverhead);
}

StepEstimate estimate_finetune_step(const model::LlamaConfig& c, const std::optional<quant::QuantConfig>& quantization,
                                    const EmefSettings& p, int64_t examples, double mean_tokens, const DeviceSpeed& speed) {
  StepEstimate step;
  step.step = "fine-tune (EMEF)";
  step.memory_bytes = estimate_training_memory(c, quantization, emef_training_shape(p, speed.compute_bytes)).total();

  const double validation = p.validation >= 1 ? p.validation : std::floor(p.validation * static_cast<double>(examples));
  const double train_examples = std::max(1.0, static_cast<double>(examples) - validation);
  const double evaluated = std::min(validation, static_cast<double>(p.eval_examples));
  const double steps = p.steps ? static_cast<double>(*p.steps) : std::max(1.0, std::ceil(p.epochs * train_examples / static_cast<double>(p.batch)));
  const double micro_batches = steps * static_cast<double>(p.batch / p.micro_batch);
  const double evaluations = std::floor(steps / static_cast<double>(p.eval_every)) + 1;
  const ModelWork work = model_work(c, quantization.has_value(), p.target_modules, 1 + static_cast<int>(p.base_adapters.size()));
  const double passes = p.gradient_checkpointing ? 4.0 : 3.0;
  const double batch = static_cast<double>(p.micro_batch);
  add_passes(step, work, micro_batches, batch, mean_tokens, passes);
  add_passes(step, work, std::ceil(evaluated / batch) * evaluations, batch, mean_tokens, 1);
  return finish(step, speed, kTrainingOverhead);
}

nlohmann::json run_plan_to_json(const RunPlan& plan) {
  using nlohmann::json;
  return json{{"kind", "pipeline"},
              {"model", plan.model_dir.string()},
              {"device", plan.device},
              {"quantize", plan.quantize ? quant::quantize_settings_schema().to_json(*plan.quantize) : json(nullptr)},
              {"correct", plan.correct ? lrec_settings_schema().to_json(*plan.correct) : json(nullptr)},
              {"finetune", plan.finetune ? emef_settings_schema().to_json(*plan.finetune) : json(nullptr)},
              // A run's folder is where its config.json is, not in it: kept here beside the settings.
              {"correct_run", plan.correct ? json(plan.correct->run_dir.string()) : json(nullptr)},
              {"finetune_run", plan.finetune ? json(plan.finetune->run_dir.string()) : json(nullptr)}};
}

RunPlan run_plan_from_json(const nlohmann::json& config, const std::string& file) {
  if (!config.is_object() || config.value("kind", std::string()) != "pipeline") {
    throw InputError(file, "is not a LowBit pipeline (no \"kind\": \"pipeline\")", "open the folder the New run wizard wrote");
  }
  RunPlan plan;
  plan.model_dir = config.value("model", std::string());
  plan.device = config.value("device", std::string("auto"));
  auto step = [&](const char* key, const auto& schema, auto& into) {
    if (config.contains(key) && config[key].is_object()) into = schema.from_json(config[key], file + " (" + key + ")");
  };
  step("quantize", quant::quantize_settings_schema(), plan.quantize);
  step("correct", lrec_settings_schema(), plan.correct);
  step("finetune", emef_settings_schema(), plan.finetune);
  if (plan.quantize) plan.trained_quantization = plan.quantize->config;
  auto run_folder = [&](const char* key) {
    if (!config.contains(key) || !config[key].is_string()) {
      throw InputError(file, std::string("has no \"") + key + "\"", "the file was edited by hand; restore it");
    }
    return std::filesystem::path(config[key].get<std::string>());
  };
  if (plan.correct) plan.correct->run_dir = run_folder("correct_run");
  if (plan.finetune) plan.finetune->run_dir = run_folder("finetune_run");
  return plan;
}

std::optional<RunPlan> read_pipeline(const std::filesystem::path& output_dir) {
  const std::filesystem::path file = output_dir / "pipeline.json";
  std::error_code error;
  if (!std::filesystem::exists(file, error)) return std::nullopt;
  const nlohmann::json config = util::read_json_file(file, util::kConfigJsonLimits);
  RunPlan plan = run_plan_from_json(config, file.string());
  plan.output_dir = output_dir;
  return plan;
}

std::vector<std::filesystem::path> training_run_folders(const RunPlan& plan) {
  std::vector<std::filesystem::path> folders;
  if (plan.correct) folders.push_back(plan.correct->run_dir);
  if (plan.finetune) folders.push_back(plan.finetune->run_dir);
  return folders;
}

std::filesystem::path current_training_run(const RunPlan& plan) {
  std::filesystem::path current;
  for (const std::filesystem::path& folder : training_run_folders(plan)) {
    if (std::filesystem::exists(folder / "metrics.jsonl")) current = folder;
  }
  return current;
}

std::vector<std::vector<std::string>> run_plan_commands(const RunPlan& plan) {
  std::vector<std::vector<std::string>> lines;
  auto add = [&lines](const auto& schema, const auto& settings) {
    std::vector<std::string> line{schema.command()};
    for (std::string& argument : schema.arguments(settings)) line.push_back(std::move(argument));
    lines.push_back(std::move(line));
  };
  if (plan.quantize) add(quant::quantize_settings_schema(), *plan.quantize);
  if (plan.correct) add(lrec_settings_schema(), *plan.correct);
  if (plan.finetune) add(emef_settings_schema(), *plan.finetune);
  return lines;
}

double RunEstimate::total_seconds() const {
  double total = 0;
  for (const StepEstimate& step : steps) total += step.seconds;
  return total;
}

std::string RunEstimate::describe() const {
  std::string text;
  const char* memory = on_gpu ? "GPU memory" : "RAM";
  for (const StepEstimate& step : steps) {
    text += step.step + ": " + format_bytes(step.memory_bytes) + " " + memory + " (" +
            train::fit_name(step.fit) + "), about " + format_duration(step.seconds) + "\n";
  }
  text += "in all about " + format_duration(total_seconds()) + " on " + device;
  return text;
}

void RunEstimateJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const model::LlamaConfig config = model::load_llama_config(plan_.model_dir);
  const at::Device device = system::resolve_device(plan_.device);
  estimate_.on_gpu = device.is_cuda();
  if (device.is_cuda()) {
    const system::NvidiaDriverInfo driver = system::query_nvidia_driver();
    const int index = std::max<int>(0, device.index());
    for (const system::NvidiaGpu& gpu : driver.gpus) {
      if (gpu.index != index) continue;
      estimate_.available_bytes = static_cast<int64_t>(gpu.free_bytes);
      estimate_.device = gpu.name + " (" + format_bytes(estimate_.available_bytes) + " free)";
    }
    if (estimate_.device.empty()) estimate_.device = "the GPU";
  } else {
    estimate_.available_bytes = system::total_ram_bytes();
    estimate_.device = "the CPU (" + format_bytes(estimate_.available_bytes) + " RAM)";
  }
  cancel.throw_if_cancelled();
  estimate_.speed = measure_device_speed(device, model::default_compute_dtype(config, device), config.hidden_size);
  events.log({jobs::LogLevel::Debug, "measured " + std::to_string(estimate_.speed.flops_per_s / 1e9) + " GFLOP/s, " +
                                         std::to_string(estimate_.speed.seconds_per_op * 1e6) + " µs per operation"});
  auto add = [&](StepEstimate step) {
    step.fit = train::judge_fit(step.memory_bytes, estimate_.available_bytes);
    estimate_.steps.push_back(std::move(step));
  };
  std::optional<quant::QuantConfig> trained = plan_.trained_quantization;
  if (!plan_.quantize && !trained) trained = quant::read_quant_config(plan_.model_dir.string());  // an existing GPTQ model
  if (plan_.quantize) add(estimate_quantize_step(config, *plan_.quantize, estimate_.speed));
  if (plan_.correct) add(estimate_correct_step(config, trained, *plan_.correct, estimate_.speed));
  if (plan_.finetune) {
    StepEstimate step = estimate_finetune_step(config, trained, *plan_.finetune, plan_.finetune_examples,
                                               plan_.finetune_mean_tokens, estimate_.speed);
    // The LREC adapter the pipeline makes first is stacked, frozen, under the new one.
    if (plan_.correct) step.memory_bytes += planned_adapter_bytes(config, trained.has_value(),
                                                                  plan_.correct->target_modules, plan_.correct->lora.rank);
    add(std::move(step));
  }
}

std::string RunPlanJob::title() const {
  std::string title;
  auto add = [&title](const char* step) { title += (title.empty() ? "" : " → ") + std::string(step); };
  if (plan_.quantize) add("Quantize");
  if (plan_.correct) add("Correct (LREC)");
  if (plan_.finetune) add("Fine-tune (EMEF)");
  return title;
}

void RunPlanJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  namespace fs = std::filesystem;
  // Resolved once, so that "auto" cannot pick the GPU for one step and the CPU for the next.
  const std::string device = system::resolve_device(plan_.device).str();
  if (!plan_.output_dir.empty() && !plan_.resume) {
    fs::create_directories(plan_.output_dir);
    write_text_file_atomically(plan_.output_dir / "pipeline.json", run_plan_to_json(plan_).dump(2) + "\n");
  }
  auto info = [&](const std::string& text) { events.log({jobs::LogLevel::Info, text}); };
  std::vector<std::shared_ptr<jobs::Job>> steps;
  if (plan_.quantize) {
    quant::QuantizeSettings p = *plan_.quantize;
    p.device = device;
    if (plan_.resume && fs::exists(p.out_dir / "config.json")) {
      info("quantize: done before (" + p.out_dir.string() + ")");
    } else {
      steps.push_back(std::make_shared<quant::QuantizeJob>(p));
    }
  }
  // A training step that finished is skipped; one with a checkpoint goes on from it; one that stopped before its
  // first checkpoint holds nothing worth keeping (its settings are in pipeline.json) and starts again.
  auto training_step = [&](auto settings, const char* name) -> std::optional<decltype(settings)> {
    settings.device = device;
    if (!plan_.resume) return settings;
    if (fs::exists(settings.run_dir / "adapter" / "adapter_model.safetensors")) {
      info(std::string(name) + ": done before (" + settings.run_dir.string() + ")");
      return std::nullopt;
    }
    if (Trainer::latest_checkpoint(settings.run_dir) >= 0) {
      settings.resume = true;
    } else if (fs::exists(settings.run_dir)) {
      info(std::string(name) + ": it stopped before its first checkpoint, so it starts again");
      fs::remove_all(settings.run_dir);
    }
    return settings;
  };
  if (plan_.correct) {
    if (const auto p = training_step(*plan_.correct, "correct")) steps.push_back(std::make_shared<LrecJob>(*p));
  }
  if (plan_.finetune) {
    if (const auto p = training_step(*plan_.finetune, "fine-tune")) steps.push_back(std::make_shared<EmefJob>(*p));
  }
  jobs::PipelineJob pipeline(std::move(steps));
  if (plan_.output_dir.empty()) {
    pipeline.run(events, cancel);
  } else {
    run_with_status(plan_.output_dir, [&] { pipeline.run(events, cancel); });
  }
}

}  // namespace lowbit::train
