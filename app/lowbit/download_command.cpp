// lowbit download: a model from the Hugging Face Hub (core/hub/hub_download.h), resumable, every file checked.
#include <cstdio>

#include "cli_events.h"
#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/util/arg_parser.h"
#include "core/util/errors.h"
#include "core/util/format.h"

#ifdef LOWBIT_HAVE_HUB
#include "core/hub/hub_download.h"
#include "core/library/model_library.h"
#endif

namespace lowbit::cli {

#ifdef LOWBIT_HAVE_HUB
namespace {

// Whether the model will run on this GPU, from its config.json alone (nothing downloaded yet).
void print_fit(const hub::HubListing& listing) {
  if (listing.config.is_null()) return;
  try {
    const library::GpuMemory gpu = library::first_gpu_memory();
    const auto tasks = library::estimate_tasks(listing.config, listing.repo_id + "/config.json", gpu.free_bytes);
    std::printf("on this machine (%s):\n", gpu.described.c_str());
    for (const library::TaskFit& task : tasks) {
      std::printf("  %-18s %10s  %s\n", task.task.c_str(), format_bytes(task.needed_bytes).c_str(),
                  train::fit_name(task.fit));
    }
  } catch (const InputError& e) {
    std::printf("LowBit cannot run this model: %s\n", e.what());
  }
}

void print_listing(const hub::HubListing& listing) {
  std::printf("%s at %s (commit %s)\n", listing.repo_id.c_str(), listing.revision.c_str(), listing.commit.c_str());
  for (const hub::HubFile& file : listing.files) {
    std::printf("  %s %10s  %s%s\n", file.selected ? "+" : " ", format_bytes(file.size).c_str(), file.path.c_str(),
                file.selected ? "" : ("  (" + file.left_out_because + ")").c_str());
  }
  std::printf("%lld files to download (+), %s\n", static_cast<long long>(listing.selected_files()),
              format_bytes(listing.selected_bytes()).c_str());
  if (!listing.problem.empty()) std::printf("cannot download as it is: %s (%s)\n", listing.problem.c_str(), listing.remedy.c_str());
  print_fit(listing);
}

}  // namespace
#endif

int run_download(const std::vector<std::string>& arguments) {
  const ArgParser args("download", arguments,
                       {{"--revision", true}, {"--include", true, true}, {"--out", true}, {"--list", false}});
#ifdef LOWBIT_HAVE_HUB
  hub::HubRepo repo;
  repo.repo_id = args.positional(0, "REPO_ID (owner/name, as on huggingface.co)");
  args.finish(1);
  repo.revision = args.value("--revision").value_or("main");
  repo.include = args.values("--include");
  if (args.flag("--list")) {
    print_listing(hub::list_hub_repo(repo, interrupt_token()));
    return jobs::kExitOk;
  }
  const std::string name = repo.repo_id.substr(repo.repo_id.rfind('/') + 1);
  const std::filesystem::path out = args.value("--out").value_or(name);
  CliEvents events;
  hub::HubDownloadJob job(repo, out);
  job.run(events, interrupt_token());
  events.finish_line();
  const hub::HubDownloadResult& r = job.result();
  std::printf("downloaded %s (commit %s) → %s: %lld files, %s; fetched %s", repo.repo_id.c_str(),
              r.commit.substr(0, 12).c_str(), out.string().c_str(), static_cast<long long>(r.files),
              format_bytes(r.bytes_total).c_str(), format_bytes(r.bytes_fetched).c_str());
  if (r.bytes_reused > 0) std::printf(", %s already there from the interrupted download", format_bytes(r.bytes_reused).c_str());
  if (r.files_refetched > 0) std::printf(", %lld file(s) fetched again after a hash mismatch", static_cast<long long>(r.files_refetched));
  std::printf("; every file matches the Hub's hash\n  try: lowbit info %s\n", out.string().c_str());
  return jobs::kExitOk;
#else
  (void)args;
  throw ResourceError("this build of LowBit has no Hugging Face download (it was built without libcurl); use a build "
                      "from the installer, or install libcurl4-openssl-dev and build again");
#endif
}

}  // namespace lowbit::cli
