// HTTP for the registry client, on libcurl: one request per call, the body from memory or a file
// range, the response body into memory or streamed to a sink. TLS with the system CAs, an extra
// CA file, or no verification when asked. Failures are HttpError values that say whether a retry
// may help (connection dropped, timeout, 429, 5xx); the caller retries.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include "layers/error.h"

namespace imgbuild::layers::registry {

class HttpError : public layers::Error {
 public:
  HttpError(const std::string& what, bool retryable, bool untrusted_certificate = false)
      : layers::Error(what), retryable_(retryable), untrusted_certificate_(untrusted_certificate) {}
  bool retryable() const { return retryable_; }
  // The server speaks TLS, but its certificate was not trusted.
  bool untrusted_certificate() const { return untrusted_certificate_; }

 private:
  bool retryable_;
  bool untrusted_certificate_;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when body_file is empty
  std::string body_file;             // or a range of this file
  int64_t body_offset = 0, body_size = 0;
  // Called with the response body as it arrives (for 2xx responses); else it is kept in memory.
  std::function<void(std::string_view)> sink;
  // A body kept in memory (no sink, or an error answer) larger than this aborts the transfer.
  int64_t max_body = 4 << 20;
  bool follow_redirects = true;
  // Told, from the transfer's thread, how far the body has come (sent for uploads, received
  // otherwise) and its size when known (0 otherwise).
  std::function<void(int64_t done, int64_t total)> on_progress;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // when there was no sink, or not a 2xx
  std::string effective_url;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct TlsOptions {
  bool verify = true;
  std::string ca_file;  // extra CA bundle (e.g. /etc/docker/certs.d/HOST/ca.crt)
};

// Performs one request. Throws HttpError for transport failures (never for an HTTP status).
HttpResponse Perform(const HttpRequest& request, const TlsOptions& tls);

}  // namespace imgbuild::layers::registry
