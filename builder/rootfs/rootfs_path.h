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

// Root-relative path text: the directory part ("" at the top), the last name, and a join that
// leaves out empty sides.
std::string Parent(const std::string& rel);
std::string Base(const std::string& rel);
std::string JoinRel(const std::string& a, const std::string& b);
// Whether a COPY destination, as written, names a directory: a trailing "/" or "/.", ".", or
// empty (the working directory; BuildKit adds the slash).
bool NamesDirectory(const std::string& dest);

// Whether a path is a pattern (holds *, ? or [).
bool HasGlob(const std::string& s);

// What COPY --parents keeps of `match` (a path `pattern` selected): all of it, or what follows
// a `/./` pivot (BuildKit: `a/b/./c/d` lands as `c/d`). The pivot drops as many leading
// components as the prefix has, so a pattern prefix works (`a/b*/./c` keeps `c/...`).
std::string KeptAfterPivot(const std::string& pattern, const std::string& match);

}  // namespace imgbuild::builder
