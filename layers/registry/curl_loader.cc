// libcurl, loaded on first use. imgbuild links no libcurl: these definitions of the libcurl
// functions it calls load libcurl.so.4 with dlopen the first time one is called and forward to it.
// libcurl pulls in some 25 shared libraries (TLS, Kerberos, LDAP, SSH, IDN, ...) whose loading
// and constructors were most of the start-up of every command, and most commands (a build with
// nothing to pull, images, inspect, ...) never make a request.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include <cstdarg>
#include <string>

#include "layers/lazy_library.h"

namespace {

imgbuild::layers::LazyLibrary& Curl() {
  static imgbuild::layers::LazyLibrary library("libcurl.so.4", "libcurl4");
  return library;
}

// Each forwarder looks its function up once.
#define IMGBUILD_CURL(name) static const auto real = Curl().Symbol<decltype(&::name)>(#name)

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) {
  IMGBUILD_CURL(curl_global_init);
  return real(flags);
}
CURL* curl_easy_init() {
  IMGBUILD_CURL(curl_easy_init);
  return real();
}
void curl_easy_cleanup(CURL* curl) {
  IMGBUILD_CURL(curl_easy_cleanup);
  real(curl);
}
CURLcode curl_easy_perform(CURL* curl) {
  IMGBUILD_CURL(curl_easy_perform);
  return real(curl);
}
const char* curl_easy_strerror(CURLcode code) {
  IMGBUILD_CURL(curl_easy_strerror);
  return real(code);
}
char* curl_easy_escape(CURL* curl, const char* s, int length) {
  IMGBUILD_CURL(curl_easy_escape);
  return real(curl, s, length);
}
void curl_free(void* p) {
  IMGBUILD_CURL(curl_free);
  real(p);
}
curl_slist* curl_slist_append(curl_slist* list, const char* s) {
  IMGBUILD_CURL(curl_slist_append);
  return real(list, s);
}
void curl_slist_free_all(curl_slist* list) {
  IMGBUILD_CURL(curl_slist_free_all);
  real(list);
}
CURLU* curl_url() {
  IMGBUILD_CURL(curl_url);
  return real();
}
void curl_url_cleanup(CURLU* u) {
  IMGBUILD_CURL(curl_url_cleanup);
  real(u);
}
CURLUcode curl_url_get(CURLU* u, CURLUPart what, char** part, unsigned int flags) {
  IMGBUILD_CURL(curl_url_get);
  return real(u, what, part, flags);
}
CURLUcode curl_url_set(CURLU* u, CURLUPart what, const char* part, unsigned int flags) {
  IMGBUILD_CURL(curl_url_set);
  return real(u, what, part, flags);
}
const char* curl_url_strerror(CURLUcode code) {
  IMGBUILD_CURL(curl_url_strerror);
  return real(code);
}

// The variadic two pass their one argument on as the type the option's number range says
// (libcurl's own rule: CURLOPTTYPE_* and CURLINFO_* bases).
CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  IMGBUILD_CURL(curl_easy_setopt);
  va_list ap;
  va_start(ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = real(curl, option, va_arg(ap, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = real(curl, option, va_arg(ap, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    rc = real(curl, option, va_arg(ap, void (*)()));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = real(curl, option, va_arg(ap, curl_off_t));
  } else {
    rc = real(curl, option, va_arg(ap, void*));
  }
  va_end(ap);
  return rc;
}
CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  IMGBUILD_CURL(curl_easy_getinfo);
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);  // every CURLINFO_* takes a pointer to where the answer goes
  va_end(ap);
  return real(curl, info, out);
}

}  // extern "C"
