// lowbit finetune: EMEF. The options are the settings schema's (core/train/emef_settings.h).
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/train/emef_job.h"
#include "core/util/arg_parser.h"
#include "core/util/format.h"
#include "training_output.h"

namespace lowbit::cli {

int run_finetune(const std::vector<std::string>& arguments) {
  const auto& schema = train::emef_settings_schema();
  const ArgParser args("finetune", arguments, schema.options({{"--estimate", false}}));
  const bool estimate = args.flag("--estimate");
  const train::EmefSettings p = schema.parse(args, /*to_run=*/!estimate);
  if (estimate) {
    const at::Device device = planned_device(p.device);
    print_memory_estimate(device, train::estimate_emef_memory(p, device));
    std::printf("settings: %s\n", schema.to_json(p).dump().c_str());
    return jobs::kExitOk;
  }

  CliEvents events;
  train::EmefJob job(p);
  job.run(events, interrupt_token());
  events.finish_line();
  const train::EmefResult& r = job.result();
  std::printf("fine-tuned %s with EMEF: %lld steps in %s on %lld examples (%lld held out, %lld records left out); "
              "validation loss %.4f -> %.4f (PPL %.3f); adapter in %s\n",
              p.model_dir.string().c_str(), static_cast<long long>(r.steps_done), format_duration(r.seconds).c_str(),
              static_cast<long long>(r.train_examples), static_cast<long long>(r.validation_examples),
              static_cast<long long>(r.skipped_records), r.first_val_loss, r.final_val_loss, r.final_val_ppl,
              r.adapter_dir.string().c_str());
  std::printf("time per step %.2f s; one epoch (%lld steps of %lld examples) ~ %s, extrapolated from the measured steps\n",
              r.seconds_per_step, static_cast<long long>(r.steps_per_epoch), static_cast<long long>(p.batch),
              format_duration(r.seconds_per_step * static_cast<double>(r.steps_per_epoch)).c_str());
  print_memory_outcome(r.device, r.estimated_bytes, r.peak_vram_bytes, r.peak_ram_bytes);
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
