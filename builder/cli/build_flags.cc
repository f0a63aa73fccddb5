#include "builder/cli/build_flags.h"

#include <set>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "builder/ops/remote_source.h"
#include "builder/state/gc.h"
#include "builder/state/state_dir.h"
#include "frontend/words.h"
#include "layers/registry/reference.h"

namespace imgbuild::builder {

using namespace imgbuild::frontend;

namespace {

// docker's and buildx's flags, with imgbuild's meaning (README: "docker and buildx equivalents").
int ParseDockerFlags(const BuildOptions& options, BuildInvocation& inv, std::ostream& err) {
  BuildRequest& req = inv.req;
  try {
    for (const std::string& h : options.add_hosts) req.sandbox.extra_hosts.push_back(ParseAddHost(h));
    for (const std::string& u : options.ulimits) req.sandbox.ulimits.emplace_back(u, ParseUlimit(u));
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  if (!options.shm_size.empty()) {
    try {
      req.sandbox.shm_size = ParseSize(options.shm_size, req.root);
      if (options.shm_size.back() == '%' || req.sandbox.shm_size <= 0) throw std::invalid_argument("must be a size above 0");
    } catch (const std::exception& e) {
      err << "error: --shm-size: " << e.what() << "\n";
      return 2;
    }
  }
  for (const std::string& a : options.annotations) {
    // buildx: [TYPE[,TYPE]:]KEY=VALUE with TYPE manifest (the default) or index (a multi-platform
    // build's index).
    std::string kv = a;
    size_t eq = kv.find('='), colon = kv.find(':');
    bool on_manifest = true, on_index = false;
    if (colon != std::string::npos && colon < eq) {
      on_manifest = false;
      std::string types = kv.substr(0, colon) + ",";
      for (size_t at = 0, comma; (comma = types.find(',', at)) != std::string::npos; at = comma + 1) {
        std::string type = types.substr(at, comma - at);
        if (type == "manifest") {
          on_manifest = true;
        } else if (type == "index") {
          on_index = true;
        } else {
          err << "error: --annotation " << a << ": imgbuild annotates manifests and indexes (manifest:, index:)\n";
          return 2;
        }
      }
      kv = kv.substr(colon + 1);
      eq = kv.find('=');
    }
    if (eq == std::string::npos || eq == 0) {
      err << "error: --annotation needs KEY=VALUE, got \"" << a << "\"\n";
      return 2;
    }
    if (on_manifest) req.annotations[kv.substr(0, eq)] = kv.substr(eq + 1);
    if (on_index) inv.index_annotations[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // Attestations: imgbuild makes none, so only "off" is an answer it can give.
  for (const auto& [flag, value] : {std::pair{"--provenance", options.provenance}, std::pair{"--sbom", options.sbom}}) {
    if (!value.empty() && value != "false" && value != "0") {
      err << "error: " << flag << "=" << value << ": imgbuild makes no attestations (only " << flag << "=false)\n";
      return 2;
    }
  }
  // Secrets are read up front, as buildx reads them: a missing file fails before any step runs.
  for (const auto& [id, src] : req.secrets) {
    if (!src.file.empty()) {
      struct stat st;
      if (::stat(src.file.c_str(), &st) != 0 || ::access(src.file.c_str(), R_OK) != 0) {
        err << "error: --secret id=" << id << ": cannot read " << src.file << ": " << std::strerror(errno) << "\n";
        return 2;
      }
      if (!S_ISREG(st.st_mode)) {
        err << "error: --secret id=" << id << ": " << src.file << " is not a regular file\n";
        return 2;
      }
    } else if (!src.env.empty() && !std::getenv(src.env.c_str())) {
      err << "error: --secret id=" << id << ": the environment variable " << src.env << " is not set\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace

int ParseBuildFlags(const BuildOptions& options, BuildInvocation& inv, std::ostream& err) {
  BuildRequest& req = inv.req;
  const FrontendOptions& fo = options.frontend;
  if (!ParseBuildArgs(fo.build_args, inv.plan_options.build_args, err)) return 2;
  inv.plan_options.target = fo.target;
  req.platform = layers::Platform::Host();
  if (!fo.platform.empty()) {
    // A list builds one image per platform (an index of them), duplicates once, as buildx.
    std::set<std::string> seen;
    size_t start = 0;
    for (;;) {
      size_t comma = fo.platform.find(',', start);
      std::string one = fo.platform.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      try {
        PlatformSpec p = one == "local" ? PlatformSpec::Host() : PlatformSpec::Parse(one);
        if (seen.insert(p.os + "/" + p.arch + "/" + p.variant).second) inv.platforms.push_back(p);
      } catch (const std::invalid_argument& e) {
        err << "error: --platform: " << e.what() << "\n";
        return 2;
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    inv.plan_options.target_platform = inv.platforms.front();
    req.platform = {inv.platforms.front().os, inv.platforms.front().arch, inv.platforms.front().variant};
  }
  try {
    inv.export_options.compression = layers::ParseCompression(options.compression);
  } catch (const std::invalid_argument& e) {
    err << "error: --compression: " << e.what() << "\n";
    return 2;
  }
  try {  // checked before the build, not when its export starts
    layers::CheckLevel(inv.export_options.compression, options.compression_level);
  } catch (const std::invalid_argument& e) {
    err << "error: --compression-level: " << e.what() << "\n";
    return 2;
  }
  try {
    int to_stdout = 0;
    for (const std::string& o : options.outputs) {
      inv.outputs.push_back(ParseOutputSpec(o));
      if (inv.outputs.back().dest == "-") ++to_stdout;
    }
    for (const OutputSpec& o : inv.outputs) {
      if (o.type == "image") layers::registry::Reference::Parse(o.name);  // a bad name fails now, not after the build
    }
    if (to_stdout > 1) throw std::invalid_argument("only one output can go to standard output");
    if (to_stdout && ::isatty(1))
      throw std::invalid_argument("refusing to write a tar to the terminal: redirect standard output or give dest=PATH");
  } catch (const std::invalid_argument& e) {
    err << "error: -o: " << e.what() << "\n";
    return 2;
  }
  for (const std::string& kv : options.labels) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      err << "error: --label needs KEY=VALUE, got \"" << kv << "\"\n";
      return 2;
    }
    req.labels[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const std::string& kv : options.build_contexts) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size()) {
      err << "error: --build-context needs NAME=DIR or NAME=oci-layout://PATH[:TAG], got \"" << kv
          << "\"\n";
      return 2;
    }
    std::string name = kv.substr(0, eq), value = kv.substr(eq + 1);
    bool remote = ClassifySource(value) != SourceKind::kLocal;
    if (value.find("://") != std::string::npos && value.rfind("oci-layout://", 0) != 0 &&
        value.rfind("docker-image://", 0) != 0 && !remote) {
      err << "error: --build-context " << name
          << ": use a directory, oci-layout://PATH[:TAG], docker-image://REF, an http(s) URL of a "
             "tar archive or a Git URL\n";
      return 2;
    }
    if (value == "docker-image://scratch") {
      inv.plan_options.scratch_contexts.insert(name);  // the empty image, as BuildKit reads it
      continue;
    }
    req.named_contexts[name] = value;
    inv.plan_options.named_contexts.insert(name);
  }
  if (options.network != "default" && options.network != "none" && options.network != "host") {
    err << "error: --network: unknown mode \"" << options.network
        << "\" (use default, none or host)\n";
    return 2;
  }
  req.network = options.network;
  for (const std::string& a : options.allow) {
    if (a == "security.insecure") {
      req.allow_insecure = true;
    } else if (a == "network.host") {
      req.allow_network_host = true;
    } else {
      err << "error: --allow: unknown entitlement \"" << a
          << "\" (imgbuild knows security.insecure and network.host)\n";
      return 2;
    }
  }
  try {
    for (const std::string& s : options.secrets) req.secrets.insert(ParseSecretFlag(s));
    for (const std::string& s : options.ssh) req.ssh.insert(ParseSshFlag(s));
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  if (options.jobs < 0) {
    err << "error: --jobs must be 0 (the number of cores) or more\n";
    return 2;
  }
  req.jobs = options.jobs;
  req.no_cache = options.no_cache;
  try {
    for (const std::string& c : options.cache_to) req.cache_to.push_back(ParseCacheSpec(c, true));
    for (const std::string& c : options.cache_from)
      req.cache_from.push_back(ParseCacheSpec(c, false));
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  req.explain_cache = options.explain_cache;
  inv.export_options.level = options.compression_level;
  req.export_compression.compression = inv.export_options.compression;
  req.export_compression.level = options.compression_level;
  for (const std::string& st : options.no_cache_filter)
    req.no_cache_stages.insert(frontend::AsciiLower(st));
  if (options.progress != "auto" && options.progress != "plain" && options.progress != "tty" &&
      options.progress != "rawjson" && options.progress != "quiet") {
    err << "error: --progress: unknown mode \"" << options.progress
        << "\" (use auto, plain, tty, rawjson or quiet)\n";
    return 2;
  }
  try {  // a state dir that cannot be made is reported as such (not as a --cache-limit error)
    req.root = StateDir::Open(options.root).root();
  } catch (const std::exception& e) {
    err << "error: --root: " << e.what() << "\n";
    return 2;
  }
  try {
    const char* env_limit = std::getenv("IMGBUILD_CACHE_LIMIT");
    std::string limit = !options.cache_limit.empty() ? options.cache_limit
                        : env_limit && *env_limit    ? env_limit
                                                     : "10%";
    inv.cache_limit = ParseSize(limit, req.root);
  } catch (const std::exception& e) {
    err << "error: --cache-limit: " << e.what() << "\n";
    return 2;
  }
  if (options.pull != "missing" && options.pull != "always" && options.pull != "never") {
    err << "error: --pull: unknown policy \"" << options.pull
        << "\" (use missing, always or never)\n";
    return 2;
  }
  inv.registry_options.tls_verify = options.tls_verify;
  req.tls_verify = options.tls_verify;
  inv.export_options.memo_dir = StateDir(req.root).compressed();
  req.context_dir = fo.context;
  for (const std::string& t : options.tags) {  // checked before the build, not when it is tagged
    try {
      layers::registry::Reference::Parse(t);
    } catch (const std::invalid_argument& e) {
      err << "error: -t: " << e.what() << "\n";
      return 2;
    }
  }
  req.tags = options.tags;
  if (int code = ParseDockerFlags(options, inv, err)) return code;
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
    try {
      req.source_date_epoch = std::stoll(epoch);
    } catch (...) {
      err << "error: SOURCE_DATE_EPOCH must be a number of seconds, got \"" << epoch << "\"\n";
      return 2;
    }
  }
  if (inv.platforms.size() < 2 && !inv.index_annotations.empty()) {
    err << "error: --annotation index:...: only a multi-platform build (--platform A,B) makes an index\n";
    return 2;
  }
  return 0;
}

}  // namespace imgbuild::builder
