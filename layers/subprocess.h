// Runs a helper program (git, a docker-credential helper) without a shell: argv as given, looked
// up on PATH, standard input from a string, standard output and error captured. For the few
// programs imgbuild is allowed to use; never for internal work (tar, cp, mount, sh).
#pragma once

#include <string>
#include <vector>

namespace imgbuild::layers {

struct ProgramResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out, err;
};

// Throws SysError when the program cannot be started (not installed: ENOENT).
// `env` entries ("K=V") are added to (or replace those of) imgbuild's environment.
ProgramResult RunProgram(const std::vector<std::string>& argv, const std::string& input = "",
                         const std::vector<std::string>& env = {});

}  // namespace imgbuild::layers
