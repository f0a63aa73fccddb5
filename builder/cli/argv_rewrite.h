// What the command line means before CLI11 parses it, in docker's terms: docker's command
// aliases (`rmi`, `image ls|rm|inspect|prune`, `builder prune`), `help [CMD]` and `version`, a
// `--root DIR` given before the command, and the implicit `build` (`imgbuild -t app .`), which
// only a directory, `-` or a flag starts; an unknown word is a usage error with a suggestion;
// docker's bare `build --pull` (= --pull=always).
// Then, for the command found, option values that are options themselves (`-t --root`) and
// unknown options (`--tga`) are named before CLI11 blames some other argument.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace imgbuild::builder {

struct Rewritten {
  std::vector<std::string> args;  // argv[0] first
  std::string error;              // a usage error (exit 2), or empty
};

// `commands`: the subcommand names CLI11 knows. `is_dir` tells whether a word names a directory.
Rewritten RewriteArgs(const std::vector<std::string>& argv, const std::vector<std::string>& commands,
                      const std::function<bool(const std::string&)>& is_dir);

// The options of one command: each name ("-t", "--tag") and whether it takes a value.
using OptionTable = std::map<std::string, bool>;

// Checks the arguments after the command word (args[2...]): an option that takes a value must not
// be followed by an option (`-t --root`; `-t=--x` or `--tag=--x` pass a value that starts with
// '-'); an unknown long option is named, with the closest known one. Returns an error or "".
std::string CheckOptions(const std::vector<std::string>& args, const std::string& command, const OptionTable& options);

}  // namespace imgbuild::builder
