// The wizard's estimates: memory equals the training estimate for the planned shape, and the time follows the
// work formulas of core/train/run_plan.h (checked by hand on a LLaMA-7B-shaped config), scaling with steps.
#include <gtest/gtest.h>

#include "core/model/llama_config.h"
#include "core/train/device_speed.h"
#include "core/train/emef_job.h"
#include "core/train/lrec_job.h"
#include "core/train/run_plan.h"
#include "core/util/format.h"

namespace lowbit::train {
namespace {

model::LlamaConfig llama_7b() {
  model::LlamaConfig c;
  c.architecture = "LlamaForCausalLM";
  c.vocab_size = 32000;
  c.hidden_size = 4096;
  c.intermediate_size = 11008;
  c.n_layer = 32;
  c.n_head = 32;
  c.n_head_kv = 32;
  c.head_dim = 128;
  return c;
}

constexpr double kProjectionWeights7b = 32.0 * (4 * 4096.0 * 4096 + 3 * 4096.0 * 11008);  // 6.48e9
constexpr double kHeadWeights7b = 32000.0 * 4096;

TEST(RunPlan, CorrectionWorkFollowsTheFormula) {
  const model::LlamaConfig c = llama_7b();
  quant::QuantConfig int2;
  int2.bits = 2;
  LrecSettings p;
  p.device = "cpu";
  p.schedule.total_steps = 100;
  p.seqlen = 2048;
  p.micro_batch = 1;
  p.accumulation = 1;
  p.calibration_windows = 128;
  p.eval_windows = 16;
  p.eval_every = 50;
  p.gradient_checkpointing = true;
  const DeviceSpeed speed{1e12, 1e-5, 1e11};
  const StepEstimate step = estimate_correct_step(c, int2, p, speed);
  // Per token: 2 N for the weights, 4 · heads · head_dim · length · layers for attention's products.
  const double n = kProjectionWeights7b + kHeadWeights7b + (4 * 32 * 128 * 2048.0 * 32) / 2;
  const double expected_flops = 2 * n * (128 + 16) * 2048.0    // teacher cache
                                + 2 * 4 * n * 100 * 2048.0     // forward, backward ×2, recompute
                                + 2 * n * 16 * 2048.0 * 3;     // evaluations at steps 0, 50, 100
  EXPECT_NEAR(step.flops / expected_flops, 1.0, 1e-12);
  EXPECT_EQ(step.memory_bytes, estimate_training_memory(c, int2, lrec_training_shape(p, speed.compute_bytes)).total());
  // Three times the counted work: autograd and the optimizer are not counted (fitted on stories260K CPU runs).
  EXPECT_NEAR(step.seconds, 3 * (step.flops / speed.flops_per_s + step.elements / speed.elements_per_s +
                                 step.operations * speed.seconds_per_op), 1e-9);
  // Elementwise work: activations per token (20 H + 4 I + 2 heads × length per layer, 6 V for the logits) over
  // every token of every pass, plus unpacking the student's packed weights (4 per weight) once per pass and
  // micro-batch: teacher 144 windows × 1 pass, training 100 micro-batches × 4 passes, evaluations 48 windows.
  const double per_token = 32 * (20 * 4096.0 + 4 * 11008.0 + 2 * 32 * 2048.0) + 6 * 32000.0;
  const double unpack = 4 * kProjectionWeights7b;
  const double expected_elements = 144 * 2048 * per_token + 4 * (100 * 2048 * per_token + 100 * unpack) +
                                    (48 * 2048 * per_token + 48 * unpack);
  EXPECT_NEAR(step.elements / expected_elements, 1.0, 1e-12);

  LrecSettings longer = p;
  longer.schedule.total_steps = 200;  // one more evaluation too
  const StepEstimate twice = estimate_correct_step(c, int2, longer, speed);
  EXPECT_NEAR((twice.flops - step.flops) / (2 * 4 * n * 100 * 2048.0 + 2 * n * 16 * 2048.0 * 2), 1.0, 1e-12);
  // On a 1 TFLOP/s device a 7B INT2 correction of 100 steps × 2048 tokens is hours, not seconds or weeks.
  EXPECT_GT(step.seconds, 3600.0);
  EXPECT_LT(step.seconds, 24 * 3600.0);
}

TEST(RunPlan, FineTuningCountsEpochsOfTheUsableRecords) {
  const model::LlamaConfig c = llama_7b();
  quant::QuantConfig int4;
  EmefSettings p;  // r 8 on q/v, batch 128, micro-batch 4, 3 epochs, 5 % held out, checkpointing
  p.device = "cpu";
  const DeviceSpeed speed{1e12, 1e-5, 1e11};
  const StepEstimate step = estimate_finetune_step(c, int4, p, /*examples=*/52002, /*mean_tokens=*/120.0, speed);
  const double validation = std::floor(0.05 * 52002), train = 52002 - validation;
  const double steps = std::ceil(3 * train / 128), evaluations = std::floor(steps / 200) + 1;
  const double n = kProjectionWeights7b + kHeadWeights7b + (4 * 32 * 128 * 120.0 * 32) / 2;
  const double expected = 2 * 4 * n * steps * 128 * 120.0 + 2 * n * std::min(validation, 256.0) * 120.0 * evaluations;
  EXPECT_NEAR(step.flops / expected, 1.0, 1e-12);
  EXPECT_EQ(step.memory_bytes, estimate_training_memory(c, int4, emef_training_shape(p, speed.compute_bytes)).total());
}

TEST(RunPlan, QuantizingCountsLayersHessiansAndUpdates) {
  const model::LlamaConfig c = llama_7b();
  quant::QuantizeSettings p;
  p.device = "cpu";
  p.config.bits = 4;
  p.nsamples = 128;
  p.seqlen = 2048;
  const StepEstimate gptq = estimate_quantize_step(c, p, {1e12, 1e-5, 1e11});
  const double tokens = 128.0 * 2048, layer = kProjectionWeights7b / 32;
  const double hessians = 2 * tokens * (3 * 4096.0 * 4096 + 11008.0 * 11008);
  const double updates = 4 * 4096.0 * 4096 * 4096 + 2 * 4096.0 * 4096 * 11008 + 11008.0 * 11008 * 4096;
  const double attention = 4 * 32 * 128 * 2048.0;
  EXPECT_NEAR(gptq.flops / (32 * (2 * (2 * layer + attention) * tokens + hessians + updates)), 1.0, 1e-12);
  EXPECT_EQ(gptq.step, "quantize (GPTQ 4-bit)");
  p.config.method = quant::QuantMethod::Rtn;
  EXPECT_LT(estimate_quantize_step(c, p, {1e12, 1e-5, 1e11}).seconds, gptq.seconds / 1000);
}

TEST(RunPlan, DurationsReadAsAPersonWouldSayThem) {
  EXPECT_EQ(format_duration(0.2), "1 s");
  EXPECT_EQ(format_duration(42), "42 s");
  EXPECT_EQ(format_duration(12 * 60 + 5), "12 min 05 s");
  EXPECT_EQ(format_duration(2 * 3600 + 10 * 60), "2 h 10 min");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(4 * 86400), "4.0 days");
}

TEST(RunPlan, TheSpeedTestMeasuresSomething) {
  const DeviceSpeed speed = measure_device_speed(at::kCPU, at::kFloat, 64);
  EXPECT_GT(speed.flops_per_s, 1e6);
  EXPECT_GT(speed.seconds_per_op, 0.0);
  EXPECT_GT(speed.elements_per_s, 1e6);
  EXPECT_LT(speed.seconds_per_op, 0.01);
}

}  // namespace
}  // namespace lowbit::train
