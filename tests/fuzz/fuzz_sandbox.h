// For fuzz targets that write files: a private work directory, and the process dropped to
// "nobody" before the first input, so a path bug the fuzzer finds can only write where nobody
// may, never over a host file as root.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace imgbuild::fuzzing {

inline std::string MakeWorkDirAndDropRoot(const char* prefix) {
  std::string t = std::string("/tmp/") + prefix + "-XXXXXX";
  if (!::mkdtemp(t.data())) std::abort();
  if (::geteuid() == 0) {
    if (::chown(t.c_str(), 65534, 65534) != 0) std::abort();
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) {
      std::abort();
    }
  }
  return t;
}

}  // namespace imgbuild::fuzzing
