// COPY and ADD from a source tree (the build context or another stage's root) into a step's
// upper directory, with BuildKit's rules: wildcards, directory contents, trailing-slash
// destinations, parents created (existing ones keep the image's metadata), --chown, --chmod,
// --exclude, --parents, heredoc sources, .dockerignore for the build context. Symlinks are copied
// as symlinks and never followed out of the source; the destination is resolved inside the image.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "builder/rootfs/copied_file.h"
#include "cache/input_digest.h"

#include "frontend/dockerignore.h"
#include "layers/error.h"

namespace imgbuild::builder {

class CopyError : public layers::Error {
 public:
  using layers::Error::Error;
};

struct CopyRequest {
  std::string src_root;                          // build context dir, or a stage's root view
  const frontend::IgnoreMatcher* ignore = nullptr;  // .dockerignore, for the build context only
  std::vector<std::string> sources;              // paths or patterns, relative to src_root
  std::vector<std::pair<std::string, std::string>> heredocs;  // name, content
  std::string dest;                              // as written (expanded); relative to workdir
  std::string workdir = "/";
  std::string chown;                             // empty: 0:0, or the source's with keep_owner
  bool keep_owner = false;                       // COPY --from: files keep their owner (BuildKit)
  std::string chmod;                             // empty: keep modes
  std::vector<std::string> excludes;
  bool parents = false;
  std::string lower_root;                        // the image before this step (read-only view)
  std::string passwd_root;                       // where --chown names are looked up; default lower_root
  std::string upper;                             // where this step's files are written
  // Incremental COPY (builder/ops/copy_reuse): regular files already at their destination, by
  // destination; each is left as it is when its source is still that file, unchanged.
  const std::map<std::string, InPlaceFile>* in_place = nullptr;
  // Filled with every entry written or kept and every directory copied; unlinked regular files
  // carry their source's stamp.
  std::vector<CopiedFile>* copied = nullptr;
  // Big regular files whose bytes may be written while the layer is hashed (pending_fills.h):
  // only for a source that stays readable until then (the build context) and an upper that is
  // the layer's top directory.
  layers::PendingFills* fills = nullptr;
};

struct CopyStats {
  int64_t files = 0, dirs = 0, symlinks = 0, bytes = 0;
  int64_t kept = 0;  // of `files`: left in place (CopyRequest::in_place)
};

CopyStats Copy(const CopyRequest& request);

// The files `Copy(request)` would read, named as it copies them (what the step's cache key
// covers); destination fields are not needed. Throws CopyError as Copy does for missing sources.
std::vector<cache::InputFile> SelectCopyInputs(const CopyRequest& request);

// The source paths (relative to src_root) the request's sources name: patterns expanded (sorted;
// none when nothing matches), plain paths checked. Throws CopyError for a missing plain path.
std::vector<std::string> MatchSources(const CopyRequest& request);

}  // namespace imgbuild::builder
