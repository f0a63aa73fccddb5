// Registry credentials and challenges. Credentials come from REGISTRY_AUTH_FILE or
// ~/.docker/config.json: `credHelpers`/`credsStore` through `docker-credential-NAME get|store|
// erase`, `auths` entries (base64 user:password, by OpenSSL's EVP coder). A 401's WWW-Authenticate challenge picks Basic, or the
// Bearer flow: a token for the challenge's realm, service and scope. Secrets never appear in
// error messages.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace imgbuild::layers::registry {

struct Credentials {
  std::string username, password;  // or an identity token in `password` with username "<token>"
};

// The auth file imgbuild reads and `login` writes: $REGISTRY_AUTH_FILE, else
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
std::string AuthFile();

// Credentials for `host` ("docker.io" also matches https://index.docker.io/v1/), if any.
std::optional<Credentials> LookupCredentials(const std::string& host);

// A docker-credential helper that cannot be run or fails (other than "credentials not found"):
// reported, never a silent fallback to another source.
class CredentialHelperError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `imgbuild login` / `logout`: through the helper the auth file names for `host` (credHelpers,
// else credsStore: `docker-credential-NAME store|erase`, the file keeping an empty `auths`
// entry, as docker), else as an `auths` entry of the auth file (0600). Store returns where the
// secret went (the file's path or the helper's name).
std::string StoreCredentials(const std::string& host, const Credentials& c);
bool RemoveCredentials(const std::string& host);

struct Challenge {
  std::string scheme;                         // "basic" or "bearer" (lower case)
  std::map<std::string, std::string> params;  // realm, service, scope, ...
};

// Parses a WWW-Authenticate header value (the first challenge).
std::optional<Challenge> ParseChallenge(const std::string& header);

std::string Base64(const std::string& in);
std::string Base64Decode(const std::string& in);

}  // namespace imgbuild::layers::registry
