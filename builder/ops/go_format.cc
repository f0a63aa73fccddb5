#include "builder/ops/go_format.h"

#include <cstdio>

namespace imgbuild::builder {
namespace {

// The escape Go uses for a control byte or quote, or "" when the byte stands for itself.
std::string Escape(unsigned char c, char quote) {
  switch (c) {
    case '\a': return "\\a";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\v': return "\\v";
    case '\\': return "\\\\";
    default: break;
  }
  if (c == static_cast<unsigned char>(quote)) return std::string("\\") + quote;
  if (c < 0x20 || c == 0x7f) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    return buf;
  }
  return "";
}

// Go prints a Duration's fraction without trailing zeros: 1.5s, 2.25ms.
std::string Fraction(int64_t v, int64_t unit) {
  std::string out = std::to_string(v / unit);
  int64_t frac = v % unit;
  if (frac == 0) return out;
  std::string digits;
  for (int64_t u = unit / 10; u > 0; u /= 10) {
    digits += static_cast<char>('0' + frac / u);
    frac %= u;
  }
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

// The length of the valid UTF-8 sequence at s[i] (0 if invalid).
size_t Utf8Length(const std::string& s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

std::string GoQuote(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Valid UTF-8 stands for itself; a stray byte is \xNN, as strconv.Quote writes it.
      size_t n = Utf8Length(s, i);
      if (n) {
        out += s.substr(i, n);
        i += n;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
        ++i;
      }
      continue;
    }
    std::string e = Escape(c, '"');
    out += e.empty() ? std::string(1, static_cast<char>(c)) : e;
    ++i;
  }
  return out + "\"";
}


std::string GoQuotedList(const std::vector<std::string>& words) {
  std::string out = "[";
  for (size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + GoQuote(words[i]);
  return out + "]";
}

std::string GoList(const std::vector<std::string>& words) {
  std::string out = "[";
  for (size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + words[i];
  return out + "]";
}

std::string GoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + Fraction(static_cast<int64_t>(u), 1000) + "µs";
  if (u < 1000000000) return sign + Fraction(static_cast<int64_t>(u), 1000000) + "ms";
  const uint64_t s = 1000000000ULL;
  uint64_t hours = u / (3600 * s), minutes = (u / (60 * s)) % 60;
  std::string secs = Fraction(static_cast<int64_t>(u % (60 * s)), static_cast<int64_t>(s)) + "s";
  if (hours) return sign + std::to_string(hours) + "h" + std::to_string(minutes) + "m" + secs;
  if (minutes) return sign + std::to_string(minutes) + "m" + secs;
  return sign + secs;
}

std::string GoHealthcheck(const layers::Healthcheck& hc) {
  // Retries is an int printed with %q: a quoted rune.
  std::string retries;
  if (hc.retries >= 0x20 && hc.retries < 0x7f) {
    std::string e = Escape(static_cast<unsigned char>(hc.retries), '\'');
    retries = "'" + (e.empty() ? std::string(1, static_cast<char>(hc.retries)) : e) + "'";
  } else if (hc.retries >= 0 && hc.retries < 0x80) {
    retries = "'" + Escape(static_cast<unsigned char>(hc.retries), '\'') + "'";
  } else {
    char buf[16];
    std::snprintf(buf, sizeof buf, "'\\u%04x'", static_cast<unsigned>(hc.retries) & 0xffff);
    retries = buf;
  }
  return "&{" + GoQuotedList(hc.test) + " " + GoQuote(GoDuration(hc.interval)) + " " + GoQuote(GoDuration(hc.timeout)) + " " +
         GoQuote(GoDuration(hc.start_period)) + " " + GoQuote(GoDuration(hc.start_interval)) + " " + retries + "}";
}

}  // namespace imgbuild::builder
