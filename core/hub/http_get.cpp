#include "core/hub/http_get.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>

#include "core/util/errors.h"

namespace lowbit::hub {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

struct Transfer {
  const std::function<void(long, const char*, size_t)>* sink = nullptr;
  const jobs::CancelToken* cancel = nullptr;
  HttpReply* reply = nullptr;
  std::string* error_body = nullptr;
  std::exception_ptr sink_error;
  bool cancelled = false;
};

long status_of(CURL* curl) {
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {  // a new reply (after 100 Continue): its status routes the body that follows
    transfer->reply->headers.clear();
    const size_t space = line.find(' ');
    transfer->reply->status = space == std::string::npos ? 0 : std::strtol(line.c_str() + space + 1, nullptr, 10);
    return size * count;
  }
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    const size_t first = value.find_first_not_of(" \t");
    const size_t last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    transfer->reply->headers[name] = value;
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  const long status = transfer->reply->status;
  if (status >= 200 && status < 300) {
    try {
      (*transfer->sink)(status, data, bytes);
    } catch (...) {
      transfer->sink_error = std::current_exception();
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
  } else if (transfer->error_body && transfer->error_body->size() < kMaxErrorBody) {
    transfer->error_body->append(data, std::min(bytes, kMaxErrorBody - transfer->error_body->size()));
  }
  transfer->reply->body_bytes += static_cast<int64_t>(bytes);
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->cancel->is_requested()) {
    transfer->cancelled = true;
    return 1;
  }
  return 0;
}

void initialise_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

HttpReply http_get(const std::string& url, const std::vector<std::string>& request_headers,
                   const std::function<void(long, const char*, size_t)>& sink, const jobs::CancelToken& cancel,
                   std::string* error_body) {
  initialise_once();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw InternalError("libcurl could not start a transfer");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, &curl_slist_free_all);
  for (const std::string& header : request_headers) headers.reset(curl_slist_append(headers.release(), header.c_str()));

  HttpReply reply;
  Transfer transfer;
  transfer.sink = &sink;
  transfer.cancel = &cancel;
  transfer.reply = &reply;
  transfer.error_body = error_body;
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "LowBitStudio");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &transfer);
  const CURLcode code = curl_easy_perform(handle);
  if (transfer.cancelled) throw Cancelled();
  if (transfer.sink_error) std::rethrow_exception(transfer.sink_error);
  if (code != CURLE_OK) {
    reply.transfer_failed = true;
    reply.failure = curl_easy_strerror(code);
    if (reply.status == 0) reply.status = status_of(handle);
    return reply;
  }
  reply.status = status_of(handle);
  const auto length = reply.headers.find("content-length");
  if (reply.status >= 200 && reply.status < 300 && length != reply.headers.end() &&
      std::strtoll(length->second.c_str(), nullptr, 10) != reply.body_bytes) {
    reply.transfer_failed = true;
    reply.failure = "the connection closed before the whole body arrived";
  }
  return reply;
}

std::string url_authority(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  const size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  std::transform(authority.begin(), authority.end(), authority.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return authority;
}

std::string resolve_location(const std::string& base_url, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  const size_t scheme = base_url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t path_start = base_url.find('/', start);
  const std::string origin = base_url.substr(0, path_start);
  if (!location.empty() && location[0] == '/') return origin + location;
  const std::string base_path = path_start == std::string::npos ? "/" : base_url.substr(path_start);
  const std::string directory = base_path.substr(0, base_path.rfind('/') + 1);
  return origin + directory + location;
}

}  // namespace lowbit::hub
