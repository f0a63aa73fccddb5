// The few Unicode facts the lexers need (Go's unicode.IsSpace/IsLetter/IsDigit), on code points
// decoded from UTF-8 so that multi-byte text is never split. Invalid bytes decode to
// kRawByteBase + byte and encode back to that same byte.
#pragma once

#include <string>
#include <string_view>

namespace imgbuild::frontend::shell {

inline constexpr char32_t kEof = 0xFFFFFFFF;
inline constexpr char32_t kRawByteBase = 0x110000;

bool IsSpace(char32_t c);
bool IsLetter(char32_t c);
bool IsDigit(char32_t c);

// Decodes the code point at `pos`, storing its length in bytes in `len`.
char32_t DecodeAt(std::string_view s, size_t pos, size_t* len);
void AppendUtf8(std::string& out, char32_t c);

}  // namespace imgbuild::frontend::shell
