// Resolving a path inside an image root the way the image would: symlinks are followed, but
// always within the root ("/.." stays at the root, absolute link targets start at the root), so
// no path a Buildfile names can reach the host. The walk is layers::RootDir's (file descriptors
// opened inside the root); the result is for *at() calls through a RootDir, not for the host.
#pragma once

#include <string>
#include <vector>

namespace imgbuild::builder {

// Returns the root-relative path (no leading '/', "" for the root) that `path` (absolute or
// relative to "/") names inside `root`, following symlinks of every component except, when
// `follow_last` is false, the last one. Missing components are kept as written.
std::string ResolveInRoot(const std::string& root, const std::string& path, bool follow_last = true);

// A '/'-separated path without "." and ".." components and without a leading '/'.
std::string CleanRelative(const std::string& path);

// The non-empty, non-"." components of a '/'-separated path (layers::PathComponents).
std::vector<std::string> SplitPath(const std::string& path);

}  // namespace imgbuild::builder
