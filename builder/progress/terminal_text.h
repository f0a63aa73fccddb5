// Text made fit for one terminal line: step output cleaned (carriage returns interpreted, tabs
// expanded, escape sequences and control characters dropped, invalid UTF-8 replaced) and measured
// in columns as the terminal draws them (wcwidth: wide characters take two, combining ones none),
// so a live view can cut lines that never wrap.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace imgbuild::builder {

std::string CleanLine(std::string_view raw);
size_t DisplayWidth(std::string_view text);
// The longest prefix of `text` that takes at most `columns` columns (never half a character).
std::string FitColumns(std::string_view text, size_t columns);

}  // namespace imgbuild::builder
