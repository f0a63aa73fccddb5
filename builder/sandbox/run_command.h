// What a RUN executes, from its planned step: the argv (exec form as written; shell form through
// SHELL; heredocs as BuildKit runs them) and the environment the command sees.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "frontend/steps.h"

namespace imgbuild::builder {

struct RunCommand {
  std::vector<std::string> argv;
  // Scripts the command runs from /dev/pipes/NAME (a lone heredoc that starts with "#!").
  std::vector<std::pair<std::string, std::string>> scripts;
};

// `RUN <<EOF` alone: the body is the script (run through SHELL, or directly when it starts with
// a shebang). Heredocs with a command line go to the shell as written, bodies included.
RunCommand MakeRunCommand(const frontend::RunStep& run, const std::vector<std::string>& shell);

// The command's environment: the image's ENV, then the ARGs in scope that ENV does not shadow,
// then `extra` (secrets as env); PATH defaults to Docker's and HOME to the user's home.
std::vector<std::string> MakeRunEnv(const std::vector<std::string>& image_env, const std::vector<std::string>& build_args,
                                    const std::vector<std::string>& extra, const std::string& home);

// How the command reads in history and errors: "/bin/sh -c make all".
std::string ShowCommand(const std::vector<std::string>& argv);

}  // namespace imgbuild::builder
