#include "core/hub/hub_download.h"
#include "core/util/json_limits.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "core/hub/http_get.h"
#include "core/train/metric_names.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"
#include "core/util/format.h"
#include "core/util/sha.h"

namespace lowbit::hub {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kMaxRedirects = 10;
constexpr int kAttemptsPerFile = 5;           // connections per file before giving up (each resumes)
constexpr size_t kMaxSmallFileBytes = 64 << 20;  // the listing, config.json, the index: JSON held in memory
constexpr const char* kManifestName = ".lowbit-download.json";
constexpr const char* kIncompleteSuffix = ".incomplete";

std::string getenv_string(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string trim(std::string text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  const size_t last = text.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? "" : text.substr(first, last - first + 1);
}

std::string percent_encode(const std::string& text, bool keep_slashes) {
  static const char* const digits = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slashes && c == '/')) {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += digits[c >> 4];
      encoded += digits[c & 0xf];
    }
  }
  return encoded;
}

void check_repo_id(const std::string& repo_id) {
  const auto valid_part = [](const std::string& part) {
    if (part.empty() || part.size() > 96 || part == "." || part == "..") return false;
    if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.') return false;
    return std::all_of(part.begin(), part.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
  };
  const size_t slash = repo_id.find('/');
  const bool valid = slash == std::string::npos
                         ? valid_part(repo_id)
                         : valid_part(repo_id.substr(0, slash)) && valid_part(repo_id.substr(slash + 1));
  if (!valid) {
    throw InputError("", "'" + repo_id + "' is not a Hugging Face repository id",
                     "give it as owner/name, as in the address huggingface.co/owner/name, e.g. "
                     "HuggingFaceTB/SmolLM2-135M-Instruct");
  }
}

// A path from the listing becomes a file inside the download folder: a hostile server must not reach outside it.
void check_file_path(const std::string& path) {
  const bool bad = path.empty() || path.front() == '/' || path.find('\\') != std::string::npos ||
                   path.find(':') != std::string::npos || path.find('\0') != std::string::npos;
  bool bad_part = false;
  size_t start = 0;
  while (!bad && start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") bad_part = true;
    start = end + 1;
  }
  if (bad || bad_part) {
    throw InputError("", "the Hub's file list names '" + path + "', which is not a path inside a folder",
                     "this repository cannot be downloaded safely; report it to its owner");
  }
}

std::string extension_of(const std::string& path) {
  const std::string name = path.substr(path.rfind('/') + 1);
  const size_t dot = name.rfind('.');
  std::string extension = dot == std::string::npos ? "" : name.substr(dot);
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

bool is_pickle(const std::string& path) {
  static const std::set<std::string> pickles = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"};
  return pickles.count(extension_of(path)) > 0;
}

bool is_top_level(const std::string& path) { return path.find('/') == std::string::npos; }

const std::set<std::string>& files_lowbit_reads() {
  static const std::set<std::string> names = {"config.json",          "generation_config.json",  "tokenizer.json",
                                              "tokenizer.model",      "tokenizer_config.json",   "special_tokens_map.json",
                                              "added_tokens.json",    "chat_template.jinja",     "chat_template.json",
                                              "model.safetensors.index.json"};
  return names;
}

// Where a request may carry the token: the endpoint's own host, nowhere a redirect leads.
class HubConnection {
 public:
  HubConnection(const HubRepo& repo, const jobs::CancelToken& cancel)
      : repo_(repo), hub_authority_(url_authority(repo.endpoint)), cancel_(cancel) {}

  // GET, following redirects; the reply of the last hop. Statuses are left to the caller.
  HttpReply get(const std::string& url, std::vector<std::string> headers,
                const std::function<void(long, const char*, size_t)>& sink, std::string* error_body) {
    std::string current = url;
    for (int hop = 0; hop <= kMaxRedirects; ++hop) {
      std::vector<std::string> sent = headers;
      if (!repo_.token.empty() && url_authority(current) == hub_authority_) {
        sent.push_back("Authorization: Bearer " + repo_.token);
      }
      if (error_body != nullptr) error_body->clear();
      HttpReply reply = http_get(current, sent, sink, cancel_, error_body);
      const bool redirect = reply.status == 301 || reply.status == 302 || reply.status == 303 || reply.status == 307 ||
                            reply.status == 308;
      const auto location = reply.headers.find("location");
      if (!redirect || location == reply.headers.end() || reply.transfer_failed) return reply;
      current = resolve_location(current, location->second);
    }
    throw NetworkError(url + ": more than " + std::to_string(kMaxRedirects) +
                       " redirects (a proxy or mirror loops; check HF_ENDPOINT and the proxy settings)");
  }

  // A small file or API answer, whole; errors explained.
  std::string get_text(const std::string& url, const std::string& what) {
    for (int attempt = 1;; ++attempt) {
      std::string body, error_body;
      const HttpReply reply = get(url, {}, [&](long, const char* data, size_t size) {
        if (body.size() + size > kMaxSmallFileBytes) {
          throw NetworkError(url + ": the answer is larger than " + format_bytes(kMaxSmallFileBytes) +
                             ", more than " + what + " can be (check HF_ENDPOINT)");
        }
        body.append(data, size);
      }, &error_body);
      if (!reply.transfer_failed && reply.status >= 200 && reply.status < 300) return body;
      if (!retryable(reply) || attempt == kAttemptsPerFile) fail(reply, error_body, what);
      wait_before_retry(attempt);
    }
  }

  static bool retryable(const HttpReply& reply) {
    return reply.transfer_failed || reply.status >= 500 || reply.status == 0;
  }

  void wait_before_retry(int attempt) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(std::min(1 << (attempt - 1), 8));
    while (std::chrono::steady_clock::now() < until) {
      cancel_.throw_if_cancelled();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Turns a reply that is not a success into the error a person can act on.
  [[noreturn]] void fail(const HttpReply& reply, const std::string& error_body, const std::string& what) const {
    const auto header = [&](const char* name) {
      const auto found = reply.headers.find(name);
      return found == reply.headers.end() ? std::string() : found->second;
    };
    std::string reason = header("x-error-message");
    if (reason.empty()) {
      const json parsed = util::parse_json_or_none(error_body, util::kServerJsonLimits).value_or(nullptr);
      if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) reason = parsed["error"];
    }
    const std::string code = header("x-error-code");
    const std::string page = repo_.endpoint + "/" + repo_.repo_id;
    const std::string quoted = reason.empty() ? "" : " (the Hub says: " + reason + ")";
    const std::string subject = repo_.repo_id + ": " + what;
    if (reply.transfer_failed) {
      throw NetworkError(subject + ": the network failed (" + reply.failure +
                         "); check the connection or the proxy (https_proxy), then run the same download again: "
                         "it resumes where it stopped");
    }
    const bool gated = code == "GatedRepo" || reason.find("gated") != std::string::npos;
    if (reply.status == 401 && gated) {
      throw NetworkError(subject + ": the model is gated" + quoted + ": accept its licence on " + page +
                         ", then add a Hugging Face token (the app's Settings, or HF_TOKEN) and try again");
    }
    if (reply.status == 403) {
      throw NetworkError(subject + ": access denied (403)" + quoted + ": accept the licence on " + page +
                         " with the account the token belongs to (some models wait for approval), or use a token "
                         "with read access");
    }
    if (reply.status == 401 || (reply.status == 404 && code != "EntryNotFound" && code != "RevisionNotFound")) {
      throw NetworkError(subject + ": no such repository (" + std::to_string(reply.status) + ")" + quoted +
                         ": check the id on " + repo_.endpoint + (repo_.token.empty()
                                                                      ? "; a private repository also needs a token"
                                                                      : ""));
    }
    if (reply.status == 404 && code == "RevisionNotFound") {
      throw NetworkError(subject + ": the repository has no revision '" + repo_.revision + "'" + quoted +
                         ": give a branch, tag or commit it has (main is the default)");
    }
    if (reply.status == 404) {
      throw NetworkError(subject + ": not found (404)" + quoted + ": the file may have been removed; list the files again");
    }
    if (reply.status == 429) {
      throw NetworkError(subject + ": the Hub is limiting requests (429)" + quoted +
                         ": wait a few minutes, then run the same download again (it resumes)");
    }
    if (reply.status >= 500) {
      throw NetworkError(subject + ": the server failed (" + std::to_string(reply.status) + ")" + quoted +
                         ": try again later (the download resumes)");
    }
    throw NetworkError(subject + ": unexpected HTTP status " + std::to_string(reply.status) + quoted);
  }

  std::string file_url(const std::string& commit, const std::string& path) const {
    return repo_.endpoint + "/" + repo_.repo_id + "/resolve/" + commit + "/" + percent_encode(path, true);
  }

 private:
  const HubRepo& repo_;
  std::string hub_authority_;
  const jobs::CancelToken& cancel_;
};

HubFile hub_file_from(const json& sibling) {
  if (!sibling.is_object() || !sibling.contains("rfilename") || !sibling["rfilename"].is_string()) {
    throw NetworkError("the Hub's file list has an entry without a name (check HF_ENDPOINT)");
  }
  HubFile file;
  file.path = sibling["rfilename"].get<std::string>();
  check_file_path(file.path);
  if (sibling.contains("size") && sibling["size"].is_number_integer()) file.size = sibling["size"].get<int64_t>();
  if (sibling.contains("blobId") && sibling["blobId"].is_string()) file.git_blob_id = sibling["blobId"];
  const auto lfs = sibling.find("lfs");
  if (lfs != sibling.end() && lfs->is_object()) {
    if (lfs->contains("sha256") && (*lfs)["sha256"].is_string()) file.sha256 = (*lfs)["sha256"];
    if (lfs->contains("size") && (*lfs)["size"].is_number_integer()) file.size = (*lfs)["size"].get<int64_t>();
  }
  if (file.size < 0) throw NetworkError("the Hub's file list gives '" + file.path + "' a negative size");
  return file;
}

// The default choice: what LowBit reads, pickles never; the weights the index names when there is an index.
void select_files(HubListing& listing, const std::vector<std::string>& include, const json& index) {
  std::set<std::string> indexed_shards;
  if (index.is_object() && index.contains("weight_map") && index["weight_map"].is_object()) {
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      if (shard.is_string()) indexed_shards.insert(shard.get<std::string>());
    }
  }
  for (HubFile& file : listing.files) {
    if (is_pickle(file.path)) {
      file.left_out_because = "a pickle file (loading it can run code)";
    } else if (!include.empty()) {
      const bool matched = std::any_of(include.begin(), include.end(),
                                       [&](const std::string& pattern) { return glob_matches(pattern, file.path); });
      if (!matched) file.left_out_because = "matches no --include pattern";
    } else if (!is_top_level(file.path)) {
      file.left_out_because = "in a subfolder (not used by LowBit)";
    } else if (extension_of(file.path) == ".safetensors") {
      if (!indexed_shards.empty() && indexed_shards.count(file.path) == 0) {
        file.left_out_because = "weights the index does not name (a duplicate layout)";
      }
    } else if (files_lowbit_reads().count(file.path) == 0) {
      file.left_out_because = "not used by LowBit";
    }
    file.selected = file.left_out_because.empty();
  }
}

void check_selection(HubListing& listing, const std::vector<std::string>& include) {
  const auto refuse = [&](std::string problem, std::string remedy) {
    listing.problem = std::move(problem);
    listing.remedy = std::move(remedy);
  };
  const auto has = [&](const std::function<bool(const HubFile&)>& test) {
    return std::any_of(listing.files.begin(), listing.files.end(), test);
  };
  if (!include.empty()) {
    if (listing.selected_files() == 0) {
      std::string patterns;
      for (const std::string& pattern : include) patterns += (patterns.empty() ? "" : ", ") + pattern;
      refuse(listing.repo_id + " has no file matching " + patterns + " that LowBit may download",
             "list its files with `lowbit download " + listing.repo_id + " --list`");
    }
    return;
  }
  if (has([](const HubFile& f) { return f.selected && extension_of(f.path) == ".safetensors"; })) return;
  if (has([](const HubFile& f) { return extension_of(f.path) == ".gguf"; })) {
    std::string example;
    for (const HubFile& f : listing.files) {
      if (extension_of(f.path) == ".gguf" && (example.empty() || f.path.find("Q4_K_M") != std::string::npos)) example = f.path;
    }
    return refuse(listing.repo_id + " holds GGUF files, not a Hugging Face model folder",
                  "choose one with --include, e.g. --include \"" + example + "\" (in the app: tick it), then "
                  "`lowbit import` it");
  }
  if (has([](const HubFile& f) { return is_pickle(f.path); })) {
    return refuse(listing.repo_id + " has its weights only as pickle files (.bin/.pt)",
                  "LowBit never loads those, because loading them can run code; look for a safetensors version of "
                  "the model (or a GGUF one to import)");
  }
  refuse(listing.repo_id + " has no safetensors weights", "it is not a model LowBit can load; check the repository id");
}

json manifest_of(const HubRepo& repo, const HubListing& listing) {
  json files = json::array();
  for (const HubFile& file : listing.files) {
    if (!file.selected) continue;
    files.push_back({{"path", file.path}, {"size", file.size}, {"sha256", file.sha256}, {"git_blob_id", file.git_blob_id}});
  }
  return {{"repo_id", repo.repo_id}, {"revision", listing.revision}, {"commit", listing.commit},
          {"include", repo.include}, {"files", files}};
}

std::vector<HubFile> files_of_manifest(const json& manifest, const fs::path& file) {
  std::vector<HubFile> files;
  try {
    for (const json& entry : manifest.at("files")) {
      HubFile hub_file;
      hub_file.path = entry.at("path").get<std::string>();
      check_file_path(hub_file.path);
      hub_file.size = entry.at("size").get<int64_t>();
      hub_file.sha256 = entry.at("sha256").get<std::string>();
      hub_file.git_blob_id = entry.at("git_blob_id").get<std::string>();
      hub_file.selected = true;
      files.push_back(std::move(hub_file));
    }
  } catch (const json::exception& e) {
    throw InputError(file.string(), std::string("is not a download's file list (") + e.what() + ")",
                     "delete the .partial folder and start the download again");
  }
  return files;
}

// Bytes, speed and ETA as the files arrive, at most ten events a second.
class DownloadProgress {
 public:
  DownloadProgress(jobs::JobEvents& events, int64_t total) : events_(events), total_(total) {}

  void add(int64_t bytes) {
    done_ += bytes;
    report(false);
  }
  void set_done(int64_t done) {
    done_ = done;
    report(false);
  }
  int64_t done() const { return done_; }
  void finish() { report(true); }

 private:
  void report(bool force) {
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (!force && since < 0.1) return;
    if (since > 0 && done_ >= last_done_) {
      const double rate = static_cast<double>(done_ - last_done_) / since;
      speed_ = speed_ < 0 ? rate : 0.8 * speed_ + 0.2 * rate;
    }
    last_ = now;
    last_done_ = done_;
    const bool mib = total_ >= (int64_t{64} << 20);
    const int shift = mib ? 20 : 10;
    const double eta = speed_ > 0 ? static_cast<double>(total_ - done_) / speed_ : -1;
    events_.metric({train::metrics::kDownloadSpeed, 0, std::max(0.0, speed_)});
    events_.progress({mib ? "MiB" : "KiB", done_ >> shift, std::max<int64_t>(1, total_ >> shift), eta});
  }

  jobs::JobEvents& events_;
  int64_t total_;
  int64_t done_ = 0;
  int64_t last_done_ = 0;
  double speed_ = -1;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

bool matches_hub_hash(const fs::path& file, const HubFile& hub_file) {
  if (!hub_file.sha256.empty()) return file_sha256(file) == hub_file.sha256;
  if (!hub_file.git_blob_id.empty()) return file_git_blob_sha1(file) == hub_file.git_blob_id;
  return true;  // the listing gave no hash: the size is all there is to check
}

std::string hash_name(const HubFile& file) { return file.sha256.empty() ? "git blob id" : "SHA-256"; }

// Appends to a file, reporting a full disk as what it is.
class AppendFile {
 public:
  AppendFile(const fs::path& path, bool truncate) : path_(path) {
    file_ = std::fopen(path.string().c_str(), truncate ? "wb" : "ab");
    if (file_ == nullptr) {
      throw ResourceError("cannot write " + path.string() + ": " + std::strerror(errno) +
                          " (check that the folder is writable)");
    }
  }
  ~AppendFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  void write(const char* data, size_t size) {
    if (std::fwrite(data, 1, size, file_) != size || std::fflush(file_) != 0) {
      const std::string reason = std::strerror(errno);
      throw ResourceError("writing " + path_.string() + ": " + reason +
                          " (free some space, then run the same download again: it resumes)");
    }
  }
  void close() {
    const int result = std::fclose(file_);
    file_ = nullptr;
    if (result != 0) {
      throw ResourceError("writing " + path_.string() + ": " + std::strerror(errno) +
                          " (free some space, then run the same download again: it resumes)");
    }
  }

 private:
  fs::path path_;
  std::FILE* file_ = nullptr;
};

struct FileOutcome {
  int64_t fetched = 0;
  bool refetched = false;
};

// One file into partial/, resuming what an earlier call left; the progress counts the bytes on disk.
FileOutcome fetch_file(HubConnection& hub, const std::string& commit, const HubFile& file, const fs::path& partial,
                       DownloadProgress& progress, jobs::JobEvents& events) {
  FileOutcome outcome;
  const fs::path target = partial / fs::u8path(file.path);
  const fs::path incomplete = target.string() + kIncompleteSuffix;
  fs::create_directories(target.parent_path());
  for (int pass = 0; pass < 2; ++pass) {
    int64_t on_disk = fs::exists(incomplete) ? static_cast<int64_t>(fs::file_size(incomplete)) : 0;
    if (on_disk > file.size) {
      fs::remove(incomplete);
      progress.set_done(progress.done() - on_disk);
      on_disk = 0;
    }
    for (int attempt = 1; on_disk < file.size || file.size == 0; ++attempt) {
      std::vector<std::string> headers;
      if (on_disk > 0) headers.push_back("Range: bytes=" + std::to_string(on_disk) + "-");
      std::unique_ptr<AppendFile> out;
      int64_t received = 0;
      std::string error_body;
      const HttpReply reply = hub.get(hub.file_url(commit, file.path), headers, [&](long status, const char* data, size_t size) {
        if (!out) {
          if (status == 200 && on_disk > 0) {  // the server ignored the Range: the whole file comes again
            progress.set_done(progress.done() - on_disk);
            on_disk = 0;
          }
          out = std::make_unique<AppendFile>(incomplete, /*truncate=*/on_disk == 0);
        }
        out->write(data, size);
        received += static_cast<int64_t>(size);
        outcome.fetched += static_cast<int64_t>(size);
        progress.add(static_cast<int64_t>(size));
      }, &error_body);
      if (out) out->close();
      on_disk += received;
      if (reply.status == 416 && on_disk == file.size) break;
      if (!reply.transfer_failed && reply.status >= 200 && reply.status < 300) {
        if (!out) AppendFile(incomplete, /*truncate=*/on_disk == 0).close();  // an empty file
        if (on_disk == file.size) break;
        if (on_disk > file.size || reply.status != 206 || received == 0) {
          throw NetworkError(file.path + ": the server sent " + format_bytes(on_disk) + " where the Hub lists " +
                             format_bytes(file.size) + " (check HF_ENDPOINT or the proxy)");
        }
      }
      if (!HubConnection::retryable(reply) && !(reply.status >= 200 && reply.status < 300)) {
        hub.fail(reply, error_body, file.path);
      }
      if (attempt == kAttemptsPerFile) hub.fail(reply, error_body, file.path);
      events.log({jobs::LogLevel::Warning, file.path + ": the connection dropped after " + format_bytes(on_disk) +
                                               " of " + format_bytes(file.size) +
                                               (reply.failure.empty() ? "" : " (" + reply.failure + ")") +
                                               "; resuming (attempt " + std::to_string(attempt + 1) + " of " +
                                               std::to_string(kAttemptsPerFile) + ")"});
      hub.wait_before_retry(attempt);
    }
    if (matches_hub_hash(incomplete, file)) {
      fs::rename(incomplete, target);
      return outcome;
    }
    fs::remove(incomplete);
    progress.set_done(progress.done() - file.size);
    outcome.refetched = true;
    events.log({jobs::LogLevel::Warning, file.path + ": its " + hash_name(file) +
                                             " does not match the Hub's; fetching it again"});
  }
  throw NetworkError(file.path + ": arrived twice with content whose " + hash_name(file) +
                     " differs from the Hub's; a proxy or mirror may be altering it (check HF_ENDPOINT and the "
                     "proxy settings)");
}

int64_t bytes_already_there(const fs::path& partial, const HubFile& file) {
  const fs::path target = partial / fs::u8path(file.path);
  const fs::path incomplete = target.string() + kIncompleteSuffix;
  if (fs::exists(target)) return static_cast<int64_t>(fs::file_size(target));
  if (fs::exists(incomplete)) return std::min<int64_t>(static_cast<int64_t>(fs::file_size(incomplete)), file.size);
  return 0;
}

}  // namespace

std::string default_hub_endpoint() {
  std::string endpoint = trim(getenv_string("HF_ENDPOINT"));
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint.empty() ? "https://huggingface.co" : endpoint;
}

std::string default_hub_token() {
  const std::string from_environment = trim(getenv_string("HF_TOKEN"));
  if (!from_environment.empty()) return from_environment;
  std::vector<fs::path> saved;
  if (!getenv_string("HF_HOME").empty()) saved.push_back(fs::path(getenv_string("HF_HOME")) / "token");
  const std::string home = getenv_string("HOME").empty() ? getenv_string("USERPROFILE") : getenv_string("HOME");
  if (!home.empty()) saved.push_back(fs::path(home) / ".cache" / "huggingface" / "token");
  for (const fs::path& file : saved) {
    std::ifstream in(file);
    std::string token;
    if (in && std::getline(in, token) && !trim(token).empty()) return trim(token);
  }
  return "";
}

int64_t HubListing::selected_bytes() const {
  int64_t bytes = 0;
  for (const HubFile& file : files) bytes += file.selected ? file.size : 0;
  return bytes;
}

int64_t HubListing::selected_files() const {
  return std::count_if(files.begin(), files.end(), [](const HubFile& file) { return file.selected; });
}

bool glob_matches(const std::string& pattern, const std::string& text) {
  size_t p = 0, t = 0, star = std::string::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

HubListing list_hub_repo(const HubRepo& repo, const jobs::CancelToken& cancel) {
  check_repo_id(repo.repo_id);
  if (repo.revision.empty()) throw InputError("", "the revision is empty", "give a branch, tag or commit (main by default)");
  HubConnection hub(repo, cancel);
  const std::string url = repo.endpoint + "/api/models/" + repo.repo_id + "/revision/" +
                          percent_encode(repo.revision, false) + "?blobs=true";
  const json info = util::parse_json_or_none(hub.get_text(url, "the file list"), util::kServerJsonLimits).value_or(nullptr);
  if (!info.is_object() || !info.contains("siblings") || !info["siblings"].is_array()) {
    throw NetworkError(repo.repo_id + ": the Hub's answer is not a file list (" + url + "; check HF_ENDPOINT)");
  }
  HubListing listing;
  listing.repo_id = repo.repo_id;
  listing.revision = repo.revision;
  listing.commit = info.value("sha", std::string());
  if (listing.commit.empty() || !std::all_of(listing.commit.begin(), listing.commit.end(), [](unsigned char c) { return std::isxdigit(c); })) {
    throw NetworkError(repo.repo_id + ": the Hub's answer names no commit (" + url + "; check HF_ENDPOINT)");
  }
  for (const json& sibling : info["siblings"]) listing.files.push_back(hub_file_from(sibling));

  const auto has_file = [&](const std::string& path) {
    return std::any_of(listing.files.begin(), listing.files.end(), [&](const HubFile& f) { return f.path == path; });
  };
  const auto small_json = [&](const std::string& path) {
    return util::parse_json_or_none(hub.get_text(hub.file_url(listing.commit, path), path), util::kConfigJsonLimits)
        .value_or(json());
  };
  if (has_file("config.json")) listing.config = small_json("config.json");
  const json index = has_file("model.safetensors.index.json") ? small_json("model.safetensors.index.json") : json();
  select_files(listing, repo.include, index);
  check_selection(listing, repo.include);
  return listing;
}

HubDownloadResult download_hub_repo(const HubRepo& repo, const fs::path& out_dir, jobs::JobEvents& events,
                                    const jobs::CancelToken& cancel) {
  check_repo_id(repo.repo_id);
  if (fs::exists(out_dir)) {
    throw InputError(out_dir.string(), "already exists", "choose another folder with --out, or delete this one");
  }
  const fs::path partial = out_dir.string() + ".partial";
  const fs::path manifest_file = partial / kManifestName;
  HubConnection hub(repo, cancel);
  HubDownloadResult result;
  result.out_dir = out_dir;
  std::vector<HubFile> files;
  if (fs::exists(manifest_file)) {
    const json manifest = util::read_json_file_or_none(manifest_file, util::kConfigJsonLimits).value_or(nullptr);
    if (!manifest.is_object() || manifest.value("repo_id", std::string()) != repo.repo_id) {
      throw InputError(partial.string(), "holds an unfinished download of another repository (" +
                                             (manifest.is_object() ? manifest.value("repo_id", std::string("?")) : "?") + ")",
                       "finish that one, delete the folder, or choose another --out");
    }
    result.commit = manifest.value("commit", std::string());
    files = files_of_manifest(manifest, manifest_file);
    events.log({jobs::LogLevel::Info, "resuming the download of " + repo.repo_id + " (commit " +
                                          result.commit.substr(0, 12) + ") in " + partial.string()});
    const json first_include = manifest.value("include", json::array());
    if (first_include != json(repo.include)) {
      events.log({jobs::LogLevel::Warning, "this download keeps the file choice it started with (--include " +
                                               first_include.dump() + "); delete " + partial.string() +
                                               " to choose again"});
    }
  } else {
    if (fs::exists(partial) && !fs::is_empty(partial)) {
      throw InputError(partial.string(), "exists and is not an unfinished download", "delete it or choose another --out");
    }
    events.log({jobs::LogLevel::Info, "listing the files of " + repo.repo_id + " at " + repo.revision});
    HubListing listing = list_hub_repo(repo, cancel);
    if (!listing.problem.empty()) throw InputError("", listing.problem, listing.remedy);
    result.commit = listing.commit;
    fs::create_directories(partial);
    write_text_file_atomically(manifest_file, manifest_of(repo, listing).dump(2));
    for (const HubFile& file : listing.files) {
      if (file.selected) files.push_back(file);
    }
  }

  int64_t on_disk = 0;
  for (const HubFile& file : files) {
    result.bytes_total += file.size;
    on_disk += bytes_already_there(partial, file);
  }
  const int64_t needed = result.bytes_total - on_disk;
  const fs::space_info space = fs::space(partial);
  if (static_cast<int64_t>(space.available) < needed) {
    throw ResourceError("downloading " + repo.repo_id + " needs " + format_bytes(needed) + " more on the disk of " +
                        partial.string() + ", which has " + format_bytes(static_cast<int64_t>(space.available)) +
                        " free (free some space or choose another --out; what is already there is kept)");
  }
  events.log({jobs::LogLevel::Info, std::to_string(files.size()) + " files, " + format_bytes(result.bytes_total) +
                                        (on_disk > 0 ? " (" + format_bytes(on_disk) + " already here)" : "")});

  DownloadProgress progress(events, result.bytes_total);
  progress.set_done(on_disk);
  for (const HubFile& file : files) {
    cancel.throw_if_cancelled();
    const fs::path target = partial / fs::u8path(file.path);
    if (fs::exists(target)) {
      if (static_cast<int64_t>(fs::file_size(target)) == file.size && matches_hub_hash(target, file)) {
        result.bytes_reused += file.size;
        continue;
      }
      progress.set_done(progress.done() - static_cast<int64_t>(fs::file_size(target)));
      fs::remove(target);
      events.log({jobs::LogLevel::Warning, file.path + ": the copy from the earlier download is damaged; fetching it again"});
    }
    result.bytes_reused += bytes_already_there(partial, file);
    const FileOutcome outcome = fetch_file(hub, result.commit, file, partial, progress, events);
    result.bytes_fetched += outcome.fetched;
    result.files_refetched += outcome.refetched ? 1 : 0;
  }
  result.files = static_cast<int64_t>(files.size());
  progress.finish();
  fs::remove(manifest_file);
  fs::rename(partial, out_dir);
  return result;
}

void HubDownloadJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  try {
    result_ = download_hub_repo(repo_, out_dir_, events, cancel);
  } catch (const Cancelled&) {
    events.log({jobs::LogLevel::Info, "stopped; what arrived is kept in " + out_dir_.string() +
                                          ".partial and the same download resumes from there"});
    throw;
  }
  events.artifact({"model", out_dir_.string()});
}

}  // namespace lowbit::hub
