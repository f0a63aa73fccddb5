#include "layers/registry/url.h"

#include <curl/curl.h>

#include <memory>

namespace imgbuild::layers::registry {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using Url = std::unique_ptr<CURLU, UrlDeleter>;

Url Parse(const std::string& url, unsigned extra_flags = 0) {
  Url u(curl_url());
  if (!u) throw UrlError("out of memory");
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE | extra_flags);
  if (rc != CURLUE_OK) throw UrlError("not a URL: \"" + url + "\" (" + curl_url_strerror(rc) + ")");
  return u;
}

std::string Get(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* out = nullptr;
  CURLUcode rc = curl_url_get(u, part, &out, flags);
  if (rc != CURLUE_OK) {
    if (rc == CURLUE_NO_QUERY) return "";
    throw UrlError(std::string("URL: ") + curl_url_strerror(rc));
  }
  std::string s(out);
  curl_free(out);
  return s;
}

}  // namespace

std::string UrlEscape(const std::string& s) {
  char* out = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  if (!out) throw UrlError("out of memory");
  std::string r(out);
  curl_free(out);
  return r;
}

std::string WithQuery(const std::string& url, const std::vector<std::pair<std::string, std::string>>& params) {
  Url u = Parse(url);
  for (const auto& [name, value] : params) {
    std::string pair = UrlEscape(name) + "=" + UrlEscape(value);
    CURLUcode rc = curl_url_set(u.get(), CURLUPART_QUERY, pair.c_str(), CURLU_APPENDQUERY);
    if (rc != CURLUE_OK) throw UrlError("URL " + url + ": " + curl_url_strerror(rc));
  }
  return Get(u.get(), CURLUPART_URL);
}

std::string ResolveUrl(const std::string& base, const std::string& reference) {
  Url u = Parse(base);
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, reference.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) throw UrlError("a Location that is not a URL: \"" + reference + "\" (" + curl_url_strerror(rc) + ")");
  return Get(u.get(), CURLUPART_URL);
}

std::string UrlPathOf(const std::string& url) {
  try {
    Url u = Parse(url, CURLU_PATH_AS_IS);  // dot segments kept, as Go's url.Parse keeps them
    std::string path = Get(u.get(), CURLUPART_PATH);
    return path == "/" && url.find("://") != std::string::npos &&
                   url.find('/', url.find("://") + 3) == std::string::npos
               ? ""
               : path;
  } catch (const UrlError&) {
    return "";
  }
}

}  // namespace imgbuild::layers::registry
