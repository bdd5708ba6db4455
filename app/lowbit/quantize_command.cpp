// lowbit quantize. The options are the settings schema's (core/quant/quantize_settings.h).
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/quant/quantize_job.h"
#include "core/util/arg_parser.h"
#include "core/util/format.h"

namespace lowbit::cli {

int run_quantize(const std::vector<std::string>& arguments) {
  const auto& schema = quant::quantize_settings_schema();
  const quant::QuantizeSettings params = schema.parse(ArgParser("quantize", arguments, schema.options()));

  CliEvents events;
  quant::QuantizeJob job(params);
  job.run(events, interrupt_token());
  events.finish_line();
  const quant::QuantizeResult& r = job.result();
  double mean_error = 0;
  for (const auto& p : r.projections) mean_error += p.relative_error;
  mean_error /= static_cast<double>(std::max<size_t>(1, r.projections.size()));
  std::printf("quantized %s → %s\n", params.model_dir.string().c_str(), params.out_dir.string().c_str());
  std::printf("  %s, on %s\n", quant::describe(r.config).c_str(), r.device.c_str());
  std::printf("  model.safetensors %s; quantized projections at %.3f bits per weight (scales, zeros, g_idx included)\n",
              format_bytes(r.output_bytes).c_str(), r.bits_per_weight);
  std::printf("  mean relative output error of the projections %.3e\n", mean_error);
  std::printf("  %.1f s, peak RAM %s, peak VRAM %s\n", r.seconds, format_bytes(r.peak_ram_bytes).c_str(),
              r.device.rfind("cuda", 0) == 0 ? format_bytes(r.peak_vram_bytes).c_str() : "0 (CPU)");
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
