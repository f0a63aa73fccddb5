#include "layers/registry/auth.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "layers/sys_error.h"

extern char** environ;

namespace imgbuild::layers::registry {
namespace {

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

nlohmann::json ReadAuthFile() {
  try {
    return nlohmann::json::parse(ReadFile(AuthFile()));
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

std::vector<std::string> Keys(const std::string& host) {
  if (host == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io") {
    return {"https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"};
  }
  return {host, "https://" + host, "http://" + host};
}

// Runs `docker-credential-NAME get` with the host on standard input.
std::optional<Credentials> FromHelper(const std::string& helper, const std::string& host) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::string prog = "docker-credential-" + helper;
  char* argv[] = {prog.data(), const_cast<char*>("get"), nullptr};
  pid_t pid;
  int err = posix_spawnp(&pid, prog.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (err != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return std::nullopt;
  }
  std::string query = host + "\n";
  ssize_t w = ::write(in[1], query.data(), query.size());
  (void)w;
  ::close(in[1]);
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(reply);
    return Credentials{j.value("Username", ""), j.value("Secret", "")};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string Base64(const std::string& in) {
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kB64[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kB64[((val << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

std::string Base64Decode(const std::string& in) {
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char c : in) {
    const char* p = std::strchr(kB64, c);
    if (c == '=' || !p || !c) break;
    val = (val << 6) + static_cast<int>(p - kB64);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string AuthFile() {
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) return f;
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return std::string(d) + "/config.json";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.docker/config.json";
}

std::optional<Credentials> LookupCredentials(const std::string& host) {
  nlohmann::json cfg = ReadAuthFile();
  for (const std::string& key : Keys(host)) {
    if (cfg.contains("credHelpers") && cfg["credHelpers"].contains(key)) {
      return FromHelper(cfg["credHelpers"][key].get<std::string>(), key);
    }
  }
  for (const std::string& key : Keys(host)) {
    if (!cfg.contains("auths") || !cfg["auths"].contains(key)) continue;
    const auto& a = cfg["auths"][key];
    if (a.contains("identitytoken") && !a["identitytoken"].get<std::string>().empty()) {
      return Credentials{"<token>", a["identitytoken"].get<std::string>()};
    }
    std::string decoded = Base64Decode(a.value("auth", ""));
    size_t colon = decoded.find(':');
    if (colon != std::string::npos) return Credentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
    if (a.contains("username")) return Credentials{a.value("username", ""), a.value("password", "")};
  }
  if (cfg.contains("credsStore")) {
    for (const std::string& key : Keys(host)) {
      if (auto c = FromHelper(cfg["credsStore"].get<std::string>(), key)) return c;
    }
  }
  return std::nullopt;
}

void StoreCredentials(const std::string& host, const Credentials& c) {
  nlohmann::json cfg = ReadAuthFile();
  std::string key = Keys(host).front();
  cfg["auths"][key] = {{"auth", Base64(c.username + ":" + c.password)}};
  std::string path = AuthFile();
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos) MakeDirs(path.substr(0, slash), 0700);
  WriteFileAtomic(path, cfg.dump(2) + "\n", 0600);
}

bool RemoveCredentials(const std::string& host) {
  nlohmann::json cfg = ReadAuthFile();
  bool removed = false;
  for (const std::string& key : Keys(host)) {
    if (cfg.contains("auths") && cfg["auths"].contains(key)) {
      cfg["auths"].erase(key);
      removed = true;
    }
  }
  if (removed) WriteFileAtomic(AuthFile(), cfg.dump(2) + "\n", 0600);
  return removed;
}

std::optional<Challenge> ParseChallenge(const std::string& header) {
  size_t sp = header.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  Challenge c;
  c.scheme = header.substr(0, sp);
  for (char& ch : c.scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  size_t pos = sp + 1;
  while (pos < header.size()) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == ',')) ++pos;
    size_t eq = header.find('=', pos);
    if (eq == std::string::npos) break;
    std::string key = header.substr(pos, eq - pos);
    pos = eq + 1;
    std::string value;
    if (pos < header.size() && header[pos] == '"') {
      size_t end = header.find('"', pos + 1);
      if (end == std::string::npos) end = header.size();
      value = header.substr(pos + 1, end - pos - 1);
      pos = end + 1;
    } else {
      size_t end = header.find(',', pos);
      if (end == std::string::npos) end = header.size();
      value = header.substr(pos, end - pos);
      pos = end;
    }
    c.params[key] = value;
  }
  return c;
}

}  // namespace imgbuild::layers::registry
