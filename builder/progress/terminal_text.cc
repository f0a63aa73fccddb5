#include "builder/progress/terminal_text.h"

#include <locale.h>
#include <wchar.h>

#include <optional>

namespace imgbuild::builder {
namespace {

// The code point at `text[i]` and its length, or nothing for an invalid sequence.
std::optional<std::pair<char32_t, size_t>> Decode(std::string_view text, size_t i) {
  unsigned char c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return std::pair<char32_t, size_t>{c, 1};
  size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (len == 0 || i + len > text.size()) return std::nullopt;
  char32_t cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return std::nullopt;
  return std::pair<char32_t, size_t>{cp, len};
}

// wcwidth in a UTF-8 locale of this thread's own: imgbuild never sets the process locale (file
// names are bytes), so the measure must not depend on it.
int Columns(char32_t cp) {
  static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  if (cp < 0x80) return cp >= 0x20 && cp != 0x7F ? 1 : 0;
  if (!utf8) return 1;
  locale_t old = uselocale(utf8);
  int w = ::wcwidth(static_cast<wchar_t>(cp));
  uselocale(old);
  return w < 0 ? 1 : w;
}

}  // namespace

std::string CleanLine(std::string_view raw) {
  // What the last carriage return left (a progress bar's final state).
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  if (size_t cr = raw.find_last_of('\r'); cr != std::string_view::npos) raw = raw.substr(cr + 1);
  std::string out;
  size_t column = 0;
  for (size_t i = 0; i < raw.size();) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == 0x1B) {  // ESC: CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \), or ESC + one
      if (i + 1 < raw.size() && raw[i + 1] == '[') {
        i += 2;
        while (i < raw.size() && !(raw[i] >= 0x40 && raw[i] <= 0x7E)) ++i;
        ++i;
      } else if (i + 1 < raw.size() && raw[i + 1] == ']') {
        i += 2;
        while (i < raw.size() && raw[i] != '\x07' && !(raw[i] == '\x1b' && i + 1 < raw.size() && raw[i + 1] == '\\')) ++i;
        i += i < raw.size() && raw[i] == '\x1b' ? 2 : 1;
      } else {
        i += 2;
      }
      continue;
    }
    if (c == '\t') {
      size_t n = 8 - column % 8;
      out.append(n, ' ');
      column += n;
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7F) {  // other control characters draw nothing sensible
      ++i;
      continue;
    }
    std::optional<std::pair<char32_t, size_t>> d = Decode(raw, i);
    if (!d) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++column;
      ++i;
      continue;
    }
    if (d->first >= 0x80 && d->first < 0xA0) {  // C1 controls
      i += d->second;
      continue;
    }
    out.append(raw.substr(i, d->second));
    column += static_cast<size_t>(Columns(d->first));
    i += d->second;
  }
  return out;
}

size_t DisplayWidth(std::string_view text) {
  size_t w = 0;
  for (size_t i = 0; i < text.size();) {
    std::optional<std::pair<char32_t, size_t>> d = Decode(text, i);
    if (!d) {
      ++w;
      ++i;
      continue;
    }
    w += static_cast<size_t>(Columns(d->first));
    i += d->second;
  }
  return w;
}

std::string FitColumns(std::string_view text, size_t columns) {
  size_t w = 0, i = 0;
  while (i < text.size()) {
    std::optional<std::pair<char32_t, size_t>> d = Decode(text, i);
    size_t len = d ? d->second : 1;
    size_t cw = d ? static_cast<size_t>(Columns(d->first)) : 1;
    if (w + cw > columns) break;
    w += cw;
    i += len;
  }
  return std::string(text.substr(0, i));
}

}  // namespace imgbuild::builder
