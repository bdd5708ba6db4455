// lowbit correct: LREC. The options are the settings schema's (core/train/lrec_settings.h).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/train/lrec_job.h"
#include "core/util/arg_parser.h"
#include "training_output.h"

namespace lowbit::cli {

int run_correct(const std::vector<std::string>& arguments) {
  const auto& schema = train::lrec_settings_schema();
  const ArgParser args("correct", arguments, schema.options({{"--estimate", false}}));
  const bool estimate = args.flag("--estimate");
  const train::LrecSettings p = schema.parse(args, /*to_run=*/!estimate);
  if (estimate) {
    const at::Device device = planned_device(p.device);
    print_memory_estimate(device, train::estimate_lrec_memory(p, device));
    std::printf("settings: %s\n", schema.to_json(p).dump().c_str());
    return jobs::kExitOk;
  }

  CliEvents events;
  train::LrecJob job(p);
  job.run(events, interrupt_token());
  events.finish_line();
  const train::LrecResult& r = job.result();
  std::string recipe = train::correction_recipe_name(p.loss.kind);
  std::transform(recipe.begin(), recipe.end(), recipe.begin(), [](unsigned char c) { return std::toupper(c); });
  std::printf("corrected %s with %s's loss: %lld steps in %.1f s; held-out PPL %.4f; adapter in %s (metrics in %s)\n",
              p.student_dir.string().c_str(), recipe.c_str(), static_cast<long long>(r.steps_done), r.seconds, r.final_val_ppl,
              r.adapter_dir.string().c_str(), (p.run_dir / "metrics.jsonl").string().c_str());
  print_memory_outcome(r.device, r.estimated_bytes, r.peak_vram_bytes, r.peak_ram_bytes);
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
