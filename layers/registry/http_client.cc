#include "layers/registry/http_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cctype>
#include <mutex>

#include "layers/sys_error.h"

namespace imgbuild::layers::registry {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  int fd = -1;
  int64_t left = 0;
  size_t body_pos = 0;
  std::string sink_error;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) t->response->headers.clear();  // a new response (redirect, 100)
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    t->response->headers[name] = value;
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * n);
  if (t->request->sink && t->response->status / 100 == 2) {
    try {
      t->request->sink(chunk);
    } catch (const std::exception& e) {
      t->sink_error = e.what();
      return 0;  // aborts the transfer
    }
  } else {
    if (static_cast<int64_t>(t->response->body.size() + chunk.size()) > t->request->max_body) {
      t->sink_error = t->request->method + " " + t->request->url + ": the answer is larger than " +
                      std::to_string(t->request->max_body) + " bytes";
      return 0;
    }
    t->response->body.append(chunk);
  }
  return size * n;
}

size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t want = size * n;
  if (t->fd >= 0) {
    if (t->left <= 0) return 0;
    ssize_t got = ::read(t->fd, buffer, static_cast<size_t>(std::min<int64_t>(t->left, static_cast<int64_t>(want))));
    if (got < 0) return CURL_READFUNC_ABORT;
    t->left -= got;
    return static_cast<size_t>(got);
  }
  const std::string& body = t->request->body;
  size_t take = std::min(want, body.size() - t->body_pos);
  std::copy(body.data() + t->body_pos, body.data() + t->body_pos + take, buffer);
  t->body_pos += take;
  return take;
}

}  // namespace

HttpResponse Perform(const HttpRequest& request, const TlsOptions& tls) {
  GlobalInit();
  HttpResponse response;
  Transfer t;
  t.request = &request;
  t.response = &response;
  UniqueFd file;
  if (!request.body_file.empty()) {
    file = UniqueFd(::open(request.body_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) throw SysError("open", request.body_file);
    if (::lseek(file.get(), request.body_offset, SEEK_SET) < 0) throw SysError("seek", request.body_file);
    t.fd = file.get();
    t.left = request.body_size;
  }
  CURL* curl = curl_easy_init();
  if (!curl) throw HttpError("curl_easy_init failed", false);
  struct Cleanup {
    CURL* c;
    curl_slist* h = nullptr;
    ~Cleanup() {
      curl_slist_free_all(h);
      curl_easy_cleanup(c);
    }
  } cleanup{curl};
  for (const std::string& h : request.headers) cleanup.h = curl_slist_append(cleanup.h, h.c_str());
  bool has_body = !request.body_file.empty() || !request.body.empty() || request.method == "PUT" ||
                  request.method == "POST" || request.method == "PATCH";
  if (has_body) cleanup.h = curl_slist_append(cleanup.h, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, cleanup.h);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
  // A stalled transfer (under 1 KiB/s for 20 s, or $IMGBUILD_HTTP_STALL_SECONDS) fails and is retried.
  static const long stall = [] {
    const char* v = std::getenv("IMGBUILD_HTTP_STALL_SECONDS");
    long s = v ? std::atol(v) : 0;
    return s > 0 ? s : 20L;
  }();
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "imgbuild/0.1");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (!tls.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (has_body && request.method != "GET" && request.method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_off_t size = !request.body_file.empty() ? request.body_size : static_cast<curl_off_t>(request.body.size());
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, size);
  }
  // The status must be known before the first body byte reaches the sink: the status line of
  // each response (a redirect's too) is read as its headers arrive.
  struct StatusHook {
    static size_t Header(char* data, size_t size, size_t n, void* user) {
      auto* tr = static_cast<Transfer*>(user);
      std::string line(data, size * n);
      if (line.rfind("HTTP/", 0) == 0) {
        size_t sp = line.find(' ');
        if (sp != std::string::npos) tr->response->status = std::strtol(line.c_str() + sp + 1, nullptr, 10);
      }
      return OnHeader(data, size, n, user);
    }
  };
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, StatusHook::Header);
  struct ProgressHook {
    static int Info(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
      const auto* req = static_cast<const HttpRequest*>(user);
      if (ultotal > 0 || ulnow > 0) {
        req->on_progress(ulnow, ultotal);
      } else {
        req->on_progress(dlnow, dltotal);
      }
      return 0;
    }
  };
  if (request.on_progress) {
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, ProgressHook::Info);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &request);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = status;
  char* url = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url);
  if (url) response.effective_url = url;
  if (!t.sink_error.empty()) throw HttpError(t.sink_error, false);
  if (rc != CURLE_OK) {
    std::string what = std::string(curl_easy_strerror(rc)) + (error[0] ? std::string(": ") + error : "");
    bool retryable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
                     rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
                     rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
    bool untrusted = rc == CURLE_PEER_FAILED_VERIFICATION;
    throw HttpError(request.method + " " + request.url + ": " + what, retryable, untrusted);
  }
  return response;
}

}  // namespace imgbuild::layers::registry
