// Models from the Hugging Face Hub, over its public HTTP API, for people who never run huggingface-cli:
//
//   HubRepo repo{"HuggingFaceTB/SmolLM2-135M-Instruct"};        // revision "main", endpoint from HF_ENDPOINT
//   HubListing listing = list_hub_repo(repo, cancel);           // files, sizes, hashes, which ones LowBit takes
//   HubDownloadResult r = download_hub_repo(repo, "models/SmolLM2-135M-Instruct", events, cancel);
//
// The file list, sizes and hashes come from GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true; each
// file from GET {endpoint}/{repo}/resolve/{commit}/{path}, following redirects (to a CDN) by hand so that the token
// goes to the endpoint's own host and nowhere else. The commit the listing names pins every file, so a download
// resumed tomorrow gets the same files even if the branch moved.
//
// By default only what LowBit uses is fetched: config.json, generation_config.json, the safetensors weights (the
// shards model.safetensors.index.json names, when there is one) and its index, and the tokenizer files. Pickle
// files (.bin, .pt, .pth, .ckpt, .pkl) never: loading them can run code. `include` patterns ("*.gguf",
// "*Q4_K_M.gguf") choose other files instead.
//
// Everything goes into "<out>.partial" and is renamed to <out> when every file is there and checked: each LFS file
// against its SHA-256, each other file against its git blob id. A file whose hash differs is fetched again once.
// A stopped, killed or failed download resumes when run again with the same <out>: complete files are re-checked
// and kept, a partial file continues with an HTTP Range request. A connection that drops is retried (resuming) a
// few times before the download stops with a NetworkError that says to run it again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/jobs/job.h"

namespace lowbit::hub {

// HF_ENDPOINT without a trailing slash, else https://huggingface.co.
std::string default_hub_endpoint();
// HF_TOKEN, else the token `huggingface-cli login` saved ($HF_HOME/token, ~/.cache/huggingface/token); "" if none.
std::string default_hub_token();

struct HubRepo {
  std::string repo_id;                   // "owner/name"
  std::string revision = "main";         // a branch, tag or commit
  std::vector<std::string> include;      // glob patterns over the file paths; empty: the files LowBit uses
  std::string endpoint = default_hub_endpoint();
  std::string token = default_hub_token();  // sent as a Bearer token to the endpoint's host only; never logged
};

struct HubFile {
  std::string path;           // "model.safetensors", "onnx/model.onnx"
  int64_t size = 0;
  std::string sha256;         // LFS files: the SHA-256 of the content; "" for small files kept in git
  std::string git_blob_id;    // the git blob SHA-1 (of the LFS pointer, for LFS files)
  bool selected = false;      // downloaded
  std::string left_out_because;  // when not selected: "a pickle file (can run code when loaded)", "not used by LowBit"
};

struct HubListing {
  std::string repo_id;
  std::string revision;
  std::string commit;                // the commit the revision points at
  std::vector<HubFile> files;        // every file of the repo, in the Hub's order
  nlohmann::json config;             // the repo's config.json when it has one (fetched for the estimate), else null
  // Why the selection cannot be downloaded as it is (no safetensors, only pickles, only GGUF files without an
  // include pattern, nothing matching), and what to do; both "" when it can.
  std::string problem, remedy;
  int64_t selected_bytes() const;
  int64_t selected_files() const;
};

// Throws InputError for a malformed repo id, NetworkError for 401/403/404/429/5xx and a network that fails, with
// what to do. A selection LowBit cannot download is listed with its `problem` (download_hub_repo refuses it).
HubListing list_hub_repo(const HubRepo& repo, const jobs::CancelToken& cancel);

// "*.gguf", "model-0000?-of-*.safetensors": `*` any run of characters (slashes included), `?` any one character.
bool glob_matches(const std::string& pattern, const std::string& text);

struct HubDownloadResult {
  std::filesystem::path out_dir;
  std::string commit;
  int64_t files = 0;
  int64_t bytes_total = 0;    // the selected files' size
  int64_t bytes_fetched = 0;  // received over the network in this call (a refetched file counts twice)
  int64_t bytes_reused = 0;   // already in <out>.partial from an earlier, interrupted call
  int64_t files_refetched = 0;  // fetched again because their hash did not match
};

// out_dir must not exist (InputError otherwise). Progress: {"MiB", done, total, eta_s} as bytes arrive, metric
// "download/bytes_per_s"; log lines for a resume, a retry and a refetch. Cancel keeps "<out>.partial" for a resume.
HubDownloadResult download_hub_repo(const HubRepo& repo, const std::filesystem::path& out_dir, jobs::JobEvents& events,
                                    const jobs::CancelToken& cancel);

// download_hub_repo as a job: then artifact {"model", out_dir}.
class HubDownloadJob : public jobs::Job {
 public:
  HubDownloadJob(HubRepo repo, std::filesystem::path out_dir) : repo_(std::move(repo)), out_dir_(std::move(out_dir)) {}
  std::string title() const override { return "Download"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  const HubDownloadResult& result() const { return result_; }

 private:
  HubRepo repo_;
  std::filesystem::path out_dir_;
  HubDownloadResult result_;
};

}  // namespace lowbit::hub
