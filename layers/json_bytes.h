// Byte strings in JSON documents, losslessly. File names and Buildfile words are bytes (a Latin-1
// or otherwise invalid UTF-8 name is legal on Linux), while JSON strings must be UTF-8. A string
// that is valid UTF-8 and does not start with NUL is stored as it is, so every ordinary document
// reads the same as before; any other byte string is stored as NUL + base64 of its bytes (no
// file name or UTF-8 text starts with NUL, so the two forms never collide).
#pragma once

#include <string>
#include <string_view>

namespace imgbuild::layers {

bool IsValidUtf8(std::string_view s);
// The JSON form of `bytes` (see above).
std::string BytesToJsonString(std::string_view bytes);
// The bytes back; a string without the NUL mark is returned as it is. Throws on bad base64.
std::string BytesFromJsonString(std::string_view s);

}  // namespace imgbuild::layers
