// The command line's structured flag values, each parsed once, before anything runs, into a
// typed spec by one splitter: `-o type=oci,dest=x`, `--cache-to/--cache-from type=...`,
// `--secret id=...,src=...`, `--ssh ID=PATH,...`. Errors are std::invalid_argument naming the
// flag and the offending part.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "builder/sandbox/run_mounts.h"
#include "builder/sandbox/sandbox.h"
#include "cache/transfer.h"

namespace imgbuild::builder {

// "a,b,,c" -> {"a","b","c"} (empty parts skipped).
std::vector<std::string> SplitList(const std::string& text);
// "k=v,k2=v2" -> {{"k","v"},{"k2","v2"}}; a part without '=' has an empty value.
std::vector<std::pair<std::string, std::string>> SplitKeyValues(const std::string& text);

struct OutputSpec {
  std::string type;  // oci, docker, local, tar, image
  std::string dest;  // "-": standard output
  bool tar = true;
  std::string name;   // type=image
  bool push = false;  // type=image (type=registry is image with push)
};
// `type=...,dest=...`; `-` (a tar of the root filesystem on standard output) and `PATH`
// (type=local,dest=PATH) as buildx; a missing dest of oci, docker and tar is standard output.
OutputSpec ParseOutputSpec(const std::string& text);

// "type=local,dest=DIR,mode=max" / "type=registry,ref=REF" (export: dest=; import: src=).
cache::CacheTransferSpec ParseCacheSpec(const std::string& text, bool for_export);

// --secret id=ID[,src=FILE|env=VAR][,type=file|env] (as buildx: without a source, an environment
// variable of that name, else a file of that name).
std::pair<std::string, SecretSource> ParseSecretFlag(const std::string& text);

// --ssh ID[=SOCKET|KEY[,KEY...]] (default: $SSH_AUTH_SOCK).
std::pair<std::string, std::vector<std::string>> ParseSshFlag(const std::string& text);

// --add-host NAME:ADDRESS (or NAME=ADDRESS): the /etc/hosts line of RUN steps. The address is an
// IPv4 or IPv6 address (docker's host-gateway has no meaning without a daemon's bridge).
std::pair<std::string, std::string> ParseAddHost(const std::string& text);

// --ulimit NAME=SOFT[:HARD] with docker's names (nofile, nproc, core, stack, ...); -1 is unlimited.
SandboxRlimit ParseUlimit(const std::string& text);

}  // namespace imgbuild::builder
