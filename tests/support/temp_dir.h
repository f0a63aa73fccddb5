// A temporary directory for a test, removed with everything below it (after unmounting what a
// test left mounted there) however the test ends.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace imgbuild::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "imgbuild-test") {
    std::string t = "/tmp/" + prefix + "-XXXXXX";
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    if (::geteuid() == 0) {
      std::string cmd = "grep -o ' " + path_ + "[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null";
      if (std::system(cmd.c_str()) != 0) {
        // nothing was mounted
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }
  // Writes `text` to path()/rel, making its parents.
  void Write(const std::string& rel, const std::string& text) const {
    std::filesystem::path p = path_ + "/" + rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }

 private:
  std::string path_;
};

}  // namespace imgbuild::testing
