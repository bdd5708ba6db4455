// lowbit finetune: EMEF.
#include <cmath>
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/model/model_summary.h"
#include "core/train/emef_job.h"
#include "core/util/arg_parser.h"
#include "training_output.h"

namespace lowbit::cli {
namespace {

std::string duration(double seconds) {
  char text[32];
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total >= 3600) {
    std::snprintf(text, sizeof(text), "%lld h %02lld min", total / 3600, (total % 3600) / 60);
  } else if (total >= 60) {
    std::snprintf(text, sizeof(text), "%lld min %02lld s", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof(text), "%.1f s", seconds);
  }
  return text;
}

}  // namespace

int run_finetune(const std::vector<std::string>& arguments) {
  const ArgParser args(
      "finetune", arguments,
      {{"--data", true}, {"--out", true}, {"--adapters", true, true}, {"--resume", false}, {"--instruction-field", true},
       {"--input-field", true}, {"--output-field", true}, {"--cutoff", true}, {"--train-on-inputs", false},
       {"--val", true}, {"--eval-examples", true}, {"--rank", true}, {"--alpha", true}, {"--dropout", true},
       {"--targets", true}, {"--lr", true}, {"--warmup", true}, {"--schedule", true}, {"--epochs", true},
       {"--steps", true}, {"--batch", true}, {"--micro-batch", true}, {"--weight-decay", true},
       {"--max-grad-norm", true}, {"--eval-every", true}, {"--checkpoint-every", true},
       {"--no-gradient-checkpointing", false}, {"--seed", true}, {"--device", true}, {"--estimate", false},
       {"--template", true}});
  train::EmefParams p;
  p.model_dir = args.positional(0, "MODEL (a quantized or full-precision model folder)");
  args.finish(1);
  for (const std::string& dir : args.values("--adapters")) p.base_adapters.emplace_back(dir);
  p.columns.instruction = args.value("--instruction-field").value_or(p.columns.instruction);
  p.columns.input = args.value("--input-field").value_or(p.columns.input);
  p.columns.output = args.value("--output-field").value_or(p.columns.output);
  p.examples.cutoff = args.integer("--cutoff", p.examples.cutoff, 8, 1 << 20);
  p.examples.train_on_inputs = args.flag("--train-on-inputs");
  p.prompt_template = data::parse_prompt_template(args.choice("--template", "alpaca", {"alpaca", "model"}));
  p.validation = args.number("--val", p.validation, 0.0001, 1e9);
  p.eval_examples = args.integer("--eval-examples", p.eval_examples, 1, 1 << 24);
  p.lora.rank = args.integer("--rank", p.lora.rank, 1, 4096);
  p.lora.alpha = args.number("--alpha", p.lora.alpha, 1e-6, 1e6);
  p.lora.dropout = args.number("--dropout", p.lora.dropout, 0, 0.99);
  if (const auto targets = args.value("--targets")) p.target_modules = parse_target_modules(*targets);
  p.lr = args.number("--lr", p.lr, 1e-12, 1e6);
  p.warmup_steps = args.integer("--warmup", p.warmup_steps, 0, 1 << 30);
  p.schedule = train::parse_schedule_kind(args.choice("--schedule", "linear", {"cosine", "linear", "constant"}));
  p.epochs = args.number("--epochs", p.epochs, 0.001, 1e6);
  p.steps = args.optional_integer("--steps", 1, 1 << 30);
  p.batch = args.integer("--batch", p.batch, 1, 1 << 20);
  p.micro_batch = args.integer("--micro-batch", p.micro_batch, 1, 4096);
  p.weight_decay = args.number("--weight-decay", p.weight_decay, 0, 10);
  p.max_grad_norm = args.number("--max-grad-norm", p.max_grad_norm, 1e-6, 1e6);
  p.eval_every = args.integer("--eval-every", p.eval_every, 1, 1 << 30);
  p.checkpoint_every = args.integer("--checkpoint-every", p.checkpoint_every, 1, 1 << 30);
  p.gradient_checkpointing = !args.flag("--no-gradient-checkpointing");
  p.resume = args.flag("--resume");
  p.seed = static_cast<uint64_t>(args.integer("--seed", 0, 0, INT64_MAX));
  const std::string device_name = args.value("--device").value_or("auto");
  if (args.flag("--estimate")) {
    p.device = planned_device(device_name);
    print_memory_estimate(p.device, train::estimate_emef_memory(p));
    return jobs::kExitOk;
  }
  p.device = model::resolve_device(device_name);
  p.data = args.required("--data");
  p.run_dir = args.required("--out");

  CliEvents events;
  train::EmefJob job(p);
  job.run(events, interrupt_token());
  events.finish_line();
  const train::EmefResult& r = job.result();
  std::printf("fine-tuned %s with EMEF: %lld steps in %s on %lld examples (%lld held out, %lld records left out); "
              "validation loss %.4f -> %.4f (PPL %.3f); adapter in %s\n",
              p.model_dir.string().c_str(), static_cast<long long>(r.steps_done), duration(r.seconds).c_str(),
              static_cast<long long>(r.train_examples), static_cast<long long>(r.validation_examples),
              static_cast<long long>(r.skipped_records), r.first_val_loss, r.final_val_loss, r.final_val_ppl,
              r.adapter_dir.string().c_str());
  std::printf("time per step %.2f s; one epoch (%lld steps of %lld examples) ~ %s, extrapolated from the measured steps\n",
              r.seconds_per_step, static_cast<long long>(r.steps_per_epoch), static_cast<long long>(p.batch),
              duration(r.seconds_per_step * static_cast<double>(r.steps_per_epoch)).c_str());
  print_memory_outcome(p.device, r.estimated_bytes, r.peak_vram_bytes, r.peak_ram_bytes);
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
