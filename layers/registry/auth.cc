#include "layers/registry/auth.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include <openssl/evp.h>

#include "layers/subprocess.h"
#include "layers/sys_error.h"

extern char** environ;

namespace imgbuild::layers::registry {
namespace {

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

// Runs `docker-credential-NAME VERB` with `input` on standard input (docker's helper protocol).
ProgramResult RunHelper(const std::string& helper, const std::string& verb, const std::string& input) {
  try {
    return RunProgram({"docker-credential-" + helper, verb}, input);
  } catch (const SysError& e) {
    throw CredentialHelperError("credential helper docker-credential-" + helper + " (named in " + AuthFile() +
                                ") cannot be run: " + e.what());
  }
}

std::string HelperFailure(const std::string& helper, const std::string& verb, const ProgramResult& r) {
  std::string why = !r.out.empty() ? r.out : r.err;
  while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
  return "credential helper docker-credential-" + helper + " " + verb + " failed (exit " + std::to_string(r.exit_code) +
         ")" + (why.empty() ? "" : ": " + why);
}

// `get`: the credentials, nothing when the helper has none for `host` (its "credentials not found"
// answer), CredentialHelperError for any other failure: never a silent fallback.
std::optional<Credentials> FromHelper(const std::string& helper, const std::string& host) {
  ProgramResult r = RunHelper(helper, "get", host + "\n");
  if (r.exit_code != 0) {
    if ((r.out + r.err).find("credentials not found") != std::string::npos) return std::nullopt;
    throw CredentialHelperError(HelperFailure(helper, "get", r));
  }
  try {
    auto j = nlohmann::json::parse(r.out);
    return Credentials{j.value("Username", ""), j.value("Secret", "")};
  } catch (const std::exception&) {
    throw CredentialHelperError("credential helper docker-credential-" + helper + " get answered something that is not JSON");
  }
}

// The helper that keeps `host`'s credentials (credHelpers, else credsStore), or "".
std::string HelperFor(const nlohmann::json& cfg, const std::string& host) {
  for (const std::string& key : Keys(host)) {
    if (cfg.contains("credHelpers") && cfg["credHelpers"].contains(key) && cfg["credHelpers"][key].is_string())
      return cfg["credHelpers"][key].get<std::string>();
  }
  if (cfg.contains("credsStore") && cfg["credsStore"].is_string()) return cfg["credsStore"].get<std::string>();
  return "";
}

}  // namespace

// Base64 through OpenSSL's EVP block coder (no hand-written codec).
std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Base64Decode(const std::string& in) {
  std::string text = in;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.size() % 4 != 0) return "";
  std::string out(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return "";
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);  // EVP_DecodeBlock counts the padding as zero bytes
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

std::string StoreCredentials(const std::string& host, const Credentials& c) {
  nlohmann::json cfg = ReadAuthFile();
  std::string key = Keys(host).front();
  std::string helper = HelperFor(cfg, host);
  if (!helper.empty()) {
    // As docker: the secret goes to the helper, the file only names the registry.
    nlohmann::json creds = {{"ServerURL", key}, {"Username", c.username}, {"Secret", c.password}};
    ProgramResult r = RunHelper(helper, "store", creds.dump());
    if (r.exit_code != 0) throw CredentialHelperError(HelperFailure(helper, "store", r));
    cfg["auths"][key] = nlohmann::json::object();
  } else {
    cfg["auths"][key] = {{"auth", Base64(c.username + ":" + c.password)}};
  }
  std::string path = AuthFile();
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos) MakeDirs(path.substr(0, slash), 0700);
  WriteFileAtomic(path, cfg.dump(2) + "\n", 0600);
  return helper.empty() ? path : "docker-credential-" + helper;
}

bool RemoveCredentials(const std::string& host) {
  nlohmann::json cfg = ReadAuthFile();
  bool removed = false;
  std::string helper = HelperFor(cfg, host);
  if (!helper.empty()) {
    for (const std::string& key : Keys(host)) {
      ProgramResult r = RunHelper(helper, "erase", key + "\n");
      if (r.exit_code == 0) {
        removed = true;
      } else if ((r.out + r.err).find("not found") == std::string::npos) {
        throw CredentialHelperError(HelperFailure(helper, "erase", r));
      }
    }
  }
  bool edited = false;
  for (const std::string& key : Keys(host)) {
    if (cfg.contains("auths") && cfg["auths"].contains(key)) {
      cfg["auths"].erase(key);
      removed = edited = true;
    }
  }
  if (edited) WriteFileAtomic(AuthFile(), cfg.dump(2) + "\n", 0600);
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
