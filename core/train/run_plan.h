// A run as the New run wizard plans it — quantize, correct, fine-tune, any of them in that order — and what the
// wizard shows before anything starts: for each step the memory it needs on the chosen device, whether that
// fits, and a rough time. RunPlanJob runs the plan; RunEstimateJob estimates it.
//
// Memory: core/train/memory_estimate.h for LREC and EMEF (the student's quantization taken from the plan, since
// the quantized model does not exist yet); for GPTQ one decoder layer in fp32, its Hessians, the calibration
// activations (inputs and outputs of the layer) and the embeddings.
//
// Time = FLOPs / matmul speed + elements / elementwise speed + operations × cost of one small operation, all three
// speeds measured on the device in the run's compute dtype (a fraction of a second). The elements are the
// memory-bound work: activations outside the matmuls (norms, rotary, attention softmax, MLP activation, logits)
// and unpacking the packed weights once per pass. The FLOPs count (N: weights of the projections and lm_head,
// T: tokens, A = 4·heads·head_dim·length·layers: the attention products per token):
//   quantize (GPTQ)  per layer 2·(2·N_layer + A_layer)·T_cal (forward to collect inputs, and again after quantizing)
//                    + 2·T_cal·Σ in² (Hessians) + Σ in²·out (the column updates)
//   correct (LREC)   teacher cache (2·N + A)·(T_cal + T_eval) once; per trained token (2·N + A) forward, twice that
//                    backward (and once more recomputed with gradient checkpointing); evaluations (2·N + A) per token
//   fine-tune (EMEF) the same per token without the teacher; tokens = mean example length × examples
// Training steps are then tripled for what is not counted (autograd, allocations, optimizer), a factor fitted on
// stories260K runs on a CPU. Loading models, reading data and GPTQ's column loop are not counted: GPTQ of
// stories260K on a CPU took 26 s where this says 2–3 s. The result is an order of magnitude to plan with, not a promise; the dashboard's ETA, measured on the
// run itself, replaces it once the run starts.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/jobs/job.h"
#include "core/model/llama_config.h"
#include "core/library/model_library.h"
#include "core/quant/quantize_settings.h"
#include "core/train/emef_settings.h"
#include "core/train/lrec_settings.h"

namespace lowbit::train {

struct DeviceSpeed {
  double flops_per_s = 0;     // of a [512 × H] · [H × H] matmul in the compute dtype
  double seconds_per_op = 0;  // of a small elementwise operation (launch and dispatch cost)
  double elements_per_s = 0;  // of an elementwise add over 4 M elements (memory-bound work)
  int64_t compute_bytes = 4;  // of the compute dtype measured in (fp16/bf16 on a GPU, fp32 on the CPU)
};

struct StepEstimate {
  std::string step;             // "quantize (GPTQ 2-bit)", "correct (LREC)", "fine-tune (EMEF)"
  int64_t memory_bytes = 0;
  double flops = 0;
  double elements = 0;          // memory-bound elementwise work: activations, unpacking packed weights
  double operations = 0;
  double seconds = 0;           // flops / flops_per_s + elements / elements_per_s + operations × seconds_per_op (× 3 for training)
  train::Fit fit = train::Fit::NoGpu;
};

// The plan: the wizard's jobs before they run. `quantized` is the planned quantization of the model the later
// steps train on (nullopt: they train on the model as it is).
struct RunPlan {
  std::filesystem::path model_dir;               // the model the run starts from
  std::string device = "auto";                   // every step's; resolved once when the plan runs
  // The folder holding the steps' outputs, where the plan is kept as pipeline.json so that a stopped pipeline can
  // be resumed from it (`lowbit resume OUT`, the Runs page); empty: not kept.
  std::filesystem::path output_dir;
  // Continue: a step whose output is complete is skipped, a stopped training step goes on from its checkpoint,
  // one stopped before its first checkpoint starts again.
  bool resume = false;
  std::optional<quant::QuantizeSettings> quantize;
  std::optional<LrecSettings> correct;
  std::optional<EmefSettings> finetune;
  std::optional<quant::QuantConfig> trained_quantization;
  int64_t finetune_examples = 0;                 // usable Alpaca records
  double finetune_mean_tokens = 0;               // per record at the cutoff
};

// pipeline.json: the steps' settings through their schemas ({"kind": "pipeline", "model", "device", "quantize",
// "correct", "finetune"}, a step not planned is null). from_json names the file and the key when one is wrong.
nlohmann::json run_plan_to_json(const RunPlan& plan);
RunPlan run_plan_from_json(const nlohmann::json& config, const std::string& file);
// The plan kept in `output_dir`, if that folder holds a pipeline.json.
std::optional<RunPlan> read_pipeline(const std::filesystem::path& output_dir);
// The folders the plan's training steps write (correct, then fine-tune), in order.
std::vector<std::filesystem::path> training_run_folders(const RunPlan& plan);
// The training step to show for a pipeline: the last one that has written metrics; empty before any has.
std::filesystem::path current_training_run(const RunPlan& plan);

// The steps as `lowbit` command lines, in order: {"quantize", MODEL, "--out", …}, {"correct", …}, {"finetune", …}.
// Each parses back, through its settings schema, to the step's settings.
std::vector<std::vector<std::string>> run_plan_commands(const RunPlan& plan);

StepEstimate estimate_quantize_step(const model::LlamaConfig& config, const quant::QuantizeSettings& params,
                                    const DeviceSpeed& speed);
StepEstimate estimate_correct_step(const model::LlamaConfig& config, const std::optional<quant::QuantConfig>& quantization,
                                   const LrecSettings& params, const DeviceSpeed& speed);
StepEstimate estimate_finetune_step(const model::LlamaConfig& config, const std::optional<quant::QuantConfig>& quantization,
                                    const EmefSettings& params, int64_t examples, double mean_tokens, const DeviceSpeed& speed);

struct RunEstimate {
  std::string device;           // "NVIDIA GeForce RTX 3070 Laptop GPU (7.6 GiB free)" or "CPU (23.4 GiB RAM)"
  bool on_gpu = false;
  int64_t available_bytes = 0;  // free GPU memory, or the machine's RAM
  DeviceSpeed speed;
  std::vector<StepEstimate> steps;
  double total_seconds() const;
  // One line per step: "correct (LREC): 5.8 GiB GPU memory (fits), about 2 h 10 min"
  std::string describe() const;
};

// Resolves "auto" etc., measures the device, estimates every planned step: what the wizard runs on a worker.
class RunEstimateJob : public jobs::Job {
 public:
  explicit RunEstimateJob(RunPlan plan) : plan_(std::move(plan)) {}
  std::string title() const override { return "Estimate the run"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const RunEstimate& estimate() const { return estimate_; }

 private:
  RunPlan plan_;
  RunEstimate estimate_;
};

// Runs the planned steps in order on the plan's device ("auto", "cpu", "cuda"), resolved when the job runs so
// that a front end never touches LibTorch on its own thread. Each step's output is the next one's input. With an
// output_dir, the folder also gets pipeline.json (the plan) and run_state.json (running, stopped, finished or
// failed: the whole pipeline's), so that the Runs page shows it and `lowbit resume` continues it.
class RunPlanJob : public jobs::Job {
 public:
  explicit RunPlanJob(RunPlan plan) : plan_(std::move(plan)) {}
  std::string title() const override;  // "Quantize → Correct (LREC) → Fine-tune (EMEF)"
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const RunPlan& plan() const { return plan_; }

 private:
  RunPlan plan_;
};

}  // namespace lowbit::train
