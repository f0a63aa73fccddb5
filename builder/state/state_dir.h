// The one owner of the state directory's layout: where ROOT is (--root, else IMGBUILD_ROOT,
// else /var/lib/imgbuild as root, else $XDG_DATA_HOME/imgbuild or ~/.local/share/imgbuild), the
// path of everything below it, and how snapshots are named. No other file builds a path below
// ROOT from a string.
//
// Snapshot names (in snapshots/ or snapshots-copy/):
//   chain-<chain ID hex>           a base image's layers, shared by every build
//   c-<key hex, 16>-<build>-<n>    a cached step's result, kept while its record needs it
//   b-<build>-<what>-<n>           a build's own scratch snapshot, removed when the build ends
// where <build> is the name of the build's workspace (ROOT/tmp/build-<pid>-<random>).
#pragma once

#include <string>

#include "cache/cache_key.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {

class StateDir {
 public:
  // ROOT from the --root flag ("" when not given) and the environment.
  static StateDir Resolve(const std::string& root_flag);
  // Resolve, then make ROOT if missing and keep it 0700: nobody else may reach the setuid programs
  // that images put in snapshots and cache mounts. Throws when ROOT cannot be made.
  static StateDir Open(const std::string& root_flag);
  explicit StateDir(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string oci() const { return Below("oci"); }                // the local store (an OCI layout)
  std::string tmp() const { return Below("tmp"); }                // ingests, locks, build workspaces
  std::string snapshots(const std::string& kind = "overlay") const;  // per snapshotter kind
  std::string cache_index(const std::string& kind = "overlay") const;  // cache/v1[-kind]
  std::string cache() const { return Below("cache"); }            // every kind's cache index
  // What incremental COPY remembers of each step's result (builder/ops/copy_reuse).
  std::string copy_manifests(const std::string& kind = "overlay") const { return cache_index(kind) + "/copies"; }
  std::string compressed() const { return Below("compressed"); }  // compressed forms of layers
  std::string cache_mounts() const { return Below("cache-mounts"); }
  std::string logs() const { return Below("logs"); }              // logs/<build>/step-N.log
  std::string remote() const { return Below("remote"); }          // ADD's downloads, Git mirrors
  std::string gc_lock() const { return Below("gc.lock"); }
  std::string deferred() const { return Below("deferred"); }      // recipes of deferred layers

 private:
  std::string Below(const char* name) const { return root_ + "/" + name; }
  std::string root_;
};

// The local store (ROOT/oci), with deferred layers on: a layer blob a build made from one of
// ROOT's snapshots may be a recipe until something reads it (layers/content_store.h).
layers::OciLayout LocalStore(const StateDir& state);

// Snapshot names, as above.
std::string ChainSnapshotName(const std::string& chain_id_hex);
std::string CachedSnapshotName(const cache::CacheKey& key, const std::string& build, int n);
std::string BuildSnapshotName(const std::string& build, const std::string& what, int n);
bool IsChainSnapshot(const std::string& name);
// What every scratch snapshot of `build` starts with.
std::string BuildSnapshotPrefix(const std::string& build);

}  // namespace imgbuild::builder
