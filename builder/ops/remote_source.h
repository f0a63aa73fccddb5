// ADD's remote sources, read as BuildKit reads them.
// - A Git source: `git@HOST:PATH`, `git://`, `ssh://`, or an http(s) URL whose path ends in
//   `.git`, each with an optional `#REF[:SUBDIR]`. The ref is resolved to a commit (the cache key),
//   fetched into a bare mirror kept in the state dir, and checked out (files only, or with `.git`
//   for --keep-git-dir) with every mtime set to the commit's time, so a commit gives one layer.
// - An HTTP source: any other http(s) URL, one file. Its name is the last component of the URL
//   path (BuildKit's rule; Content-Disposition's filename where the path has none, as Docker's
//   classic builder did), mode 0600, mtime from Last-Modified. Downloads are remembered per URL
//   with their ETag and Last-Modified, so an unchanged URL answers 304 and is not downloaded
//   again; --checksum is verified before the file is used.
// Remote sources need the build's network: under --network=none they are refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "layers/digest.h"
#include "layers/registry/http_client.h"
#include "layers/error.h"

namespace imgbuild::builder {

enum class SourceKind { kLocal, kHttp, kGit };
SourceKind ClassifySource(const std::string& source);

struct GitSource {
  std::string remote;  // what git clones
  std::string ref;     // branch, tag or commit; "" for the remote's HEAD
  std::string subdir;  // "" for the whole tree
};
// Throws std::invalid_argument for a source that is not a Git source.
GitSource ParseGitSource(const std::string& source);

// The file name BuildKit gives an HTTP source: the last component of the URL path, "" if none.
std::string UrlFileName(const std::string& url);

class RemoteError : public layers::Error {
 public:
  using layers::Error::Error;
};

struct RemoteOptions {
  std::string cache_dir;  // ROOT/remote: download records and Git mirrors
  std::string tmp_dir;    // scratch space for downloads and checkouts
  bool network = true;    // false under --network=none
  layers::registry::TlsOptions tls;
};

struct FetchedFile {
  std::string path;  // the bytes (in cache_dir; read only)
  layers::Digest digest = layers::Digest::OfBytes("");
  int64_t size = 0;
  std::string name;            // the file name to give it (see above)
  std::optional<int64_t> mtime;  // from Last-Modified
  bool downloaded = false;     // false: the remembered copy was still current (304)
};

// Fetches `url` (a conditional request when it was fetched before). `checksum` ("sha256:...",
// "sha384:..." or "sha512:...", or "") must match the bytes. Throws RemoteError.
FetchedFile FetchHttp(const std::string& url, const std::string& checksum, const RemoteOptions& options);

// The commit `source`'s ref names now (fetching the mirror). `checksum`, when given, must be a
// prefix of that commit. Throws RemoteError.
std::string ResolveGit(const GitSource& source, const std::string& checksum, const RemoteOptions& options);

// Checks `commit` out below the empty directory `scratch` and returns the directory holding
// its tree (the subdir, when the source names one; with `keep_git_dir` the checkout's `.git`
// too). Throws RemoteError.
std::string CheckoutGit(const GitSource& source, const std::string& commit, bool keep_git_dir,
                        const std::string& scratch, const RemoteOptions& options);

// A remote build context (`--build-context NAME=URL`, as buildx): a Git repository checked out, or
// a tar archive (plain or compressed) downloaded and unpacked, below the empty directory
// `scratch`. Returns the context directory. Throws RemoteError.
std::string FetchContext(const std::string& url, const std::string& scratch, const RemoteOptions& options);

}  // namespace imgbuild::builder
