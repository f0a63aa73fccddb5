#include "layers/registry/client.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "layers/registry/auth.h"
#include "layers/registry/url.h"
#include "layers/registry/reference.h"
#include "layers/sys_error.h"

namespace imgbuild::layers::registry {
namespace {

constexpr const char* kAccept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

bool Loopback(const std::string& host) {
  std::string h = host.substr(0, host.rfind(':') == std::string::npos || host[0] == '[' ? host.size() : host.rfind(':'));
  return h == "localhost" || h.rfind("127.", 0) == 0 || h == "[::1]";
}

// "GET /v2/...: 404 MANIFEST_UNKNOWN: manifest unknown" from a registry's error document.
std::string Describe(const HttpRequest& req, const HttpResponse& resp) {
  std::string what = req.method + " " + req.url + ": HTTP " + std::to_string(resp.status);
  try {
    auto j = nlohmann::json::parse(resp.body);
    for (const auto& e : j.at("errors")) what += " " + e.value("code", "") + ": " + e.value("message", "");
  } catch (const std::exception&) {
  }
  return what;
}

HttpRequest Req(std::string method, std::string url, std::vector<std::string> headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.headers = std::move(headers);
  return r;
}

}  // namespace

RegistryClient::RegistryClient(std::string host, RegistryOptions options)
    : host_(std::move(host)), options_(std::move(options)) {
  tls_.verify = options_.tls_verify;
  if (const char* b = std::getenv("IMGBUILD_HTTP_BACKOFF_MS"); b && std::atoi(b) > 0) options_.backoff_ms = std::atoi(b);
  if (const char* d = std::getenv("IMGBUILD_CERTS_DIR"); d && *d) options_.certs_dir = d;
  std::string ca = options_.certs_dir + "/" + host_ + "/ca.crt";
  struct stat st;
  if (::stat(ca.c_str(), &st) == 0) tls_.ca_file = ca;
  scheme_ = "https";
}

std::string RegistryClient::Url(const std::string& path) const {
  std::string endpoint = host_ == "docker.io" ? "registry-1.docker.io" : host_;
  if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) return path;
  std::lock_guard<std::mutex> lock(mu_);
  return scheme_ + "://" + endpoint + path;
}

void RegistryClient::Authorize(const HttpResponse& challenge, const std::string& scope) {
  std::optional<Challenge> c = ParseChallenge(challenge.Header("www-authenticate"));
  if (!c) throw RegistryError(host_ + ": authentication required, and the registry gave no challenge");
  std::optional<Credentials> creds = LookupCredentials(host_);
  if (c->scheme == "basic") {
    if (!creds) throw RegistryError(host_ + ": authentication required (imgbuild login " + host_ + ")");
    std::lock_guard<std::mutex> lock(mu_);
    tokens_[scope] = "Basic " + Base64(creds->username + ":" + creds->password);
    return;
  }
  if (c->scheme != "bearer" || !c->params.count("realm")) {
    throw RegistryError(host_ + ": unsupported authentication scheme \"" + c->scheme + "\"");
  }
  std::vector<std::pair<std::string, std::string>> query;
  if (c->params.count("service")) query.emplace_back("service", c->params["service"]);
  size_t start = 0;
  while (start < scope.size()) {  // several scopes, space-separated
    size_t sp = scope.find(' ', start);
    if (sp == std::string::npos) sp = scope.size();
    query.emplace_back("scope", scope.substr(start, sp - start));
    start = sp + 1;
  }
  std::string url;
  try {
    url = WithQuery(c->params["realm"], query);
  } catch (const UrlError& e) {
    throw RegistryError(host_ + ": the token realm is not a URL: " + e.what());
  }
  HttpRequest req;
  req.url = url;
  if (creds) req.headers.push_back("Authorization: Basic " + Base64(creds->username + ":" + creds->password));
  HttpResponse resp = Perform(req, tls_);
  if (resp.status == 401 || resp.status == 403) {
    throw RegistryError(host_ + ": the token service refused " + (creds ? "the stored credentials" : "anonymous access") +
                        " for " + scope + " (HTTP " + std::to_string(resp.status) + ")");
  }
  if (resp.status != 200) throw RegistryError(host_ + ": token request failed: HTTP " + std::to_string(resp.status));
  std::string token;
  try {
    auto j = nlohmann::json::parse(resp.body);
    token = j.value("token", j.value("access_token", ""));
  } catch (const std::exception&) {
  }
  if (token.empty()) throw RegistryError(host_ + ": the token service answered without a token");
  std::lock_guard<std::mutex> lock(mu_);
  tokens_[scope] = "Bearer " + token;
}

HttpResponse RegistryClient::Once(HttpRequest& request, const std::string& scope) {
  HttpRequest req = request;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = tokens_.find(scope); it != tokens_.end()) req.headers.push_back("Authorization: " + it->second);
  }
  HttpResponse resp;
  try {
    resp = Perform(req, tls_);
  } catch (const HttpError& e) {
    // A registry on loopback (or with TLS checks off) may speak plain HTTP.
    bool https = req.url.rfind("https://", 0) == 0;
    if (e.untrusted_certificate()) {
      throw HttpError(std::string(e.what()) + " (trust the registry's CA in " + options_.certs_dir + "/" + host_ +
                          "/ca.crt, or use --tls-verify=false)",
                      false, true);
    }
    if (!https || !(Loopback(host_) || !options_.tls_verify)) throw;
    {
      std::lock_guard<std::mutex> lock(mu_);
      scheme_ = "http";
    }
    req.url = "http://" + req.url.substr(8);
    request.url = req.url;
    resp = Perform(req, tls_);
  }
  if (resp.status == 401) {
    Authorize(resp, scope);
    HttpRequest again = request;
    std::string auth;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auth = tokens_[scope];
    }
    again.headers.push_back("Authorization: " + auth);
    resp = Perform(again, tls_);
  }
  return resp;
}

HttpResponse RegistryClient::Call(HttpRequest request, const std::string& scope, const std::set<long>& ok,
                                  int retries) {
  if (retries < 0) retries = options_.retries;
  std::string last;
  for (int attempt = 0;; ++attempt) {
    long wait_ms = options_.backoff_ms << std::min(attempt, 10);
    try {
      HttpResponse resp = Once(request, scope);
      if (ok.count(resp.status)) return resp;
      last = Describe(request, resp);
      bool retryable = resp.status == 429 || resp.status >= 500;
      if (!retryable || attempt >= retries) throw RegistryError(last);
      if (std::string after = resp.Header("retry-after"); !after.empty()) {
        wait_ms = std::max<long>(wait_ms, std::min<long>(std::atol(after.c_str()) * 1000, 30000));
      }
    } catch (const HttpError& e) {
      last = e.what();
      if (!e.retryable() || attempt >= retries) {
        throw RegistryError(last + (attempt > 0 ? " (after " + std::to_string(attempt + 1) + " attempts)" : ""));
      }
    }
    if (options_.on_retry) {
      options_.on_retry(last + "; retrying in " + std::to_string(wait_ms) + " ms (attempt " + std::to_string(attempt + 2) +
                        " of " + std::to_string(retries + 1) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

void RegistryClient::Ping() { Call(Req("GET", Url("/v2/")), "", {200}); }

RegistryClient::Manifest RegistryClient::GetManifest(const std::string& repo, const std::string& reference) {
  HttpRequest req = Req("GET", Url("/v2/" + repo + "/manifests/" + reference), {kAccept});
  req.max_body = media_type::kMaxDocumentSize;
  HttpResponse resp = Call(req, "repository:" + repo + ":pull", {200});
  Manifest m;
  m.bytes = resp.body;
  m.digest = Digest::OfBytes(m.bytes);
  if (reference.rfind("sha256:", 0) == 0 && m.digest.str() != reference) {
    throw RegistryError(host_ + "/" + repo + ": manifest " + reference + " arrived as " + m.digest.str());
  }
  m.media_type = resp.Header("content-type");
  try {
    auto j = nlohmann::json::parse(m.bytes);
    if (j.contains("mediaType")) m.media_type = j["mediaType"].get<std::string>();
  } catch (const std::exception&) {
    throw RegistryError(host_ + "/" + repo + ":" + reference + ": the manifest is not JSON");
  }
  return m;
}

void RegistryClient::FetchBlob(const std::string& repo, const Descriptor& d, ContentStore& store) {
  if (store.Has(d.digest)) return;
  std::string last;
  for (int attempt = 0;; ++attempt) {
    // A fresh ingest each attempt: a half-written blob never reaches the store.
    ContentStore::Writer writer = store.Ingest();
    HttpRequest req = Req("GET", Url("/v2/" + repo + "/blobs/" + d.digest.str()));
    // Reading stops at the size the descriptor declares: a registry streaming more is refused at
    // once, and not asked again.
    bool oversized = false;
    req.sink = [&writer, &d, &oversized](std::string_view b) {
      if (writer.size() + static_cast<int64_t>(b.size()) > d.size) {
        oversized = true;
        throw std::runtime_error("the registry sent more than the " + std::to_string(d.size) +
                                 " bytes the descriptor declares");
      }
      writer.Write(b);
    };
    if (options_.on_blob_progress) {
      // What the store has received (a redirect's body does not count); the descriptor's size.
      req.on_progress = [this, &writer, &d](int64_t, int64_t) { options_.on_blob_progress(d.digest, writer.size(), d.size); };
    }
    try {
      HttpResponse resp = Call(req, "repository:" + repo + ":pull", {200}, 0);
      writer.Commit(d.media_type, d.digest, d.size);
      return;
    } catch (const RegistryError& e) {
      last = e.what();
    } catch (const std::runtime_error& e) {  // a short or corrupt transfer: the digest check failed
      last = host_ + "/" + repo + ": blob " + d.digest.str() + ": " + e.what();
    }
    if (oversized) throw RegistryError(host_ + "/" + repo + ": blob " + d.digest.str() + ": " + last);
    if (attempt >= options_.retries) throw RegistryError(last);
    long wait_ms = options_.backoff_ms << std::min(attempt, 10);
    if (options_.on_retry) {
      options_.on_retry(last + "; fetching it again in " + std::to_string(wait_ms) + " ms (attempt " +
                        std::to_string(attempt + 2) + " of " + std::to_string(options_.retries + 1) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

bool RegistryClient::BlobExists(const std::string& repo, const Digest& d) {
  HttpResponse resp =
      Call(Req("HEAD", Url("/v2/" + repo + "/blobs/" + d.str())), "repository:" + repo + ":pull,push", {200, 404});
  return resp.status == 200;
}

std::string RegistryClient::PushBlob(const std::string& repo, const Descriptor& d, const std::string& path,
                                     const std::string& mount_from) {
  const std::string scope = "repository:" + repo + ":pull,push" +
                            (mount_from.empty() || mount_from == repo ? "" : " repository:" + mount_from + ":pull");
  if (BlobExists(repo, d.digest)) return "exists";
  std::string last;
  for (int attempt = 0;; ++attempt) {
    try {
      std::string post = "/v2/" + repo + "/blobs/uploads/";
      std::string post_url = Url(post);
      if (!mount_from.empty() && mount_from != repo) post_url = WithQuery(post_url, {{"mount", d.digest.str()}, {"from", mount_from}});
      HttpResponse start = Call(Req("POST", post_url), scope, {201, 202});
      if (start.status == 201) return "mounted";
      std::string location = start.Header("location");
      if (location.empty()) throw RegistryError(host_ + ": upload session without a Location");
      location = ResolveUrl(post_url, location);
      if (options_.chunk_size > 0) {
        for (int64_t offset = 0; offset < d.size;) {
          int64_t n = std::min(options_.chunk_size, d.size - offset);
          HttpRequest patch = Req("PATCH", location,
                                  {"Content-Type: application/octet-stream",
                                   "Content-Range: " + std::to_string(offset) + "-" + std::to_string(offset + n - 1)});
          patch.body_file = path;
          patch.body_offset = offset;
          patch.body_size = n;
          if (options_.on_blob_progress) {
            patch.on_progress = [this, &d, offset](int64_t done, int64_t) { options_.on_blob_progress(d.digest, offset + done, d.size); };
          }
          HttpResponse r = Call(patch, scope, {202});
          std::string next = r.Header("location");
          if (next.empty()) throw RegistryError(host_ + ": chunk accepted without a Location");
          location = ResolveUrl(location, next);
          offset += n;
        }
        HttpRequest put = Req("PUT", WithQuery(location, {{"digest", d.digest.str()}}),
                              {"Content-Type: application/octet-stream"});
        Call(put, scope, {201, 204});
      } else {
        HttpRequest put = Req("PUT", WithQuery(location, {{"digest", d.digest.str()}}),
                              {"Content-Type: application/octet-stream"});
        put.body_file = path;
        put.body_size = d.size;
        if (options_.on_blob_progress) {
          put.on_progress = [this, &d](int64_t done, int64_t) { options_.on_blob_progress(d.digest, done, d.size); };
        }
        Call(put, scope, {201, 204});
      }
      return "uploaded";
    } catch (const RegistryError& e) {
      // A broken session starts over once (each request was already retried on its own).
      last = e.what();
      if (attempt >= 1) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.backoff_ms << std::min(attempt, 10)));
    }
  }
}

void RegistryClient::PutManifest(const std::string& repo, const std::string& reference, const std::string& bytes,
                                 const std::string& media_type) {
  HttpRequest req = Req("PUT", Url("/v2/" + repo + "/manifests/" + reference), {"Content-Type: " + media_type});
  req.body = bytes;
  Call(req, "repository:" + repo + ":pull,push", {200, 201, 202});
}

}  // namespace imgbuild::layers::registry
