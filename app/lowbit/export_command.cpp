// lowbit export: a model and its adapters merged into one Hugging Face folder (core/export/hf_export.h).
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/export/hf_export.h"
#include "core/jobs/error_report.h"
#include "core/util/arg_parser.h"
#include "core/util/format.h"

namespace lowbit::cli {

int run_export(const std::vector<std::string>& arguments) {
  const ArgParser args("export", arguments,
                       {{"--adapters", true, true}, {"--to", true}, {"--out", true}, {"--dtype", true}});
  exporting::HfExportOptions options;
  options.model_dir = args.positional(0, "MODEL (a model folder, quantized or not)");
  args.finish(1);
  args.choice("--to", "hf", {"hf"});
  for (const std::string& adapter : args.values("--adapters")) options.adapters.emplace_back(adapter);
  options.out_dir = args.required("--out");
  options.dtype = args.choice("--dtype", "float16", {"float16", "float32"}) == "float32" ? exporting::ExportDtype::Float32
                                                                                         : exporting::ExportDtype::Float16;
  CliEvents events;
  exporting::HfExportJob job(options);
  job.run(events, interrupt_token());
  events.finish_line();
  const exporting::HfExportResult& r = job.result();
  std::printf("exported %s", options.model_dir.string().c_str());
  for (const auto& adapter : options.adapters) std::printf(" + %s", adapter.string().c_str());
  std::printf(" → %s\n  %lld tensors (%s), model.safetensors %s; %lld projections merged with adapters, %lld "
              "dequantized from GPTQ\n",
              options.out_dir.string().c_str(), static_cast<long long>(r.tensors),
              options.dtype == exporting::ExportDtype::Float16 ? "float16" : "float32",
              format_bytes(static_cast<int64_t>(r.safetensors_bytes)).c_str(), static_cast<long long>(r.merged_projections),
              static_cast<long long>(r.dequantized_projections));
  std::printf("  loads with transformers: AutoModelForCausalLM.from_pretrained(\"%s\")\n", options.out_dir.string().c_str());
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
