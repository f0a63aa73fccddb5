#include "frontend/diagnostics.h"

#include <cstdio>

namespace imgbuild::frontend {

std::string FormatDiagnostic(std::string_view file, Location loc, std::string_view message,
                             std::string_view source) {
  // A NUL byte shows as U+2400 (one column, and it does not end the message where C strings do).
  std::string shown;
  for (char c : source) shown += c == '\0' ? std::string("\xE2\x90\x80") : std::string(1, c);
  std::string_view source_line = shown;
  std::string out(file);
  if (loc.line > 0) {
    out += ":" + std::to_string(loc.line);
    if (loc.column > 0) out += ":" + std::to_string(loc.column);
  }
  out += ": ";
  out += message;
  if (loc.line > 0 && !source_line.empty()) {
    std::string number = std::to_string(loc.line);
    out += "\n " + number + " | ";
    out += source_line;
    out += "\n " + std::string(number.size(), ' ') + " | ";
    // Tabs stay tabs so the caret lines up whatever the terminal's tab width.
    int col = 1;
    for (size_t i = 0; i < source_line.size() && col < loc.column; ++i) {
      unsigned char c = static_cast<unsigned char>(source_line[i]);
      if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
      out += c == '\t' ? '\t' : ' ';
      ++col;
    }
    out += '^';
  }
  return out;
}

ParseError::ParseError(std::string file, Location loc, std::string message,
                       std::string source_line)
    : Error(FormatDiagnostic(file, loc, message, source_line)),
      file_(std::move(file)),
      loc_(loc),
      message_(std::move(message)),
      source_line_(std::move(source_line)) {}

std::string FormatSourceLines(std::string_view text, int first, int last) {
  std::string out;
  int line_no = 1;
  size_t pos = 0;
  while (pos <= text.size() && line_no <= last) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    if (line_no >= first) {
      char num[16];
      std::snprintf(num, sizeof num, "%5d | ", line_no);
      out += num;
      out += text.substr(pos, nl - pos);
      out += "\n";
    }
    pos = nl + 1;
    ++line_no;
  }
  return out;
}

}  // namespace imgbuild::frontend
