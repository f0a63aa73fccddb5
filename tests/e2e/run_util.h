// Runs the imgbuild binary as a user would and captures its exit code and output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace imgbuild::testing {

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `imgbuild ARGS` through /bin/sh from the source directory; `stdin_text` is fed to it and
// `env` ("K=V K2=V2") is added to its environment.
inline RunResult RunImgbuild(const std::string& args, const std::string& stdin_text = "", const std::string& env = "") {
  char dir_template[] = "/tmp/imgbuild-run-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::ofstream(dir + "/in") << stdin_text;
  std::string cmd = "cd '" IMGBUILD_SOURCE_DIR "' && " + (env.empty() ? "" : "env " + env + " ") + "'" IMGBUILD_BINARY "' " + args + " <'" + dir +
                    "/in' >'" + dir + "/out' 2>'" + dir + "/err'";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(dir + "/out");
  r.err = Slurp(dir + "/err");
  std::system(("rm -rf '" + dir + "'").c_str());
  return r;
}

// Runs a shell command; returns its output (stdout and stderr) and sets `code`.
inline std::string Sh(const std::string& cmd, int* code = nullptr) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (code) *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// How many times `needle` occurs in `text`.
inline size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// Unmounts whatever a test left mounted below `dir` (podman's storage, a killed build's
// snapshots) and removes it: what every end-to-end fixture does last, however the test ended.
inline void RemoveTestDir(const std::string& dir) {
  if (dir.empty()) return;
  Sh("grep -o ' " + dir + "[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace imgbuild::testing
