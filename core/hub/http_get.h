// One HTTP GET through libcurl, with nothing hidden: no redirect is followed (the caller decides where a token may
// go), the body goes to a sink as it arrives, the CancelToken is polled while bytes flow, and a transfer that
// stalls for kStallSeconds is ended. Proxies come from the usual environment variables (http_proxy, https_proxy,
// no_proxy: libcurl reads them).
//
//   HttpReply reply = http_get(url, {"Range: bytes=100-"}, [&](long status, const char* p, size_t n) { ... }, cancel);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/jobs/job.h"

namespace lowbit::hub {

constexpr long kStallSeconds = 60;

struct HttpReply {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case; the last value of a repeated header
  int64_t body_bytes = 0;
  bool transfer_failed = false;  // the connection broke or stalled before the body was complete
  std::string failure;           // libcurl's reason when transfer_failed
};

// sink receives the body of a 2xx reply with its status (206 for a Range honoured, 200 for the whole body); the body of any other reply is kept in error_body (up to 64 KiB) so that
// the caller can quote the server's reason. Throws Cancelled when cancel is requested, and the sink's exceptions
// (a full disk) unchanged.
HttpReply http_get(const std::string& url, const std::vector<std::string>& request_headers,
                   const std::function<void(long status, const char*, size_t)>& sink, const jobs::CancelToken& cancel,
                   std::string* error_body = nullptr);

// "https://huggingface.co/x" → "huggingface.co"; "http://127.0.0.1:8080/a" → "127.0.0.1:8080".
std::string url_authority(const std::string& url);
// A Location header resolved against the URL that sent it (absolute, "/path" or "path").
std::string resolve_location(const std::string& base_url, const std::string& location);

}  // namespace lowbit::hub
