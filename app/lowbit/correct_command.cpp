// lowbit correct: LREC.
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/model/model_summary.h"
#include "core/train/lrec_job.h"
#include "core/util/arg_parser.h"
#include "training_output.h"

namespace lowbit::cli {

int run_correct(const std::vector<std::string>& arguments) {
  const ArgParser args(
      "correct", arguments,
      {{"--teacher", true}, {"--calib", true}, {"--out", true}, {"--preset", true}, {"--resume", false},
       {"--rank", true}, {"--alpha", true}, {"--dropout", true}, {"--targets", true}, {"--kl-weight", true},
       {"--ce-weight", true}, {"--kl-per-token", false}, {"--reverse-kl", false}, {"--lr", true},
       {"--warmup", true}, {"--schedule", true}, {"--steps", true}, {"--weight-decay", true},
       {"--max-grad-norm", true}, {"--micro-batch", true}, {"--accumulation", true}, {"--seqlen", true},
       {"--samples", true}, {"--held-out", true}, {"--eval-windows", true}, {"--eval-every", true},
       {"--checkpoint-every", true}, {"--seed", true}, {"--device", true},
       {"--teacher-top-k", true}, {"--no-gradient-checkpointing", false}, {"--estimate", false}});
  train::LrecParams p;
  p.student_dir = args.positional(0, "QUANT_DIR (a quantized model folder)");
  args.finish(1);
  p.teacher_dir = args.required("--teacher");
  p.calibration = args.required("--calib");
  p.resume = args.flag("--resume");
  train::apply_preset(p, args.choice("--preset", "int4", {"int4", "int3", "int2"}));
  p.lora.rank = args.integer("--rank", p.lora.rank, 1, 4096);
  p.lora.alpha = args.number("--alpha", p.lora.alpha, 1e-6, 1e6);
  p.lora.dropout = args.number("--dropout", p.lora.dropout, 0, 0.99);
  if (const auto targets = args.value("--targets")) p.target_modules = parse_target_modules(*targets);
  p.loss.kl = args.number("--kl-weight", p.loss.kl, 0, 1e6);
  p.loss.ce = args.number("--ce-weight", p.loss.ce, 0, 1e6);
  if (args.flag("--kl-per-token")) p.loss.normalisation = train::KlNormalisation::PerToken;
  if (args.flag("--reverse-kl")) p.loss.direction = train::KlDirection::StudentTeacher;
  p.schedule.base_lr = args.number("--lr", p.schedule.base_lr, 1e-12, 1e6);
  p.schedule.warmup_steps = args.integer("--warmup", 0, 0, 1 << 30);
  p.schedule.kind = train::parse_schedule_kind(args.choice("--schedule", "cosine", {"cosine", "linear", "constant"}));
  p.schedule.total_steps = args.integer("--steps", 200, 1, 1 << 30);
  p.weight_decay = args.number("--weight-decay", p.weight_decay, 0, 10);
  p.max_grad_norm = args.number("--max-grad-norm", p.max_grad_norm, 1e-6, 1e6);
  p.micro_batch = args.integer("--micro-batch", 1, 1, 4096);
  p.accumulation = args.integer("--accumulation", 1, 1, 1 << 20);
  p.seqlen = args.integer("--seqlen", 512, 2, 1 << 20);
  p.calibration_windows = args.integer("--samples", 128, 1, 1 << 24);
  p.held_out_fraction = args.number("--held-out", 0.2, 0.01, 0.9);
  p.eval_windows = args.integer("--eval-windows", 16, 1, 1 << 20);
  p.eval_every = args.integer("--eval-every", 50, 1, 1 << 30);
  p.checkpoint_every = args.integer("--checkpoint-every", 50, 1, 1 << 30);
  p.seed = static_cast<uint64_t>(args.integer("--seed", 0, 0, INT64_MAX));
  p.teacher_top_k = args.integer("--teacher-top-k", p.teacher_top_k, 0, 1 << 20);
  p.gradient_checkpointing = !args.flag("--no-gradient-checkpointing");
  const std::string device_name = args.value("--device").value_or("auto");
  if (args.flag("--estimate")) {
    p.device = planned_device(device_name);
    print_memory_estimate(p.device, train::estimate_lrec_memory(p));
    return jobs::kExitOk;
  }
  p.device = model::resolve_device(device_name);
  p.run_dir = args.required("--out");

  CliEvents events;
  train::LrecJob job(p);
  job.run(events, interrupt_token());
  events.finish_line();
  const train::LrecResult& r = job.result();
  std::printf("corrected %s with LREC: %lld steps in %.1f s; held-out PPL %.4f; adapter in %s (metrics in %s)\n",
              p.student_dir.string().c_str(), static_cast<long long>(r.steps_done), r.seconds, r.final_val_ppl,
              r.adapter_dir.string().c_str(), (p.run_dir / "metrics.jsonl").string().c_str());
  print_memory_outcome(p.device, r.estimated_bytes, r.peak_vram_bytes, r.peak_ram_bytes);
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
