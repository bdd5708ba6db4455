// lowbit import: a GGUF file (what Ollama, LM Studio and llama.cpp users have) becomes a Hugging Face model folder.
#include <chrono>
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/model/gguf_import.h"
#include "core/model/model_summary.h"
#include "core/util/arg_parser.h"
#include "core/util/format.h"

namespace lowbit::cli {

int run_import(const std::vector<std::string>& arguments) {
  const ArgParser args("import", arguments, {{"--out", true}, {"--dtype", true}});
  model::GgufImportJob::Params params;
  params.gguf_path = args.positional(0, "FILE.gguf (a GGUF model file)");
  args.finish(1);
  params.out_dir = args.required("--out");
  params.options.dtype =
      args.choice("--dtype", "f16", {"f16", "f32"}) == "f32" ? model::GgufImportDtype::F32 : model::GgufImportDtype::F16;
  const auto started = std::chrono::steady_clock::now();
  CliEvents events;
  model::GgufImportJob job(params);
  job.run(events, interrupt_token());
  events.finish_line();
  const model::GgufImportResult& r = job.result();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("imported %s → %s in %.1f s\n", params.gguf_path.string().c_str(), params.out_dir.string().c_str(),
              seconds);
  std::printf("  %s (GGUF '%s'), %lld tensors, weights %s, model.safetensors %s\n", r.hf_architecture.c_str(),
              r.gguf_architecture.c_str(), static_cast<long long>(r.tensors_written), r.torch_dtype.c_str(),
              format_bytes(static_cast<int64_t>(r.safetensors_bytes)).c_str());
  if (!r.f32_fallback_tensors.empty()) {
    std::printf("  %zu tensor(s) kept as F32 because float16 cannot hold their values\n", r.f32_fallback_tensors.size());
  }
  if (!r.skipped_tensors.empty()) {
    std::printf("  left out (no Hugging Face counterpart):");
    for (const std::string& name : r.skipped_tensors) std::printf(" %s", name.c_str());
    std::printf("\n");
  }
  std::printf("  try: lowbit chat %s\n", params.out_dir.string().c_str());
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
