// Registry credentials and challenges. Credentials come from REGISTRY_AUTH_FILE or
// ~/.docker/config.json: `auths` entries (base64 user:password), `credHelpers`/`credsStore`
// through `docker-credential-NAME get`. A 401's WWW-Authenticate challenge picks Basic, or the
// Bearer flow: a token for the challenge's realm, service and scope. Secrets never appear in
// error messages.
#pragma once

#include <map>
#include <optional>
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

// `imgbuild login` / `logout`: stored as an `auths` entry of the auth file (0600).
void StoreCredentials(const std::string& host, const Credentials& c);
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
