#include "layers/registry/reference.h"

#include <cctype>
#include <cstdio>

namespace imgbuild::layers::registry {
namespace {

bool ValidComponent(const std::string& c) {
  // [a-z0-9]+ separated by '.', '_', '__' or '-'+ (distribution/reference)
  if (c.empty() || !std::isalnum(static_cast<unsigned char>(c.front())) || !std::isalnum(static_cast<unsigned char>(c.back()))) {
    return false;
  }
  for (char ch : c) {
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' ||
          ch == '_' || ch == '-')) {
      return false;
    }
  }
  return true;
}

bool ValidTag(const std::string& t) {
  if (t.empty() || t.size() > 128 || t[0] == '.' || t[0] == '-') return false;
  for (char ch : t) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-')) return false;
  }
  return true;
}

// A name as an error message shows it: in quotes, control bytes as \xNN, so a name holding a
// newline or a terminal escape sequence cannot forge output.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

Reference Reference::Parse(const std::string& text) {
  if (text.empty()) throw ReferenceError("empty image reference");
  Reference r;
  std::string rest = text;
  if (size_t at = rest.find('@'); at != std::string::npos) {
    r.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (r.digest.rfind("sha256:", 0) != 0 || r.digest.size() != 71 ||
        r.digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos) {
      throw ReferenceError("invalid digest in " + Quoted(text) + " (expected sha256:<64 hex>)");
    }
  }
  size_t slash = rest.find('/');
  std::string first = rest.substr(0, slash);
  bool has_domain = slash != std::string::npos &&
                    (first.find_first_of(".:") != std::string::npos || first == "localhost" ||
                     first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos);
  std::string path = rest;
  if (has_domain) {
    r.domain = first;
    path = rest.substr(slash + 1);
  } else {
    r.domain = "docker.io";
  }
  if (r.domain == "index.docker.io") r.domain = "docker.io";
  if (r.domain.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
      std::string::npos) {
    throw ReferenceError("invalid registry host " + Quoted(r.domain) + " in " + Quoted(text));
  }
  size_t colon = path.find_last_of(':');
  if (colon != std::string::npos) {
    r.tag = path.substr(colon + 1);
    path = path.substr(0, colon);
    if (!ValidTag(r.tag)) throw ReferenceError("invalid tag " + Quoted(r.tag) + " in " + Quoted(text));
  } else if (r.digest.empty()) {
    r.tag = "latest";
  }
  if (r.domain == "docker.io" && path.find('/') == std::string::npos) path = "library/" + path;
  size_t start = 0;
  while (start <= path.size()) {
    size_t next = path.find('/', start);
    if (next == std::string::npos) next = path.size();
    std::string component = path.substr(start, next - start);
    if (!ValidComponent(component)) {
      throw ReferenceError("invalid repository name " + Quoted(path) + " in " + Quoted(text) +
                           " (lower-case letters, digits and . _ - separators only)");
    }
    start = next + 1;
  }
  r.repository = path;
  return r;
}

std::string Reference::Endpoint() const { return domain == "docker.io" ? "registry-1.docker.io" : domain; }

std::string Reference::String() const {
  std::string s = domain + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::Familiar() const {
  std::string s = repository;
  if (domain == "docker.io") {
    if (s.rfind("library/", 0) == 0 && s.find('/', 8) == std::string::npos) s = s.substr(8);
  } else {
    s = domain + "/" + s;
  }
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

}  // namespace imgbuild::layers::registry
