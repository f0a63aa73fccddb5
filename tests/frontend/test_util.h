// Helpers shared by the frontend tests: reading files of the source tree.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace imgbuild::testing {

inline std::string SourcePath(const std::string& relative) {
  return std::string(IMGBUILD_SOURCE_DIR) + "/" + relative;
}

inline std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(SourcePath(relative), std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool SourceFileExists(const std::string& relative) {
  return std::ifstream(SourcePath(relative)).good();
}

}  // namespace imgbuild::testing
