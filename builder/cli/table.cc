#include "builder/cli/table.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>

namespace imgbuild::builder {
namespace {

// Display width: UTF-8 continuation bytes take no column.
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string Tabulate(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 10);
      widths[i] = std::max(widths[i], Width(row[i]) + 3);
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - Width(row[i]), ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string HumanSize(double bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  size_t unit = 0;
  while (bytes >= 1000.0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1000.0;
    ++unit;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g%s", bytes, kUnits[unit]);
  return buf;
}

std::string HumanDuration(double seconds_ago) {
  auto n = [](const char* fmt, long v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return std::string(buf);
  };
  long seconds = static_cast<long>(seconds_ago);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return n("%ld seconds", seconds);
  long minutes = static_cast<long>(seconds_ago / 60);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return n("%ld minutes", minutes);
  long hours = static_cast<long>(std::llround(seconds_ago / 3600));
  if (hours == 1) return "About an hour";
  if (hours < 48) return n("%ld hours", hours);
  if (hours < 24 * 7 * 2) return n("%ld days", hours / 24);
  if (hours < 24 * 30 * 2) return n("%ld weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return n("%ld months", hours / 24 / 30);
  return n("%ld years", static_cast<long>(seconds_ago / 3600) / 24 / 365);
}

int64_t ParseRfc3339(const std::string& text) {
  struct tm tm {};
  const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  if (*rest == '.') {
    ++rest;
    while (*rest >= '0' && *rest <= '9') ++rest;
  }
  int64_t t = ::timegm(&tm);
  if (*rest == 'Z' || *rest == 'z') return rest[1] == '\0' ? t : -1;
  int hh = 0, mm = 0;
  char sign = *rest;
  if ((sign != '+' && sign != '-') || std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
  int64_t offset = hh * 3600 + mm * 60;
  return sign == '+' ? t - offset : t + offset;
}

std::string GoTime(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

}  // namespace imgbuild::builder
