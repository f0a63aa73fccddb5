// Docker's tables: cells separated by tabs, laid out as Go's tabwriter does for docker's listings
// (each column as wide as its widest cell plus 3, at least 10; the last column unpadded).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace imgbuild::builder {

std::string Tabulate(const std::vector<std::vector<std::string>>& rows);

// Sizes as docker prints them: decimal units, 3 significant digits ("2.13MB", "512B", "0B").
std::string HumanSize(double bytes);
// How long ago, as docker says it ("3 seconds", "About an hour", "2 weeks"), for `seconds` ago.
std::string HumanDuration(double seconds);
// The Unix time of an RFC 3339 timestamp ("2024-01-02T03:04:05.123Z", "...+02:00"); nullopt-like
// -1 for a text that is not one.
int64_t ParseRfc3339(const std::string& text);
// "2024-01-02 03:04:05 +0000 UTC", as Go prints a UTC time.
std::string GoTime(int64_t unix_seconds);

}  // namespace imgbuild::builder
