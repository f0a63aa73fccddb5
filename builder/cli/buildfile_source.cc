#include "builder/cli/buildfile_source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <sys/stat.h>

namespace imgbuild::builder {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Reads at most kMaxBuildfileSize bytes (and one more, to tell a file that is too big).
std::string ReadBounded(std::istream& in, const std::string& shown) {
  // Read in pieces: a Buildfile is small, and a 16 MiB buffer zeroed up front was a quarter of a
  // no-op build's time (issue 16).
  std::string text;
  char piece[65536];
  while (text.size() <= kMaxBuildfileSize && in.read(piece, sizeof piece).gcount() > 0) {
    text.append(piece, static_cast<size_t>(in.gcount()));
  }
  if (text.size() > kMaxBuildfileSize) {
    throw BuildfileNotFound(shown + " is larger than " + std::to_string(kMaxBuildfileSize >> 20) +
                            " MiB, the most a Buildfile may be");
  }
  return text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BuildfileNotFound("cannot read " + path + ": " + std::strerror(errno));
  return ReadBounded(in, path);
}

}  // namespace

BuildfileSource LoadBuildfile(const std::string& file_flag, const std::string& context_dir) {
  BuildfileSource src;
  if (file_flag == "-") {
    src.path = "-";
    src.display_name = "<stdin>";
    src.text = ReadBounded(std::cin, "the Buildfile on standard input");
    return src;
  }
  if (!file_flag.empty()) {
    if (!IsRegularFile(file_flag)) throw BuildfileNotFound("no Buildfile at " + file_flag);
    src.path = file_flag;
  } else {
    // `dockerfile` in lower case too, as BuildKit's fallback (moby/moby#10858).
    for (const char* name : {"Buildfile", "Dockerfile", "Containerfile", "dockerfile"}) {
      std::string candidate = context_dir + "/" + name;
      if (IsRegularFile(candidate)) {
        src.path = candidate;
        break;
      }
    }
    if (src.path.empty()) {
      throw BuildfileNotFound("no Buildfile, Dockerfile or Containerfile in " + context_dir +
                              " (use -f FILE)");
    }
  }
  src.display_name = src.path;
  src.text = ReadFile(src.path);
  return src;
}

}  // namespace imgbuild::builder
