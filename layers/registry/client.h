// An OCI distribution client for one registry: manifests and indexes (pulled with platform
// selection), blobs streamed with digest verification, pushes with blob HEAD, cross-repository
// mount, monolithic or chunked uploads and manifest PUT with its media type. Authentication:
// anonymous, Basic, or the Bearer token flow with scopes, with credentials from the auth file.
// Transient failures (dropped connections, timeouts, 429, 5xx) are retried with exponential
// backoff; when retries run out the operation fails with the last error. Plain HTTP only for
// loopback registries or when TLS verification is off.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "layers/content_store.h"
#include "layers/descriptor.h"
#include "layers/registry/http_client.h"
#include "layers/error.h"

namespace imgbuild::layers::registry {

class RegistryError : public layers::Error {
 public:
  using layers::Error::Error;
};

struct RegistryOptions {
  bool tls_verify = true;   // false: no certificate checks, and plain HTTP is allowed
  int retries = 5;          // attempts after the first
  int backoff_ms = 200;     // doubled each retry
  int64_t chunk_size = 0;   // > 0: uploads in PATCH chunks of this size; else one PUT
  std::string certs_dir = "/etc/docker/certs.d";  // HOST/ca.crt is trusted for HOST
  // Told (from any thread) before each retry: what failed, and when the next attempt comes.
  std::function<void(const std::string&)> on_retry;
  // Told (from any thread) how far each blob transfer has come: bytes of `size`.
  std::function<void(const Digest& blob, int64_t done, int64_t size)> on_blob_progress;
};

class RegistryClient {
 public:
  // `host` as in a reference: "docker.io", "127.0.0.1:5000".
  RegistryClient(std::string host, RegistryOptions options = {});

  struct Manifest {
    std::string bytes;
    std::string media_type;
    Digest digest = Digest::OfBytes("");
  };
  // A manifest or index by tag or digest (a digest is verified).
  Manifest GetManifest(const std::string& repo, const std::string& reference);
  // Streams a blob into `store` (verified against its digest and size).
  void FetchBlob(const std::string& repo, const Descriptor& d, ContentStore& store);
  bool BlobExists(const std::string& repo, const Digest& d);
  // Uploads a blob read from `path` unless the registry has it; tries a cross-repository mount
  // from `mount_from` first when given. Returns "exists", "mounted" or "uploaded".
  std::string PushBlob(const std::string& repo, const Descriptor& d, const std::string& path,
                       const std::string& mount_from = "");
  void PutManifest(const std::string& repo, const std::string& reference, const std::string& bytes,
                   const std::string& media_type);
  // Checks that the registry answers (and that credentials work): GET /v2/.
  void Ping();

 private:
  // `retries`: -1 for the client's own count; a request with a sink that cannot be replayed (a
  // blob into one ingest) passes 0 and retries itself with a fresh sink.
  HttpResponse Call(HttpRequest request, const std::string& scope, const std::set<long>& ok, int retries = -1);
  HttpResponse Once(HttpRequest& request, const std::string& scope);
  void Authorize(const HttpResponse& challenge, const std::string& scope);
  std::string Url(const std::string& path) const;

  std::string host_;
  RegistryOptions options_;
  TlsOptions tls_;
  std::string scheme_;
  mutable std::mutex mu_;  // tokens_, scheme_
  std::map<std::string, std::string> tokens_;  // scope -> "Bearer ..." or "Basic ..."
};

}  // namespace imgbuild::layers::registry
