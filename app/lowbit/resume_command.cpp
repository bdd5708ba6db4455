// lowbit resume: continue a stopped or crashed LREC/EMEF run from its folder alone (its config.json).
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/train/resume_run.h"
#include "core/util/arg_parser.h"

namespace lowbit::cli {

int run_resume(const std::vector<std::string>& arguments) {
  const ArgParser args("resume", arguments, {{"--device", true}});
  const std::filesystem::path run_dir = args.positional(0, "RUN_DIR (the folder of a stopped LREC or EMEF run)");
  args.finish(1);
  train::ResumeRunJob job(run_dir, args.value("--device").value_or("auto"));
  CliEvents events;
  job.run(events, interrupt_token());
  events.finish_line();
  std::printf("finished the run in %s: adapter in %s (metrics in %s)\n", run_dir.string().c_str(),
              (run_dir / "adapter").string().c_str(), (run_dir / "metrics.jsonl").string().c_str());
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
