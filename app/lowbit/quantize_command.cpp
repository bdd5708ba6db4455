// lowbit quantize.
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/model/model_summary.h"
#include "core/quant/quantize_job.h"
#include "core/util/arg_parser.h"

namespace lowbit::cli {

int run_quantize(const std::vector<std::string>& arguments) {
  const ArgParser args("quantize", arguments,
                       {{"--bits", true}, {"--group-size", true}, {"--act-order", false}, {"--static-groups", false},
                        {"--sym", false}, {"--asym", false}, {"--method", true}, {"--calib", true},
                        {"--nsamples", true}, {"--seqlen", true}, {"--seed", true}, {"--damp", true},
                        {"--no-true-sequential", false}, {"--format", true}, {"--device", true}, {"--out", true}});
  quant::QuantizeParams params;
  params.model_dir = args.positional(0, "MODEL (a model folder)");
  args.finish(1);
  params.out_dir = args.required("--out");
  quant::QuantConfig& c = params.config;
  c.bits = static_cast<int>(args.integer("--bits", 4, 2, 8));
  c.group_size = args.integer("--group-size", 128, -1, 1 << 20);
  c.desc_act = args.flag("--act-order");
  c.static_groups = args.flag("--static-groups");
  if (args.flag("--sym") && args.flag("--asym")) throw UsageError("lowbit quantize: choose --sym or --asym, not both");
  c.sym = !args.flag("--asym");
  c.true_sequential = !args.flag("--no-true-sequential");
  c.damp_percent = args.number("--damp", 0.01, 1e-6, 0.999);
  c.method = args.choice("--method", "gptq", {"gptq", "rtn"}) == "rtn" ? quant::QuantMethod::Rtn : quant::QuantMethod::Gptq;
  c.checkpoint_format = args.choice("--format", c.sym ? "gptq" : "gptq_v2", {"gptq", "gptq_v2"});
  if (const auto calib = args.value("--calib")) params.calibration = *calib;
  params.nsamples = args.integer("--nsamples", 128, 1, 1 << 20);
  params.seqlen = args.integer("--seqlen", 2048, 2, 1 << 20);
  params.seed = static_cast<uint64_t>(args.integer("--seed", 0, 0, INT64_MAX));
  params.device = model::resolve_device(args.value("--device").value_or("auto"));

  CliEvents events;
  quant::QuantizeJob job(params);
  job.run(events, interrupt_token());
  events.finish_line();
  const quant::QuantizeResult& r = job.result();
  double mean_error = 0;
  for (const auto& p : r.projections) mean_error += p.relative_error;
  mean_error /= static_cast<double>(std::max<size_t>(1, r.projections.size()));
  std::printf("quantized %s → %s\n", params.model_dir.string().c_str(), params.out_dir.string().c_str());
  std::printf("  %s, on %s\n", quant::describe(r.config).c_str(), params.device.str().c_str());
  std::printf("  model.safetensors %s; quantized projections at %.3f bits per weight (scales, zeros, g_idx included)\n",
              model::format_bytes(r.output_bytes).c_str(), r.bits_per_weight);
  std::printf("  mean relative output error of the projections %.3e\n", mean_error);
  std::printf("  %.1f s, peak RAM %s, peak VRAM %s\n", r.seconds, model::format_bytes(r.peak_ram_bytes).c_str(),
              params.device.is_cuda() ? model::format_bytes(r.peak_vram_bytes).c_str() : "0 (CPU)");
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
