// BuildKit writes some history texts with Go's fmt verbs (`CMD %q`, `SHELL %v`, `HEALTHCHECK %q`
// of a struct); these render values the same way, so `docker history` shows identical lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layers/image.h"

namespace imgbuild::builder {

// strconv.Quote: "a\"b" with Go's escapes.
std::string GoQuote(const std::string& s);
// %q of a []string: ["a" "b"].
std::string GoQuotedList(const std::vector<std::string>& words);
// %v of a []string: [a b].
std::string GoList(const std::vector<std::string>& words);
// time.Duration.String(): 1m30s, 500ms, 0s.
std::string GoDuration(int64_t ns);
// %q of BuildKit's *HealthConfig: &{["CMD-SHELL" "true"] "5s" "0s" "0s" "0s" '\x03'}.
std::string GoHealthcheck(const layers::Healthcheck& hc);

}  // namespace imgbuild::builder
