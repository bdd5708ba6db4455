// lowbit export: a model and its adapters merged into one Hugging Face folder (core/export/hf_export.h) or one
// GGUF file with an Ollama Modelfile (core/export/gguf_export.h).
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/export/gguf_export.h"
#include "core/export/hf_export.h"
#include "core/jobs/error_report.h"
#include "core/util/arg_parser.h"
#include "core/util/errors.h"
#include "core/util/format.h"

namespace lowbit::cli {
namespace {

void print_sources(const std::filesystem::path& model, const std::vector<std::filesystem::path>& adapters,
                   const std::filesystem::path& out) {
  std::printf("exported %s", model.string().c_str());
  for (const auto& adapter : adapters) std::printf(" + %s", adapter.string().c_str());
  std::printf(" → %s\n", out.string().c_str());
}

}  // namespace

int run_export(const std::vector<std::string>& arguments) {
  const ArgParser args("export", arguments, {{"--adapters", true, true}, {"--to", true}, {"--out", true},
                                             {"--dtype", true}, {"--type", true}});
  const std::filesystem::path model = args.positional(0, "MODEL (a model folder, quantized or not)");
  args.finish(1);
  std::vector<std::filesystem::path> adapters;
  for (const std::string& adapter : args.values("--adapters")) adapters.emplace_back(adapter);
  const std::filesystem::path out = args.required("--out");
  const std::string to = args.choice("--to", "hf", {"hf", "gguf"});
  if (to == "gguf" && args.value("--dtype")) throw UsageError("export: --dtype is for --to hf; a GGUF takes --type f16|q8_0|q4_0");
  if (to == "hf" && args.value("--type")) throw UsageError("export: --type is for --to gguf; a Hugging Face folder takes --dtype float16|float32");
  CliEvents events;
  if (to == "gguf") {
    const std::string type = args.choice("--type", "q8_0", {"f16", "q8_0", "q4_0"});
    exporting::GgufExportOptions options{model, adapters, out,
                                         type == "f16"    ? exporting::GgufExportType::F16
                                         : type == "q8_0" ? exporting::GgufExportType::Q8_0
                                                          : exporting::GgufExportType::Q4_0};
    exporting::GgufExportJob job(options);
    job.run(events, interrupt_token());
    events.finish_line();
    const exporting::GgufExportResult& r = job.result();
    print_sources(model, adapters, out);
    std::printf("  %s: %lld tensors, %s, %s; tokenizer %s", r.gguf_file.filename().string().c_str(),
                static_cast<long long>(r.tensors), exporting::gguf_export_type_name(options.type),
                format_bytes(static_cast<int64_t>(r.gguf_bytes)).c_str(), r.tokenizer.c_str());
    if (r.f16_fallback_tensors > 0) {
      std::printf("; %lld matrices kept F16 (rows not in 32-number blocks)", static_cast<long long>(r.f16_fallback_tensors));
    }
    std::printf("\n  Modelfile%s beside it: ollama create NAME -f %s\n",
                r.ollama_template ? " (with the chat template)" : "", r.modelfile.string().c_str());
    if (options.type != exporting::GgufExportType::F16) {
      std::printf("  note: %s rounds the merged weights again (a GPTQ model was dequantized first)\n",
                  exporting::gguf_export_type_name(options.type));
    }
    return jobs::kExitOk;
  }
  exporting::HfExportOptions options;
  options.model_dir = model;
  options.adapters = adapters;
  options.out_dir = out;
  options.dtype = args.choice("--dtype", "float16", {"float16", "float32"}) == "float32" ? exporting::ExportDtype::Float32
                                                                                         : exporting::ExportDtype::Float16;
  exporting::HfExportJob job(options);
  job.run(events, interrupt_token());
  events.finish_line();
  const exporting::HfExportResult& r = job.result();
  print_sources(model, adapters, out);
  std::printf("  %lld tensors (%s), model.safetensors %s; %lld projections merged with adapters, %lld "
              "dequantized from GPTQ\n",
              static_cast<long long>(r.tensors), options.dtype == exporting::ExportDtype::Float16 ? "float16" : "float32",
              format_bytes(static_cast<int64_t>(r.safetensors_bytes)).c_str(), static_cast<long long>(r.merged_projections),
              static_cast<long long>(r.dequantized_projections));
  std::printf("  loads with transformers: AutoModelForCausalLM.from_pretrained(\"%s\")\n", out.string().c_str());
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
