// Finding and reading the Buildfile: `-f FILE`, `-f -` (standard input), or CONTEXT/Buildfile,
// then Dockerfile, then Containerfile.
#pragma once

#include <stdexcept>
#include <string>

namespace imgbuild::builder {

struct BuildfileSource {
  std::string path;          // as shown in messages; "-" for standard input
  std::string display_name;  // what diagnostics call the file
  std::string text;
};

// The largest Buildfile read (heredocs included): bigger is refused with a clear error.
inline constexpr size_t kMaxBuildfileSize = size_t{16} << 20;

class BuildfileNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws BuildfileNotFound when no file is found or it cannot be read.
BuildfileSource LoadBuildfile(const std::string& file_flag, const std::string& context_dir);

}  // namespace imgbuild::builder
