// URLs through libcurl's URL API (CURLU), never by string surgery: percent-encoding, a query
// parameter added to a URL that may already have a query (token realms, upload locations), a
// Location header resolved against the URL it answered, and a URL's path.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "layers/error.h"

namespace imgbuild::layers::registry {

class UrlError : public layers::Error {
 public:
  using layers::Error::Error;
};

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string UrlEscape(const std::string& s);
// `url` with each (name, value) appended to its query, both encoded.
std::string WithQuery(const std::string& url, const std::vector<std::pair<std::string, std::string>>& params);
// `reference` (absolute, or relative such as "/v2/x/blobs/uploads/abc?state=1") against `base`.
std::string ResolveUrl(const std::string& base, const std::string& reference);
// The path of `url` as written (still encoded, dot segments kept), "" when it has none.
std::string UrlPathOf(const std::string& url);

}  // namespace imgbuild::layers::registry
