#include "builder/cli/flags.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "layers/registry/reference.h"

namespace imgbuild::builder {

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> SplitKeyValues(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& kv : SplitList(text)) {
    size_t eq = kv.find('=');
    out.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
  }
  return out;
}

OutputSpec ParseOutputSpec(const std::string& text) {
  OutputSpec o;
  // buildx's shorthands: `-o -` is a tar of the root filesystem on standard output, `-o PATH` the
  // root filesystem in PATH.
  if (text == "-") return {"tar", "-", true, "", false};
  if (!text.empty() && text.find('=') == std::string::npos) return {"local", text, true, "", false};
  for (const auto& [k, v] : SplitKeyValues(text)) {
    if (k == "type") o.type = v;
    else if (k == "dest") o.dest = v;
    else if (k == "tar") o.tar = v != "false";
    else if (k == "name") o.name = v;
    else if (k == "push") o.push = v == "true";
    else throw std::invalid_argument("unknown output option \"" + k + "\" in " + text);
  }
  if (o.type == "image" || o.type == "registry") {
    if (o.name.empty()) throw std::invalid_argument("output " + text + " needs name=REF");
    if (o.type == "registry") o.push = true;
    o.type = "image";
    return o;
  }
  if (o.type != "oci" && o.type != "docker" && o.type != "local" && o.type != "tar") {
    throw std::invalid_argument("unsupported output type \"" + o.type + "\" (use oci, docker, local, tar, image or registry)");
  }
  if (o.dest.empty() && o.type == "local") throw std::invalid_argument("output " + text + " needs dest=DIR");
  if (o.dest.empty()) o.dest = "-";  // a tar on standard output (refused on a terminal), as buildx
  if (o.dest == "-" && o.type == "local") throw std::invalid_argument("type=local writes a directory: use type=tar for standard output");
  if (o.dest == "-" && o.type == "oci" && !o.tar) throw std::invalid_argument("type=oci,tar=false writes a directory, not standard output");
  return o;
}

cache::CacheTransferSpec ParseCacheSpec(const std::string& text, bool for_export) {
  // `--cache-from REF`: docker's shorthand for type=registry,ref=REF.
  if (!for_export && text.find('=') == std::string::npos) return ParseCacheSpec("type=registry,ref=" + text, false);
  cache::CacheTransferSpec spec;
  for (const auto& [k, v] : SplitKeyValues(text)) {
    if (k == "type") spec.type = v;
    else if (k == (for_export ? "dest" : "src")) spec.dir = v;
    else if (k == "ref") spec.ref = v;
    else if (k == "mode" && for_export && (v == "min" || v == "max")) spec.max = v == "max";
    else throw std::invalid_argument("unknown or bad option \"" + k + (v.empty() ? "" : "=" + v) + "\" in " + text);
  }
  if (spec.type == "registry") {
    if (spec.ref.empty()) throw std::invalid_argument(text + " needs ref=REF");
    layers::registry::Reference::Parse(spec.ref);  // throws ReferenceError (an invalid_argument)
    return spec;
  }
  if (spec.type != "local") {
    throw std::invalid_argument("cache type \"" + spec.type + "\" is not supported (use type=local or type=registry)");
  }
  if (spec.dir.empty()) throw std::invalid_argument(text + " needs " + (for_export ? "dest=DIR" : "src=DIR"));
  return spec;
}

std::pair<std::string, SecretSource> ParseSecretFlag(const std::string& text) {
  std::string id, type;
  SecretSource src;
  for (const auto& [k, v] : SplitKeyValues(text)) {
    if (k == "id") id = v;
    else if (k == "src" || k == "source") src.file = v;
    else if (k == "env") src.env = v;
    else if (k == "type") type = v;
    else throw std::invalid_argument("unknown --secret option \"" + k + "\"");
  }
  if (id.empty()) throw std::invalid_argument("--secret needs id=ID");
  if (!src.file.empty() && !src.env.empty()) throw std::invalid_argument("--secret " + id + ": give src= or env=, not both");
  if (src.file.empty() && src.env.empty()) {
    if (type == "file" || (type.empty() && !std::getenv(id.c_str()))) {
      src.file = id;
    } else {
      src.env = id;
    }
  }
  return {id, src};
}

std::pair<std::string, std::vector<std::string>> ParseSshFlag(const std::string& text) {
  size_t eq = text.find('=');
  std::string id = text.substr(0, eq);
  std::vector<std::string> paths;
  if (eq != std::string::npos) {
    paths = SplitList(text.substr(eq + 1));
  }
  if (id.empty()) throw std::invalid_argument("--ssh needs ID[=SOCKET|KEY,...]");
  if (paths.empty()) {
    const char* sock = std::getenv("SSH_AUTH_SOCK");
    if (!sock || !*sock) throw std::invalid_argument("--ssh " + id + ": no path given and SSH_AUTH_SOCK is not set");
    paths.push_back(sock);
  }
  return {id, paths};
}

std::pair<std::string, std::string> ParseAddHost(const std::string& text) {
  // NAME:ADDRESS splits at the first ':' (an IPv6 address has more), NAME=ADDRESS at '='.
  size_t sep = text.find('=');
  if (sep == std::string::npos) sep = text.find(':');
  if (sep == std::string::npos || sep == 0 || sep + 1 == text.size())
    throw std::invalid_argument("--add-host needs NAME:ADDRESS, got \"" + text + "\"");
  std::string name = text.substr(0, sep), address = text.substr(sep + 1);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  if (address == "host-gateway")
    throw std::invalid_argument("--add-host " + name + ":host-gateway: imgbuild has no daemon bridge; give the address");
  unsigned char buf[sizeof(struct in6_addr)];
  if (::inet_pton(AF_INET, address.c_str(), buf) != 1 && ::inet_pton(AF_INET6, address.c_str(), buf) != 1)
    throw std::invalid_argument("--add-host " + text + ": \"" + address + "\" is not an IP address");
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
      throw std::invalid_argument("--add-host " + text + ": \"" + name + "\" is not a host name");
  }
  return {name, address};
}

SandboxRlimit ParseUlimit(const std::string& text) {
  static const std::map<std::string, int> kNames = {
      {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
      {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
      {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
      {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
      {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
      {"stack", RLIMIT_STACK}};
  size_t eq = text.find('=');
  std::string name = text.substr(0, eq);
  auto it = kNames.find(name);
  if (eq == std::string::npos || it == kNames.end()) {
    std::string names;
    for (const auto& [n, r] : kNames) names += (names.empty() ? "" : ", ") + n;
    throw std::invalid_argument("--ulimit needs NAME=SOFT[:HARD] with NAME one of " + names + ", got \"" + text + "\"");
  }
  auto value = [&](const std::string& v) -> uint64_t {
    if (v == "-1") return RLIM_INFINITY;
    size_t pos = 0;
    unsigned long long n = 0;
    try {
      n = std::stoull(v, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos == 0 || pos != v.size() || v[0] == '-') throw std::invalid_argument("--ulimit " + text + ": \"" + v + "\" is not a number");
    return n;
  };
  std::string limits = text.substr(eq + 1);
  size_t colon = limits.find(':');
  SandboxRlimit l;
  l.resource = it->second;
  l.soft = value(limits.substr(0, colon));
  l.hard = colon == std::string::npos ? l.soft : value(limits.substr(colon + 1));
  if (l.soft > l.hard) throw std::invalid_argument("--ulimit " + text + ": the soft limit is above the hard one");
  return l;
}

}  // namespace imgbuild::builder
