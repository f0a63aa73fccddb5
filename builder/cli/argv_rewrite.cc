#include "builder/cli/argv_rewrite.h"

#include <algorithm>

#include "frontend/suggest.h"

namespace imgbuild::builder {
namespace {

// docker's spellings of our commands: one word, or a group and a word.
const std::map<std::string, std::string> kAliases = {{"rmi", "rm"}, {"image ls", "images"}, {"image list", "images"},
                                                     {"image rm", "rm"}, {"image inspect", "inspect"},
                                                     {"image prune", "prune"}, {"image tag", "tag"}, {"image history", "history"},
                                                     {"image save", "save"}, {"image load", "load"},
                                                     {"image pull", "pull"}, {"image push", "push"},
                                                     {"builder prune", "prune"}, {"buildx build", "build"}};

}  // namespace

Rewritten RewriteArgs(const std::vector<std::string>& argv, const std::vector<std::string>& commands,
                      const std::function<bool(const std::string&)>& is_dir) {
  Rewritten out;
  if (argv.empty()) return out;
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  // A global --root before the command moves after it (every store command takes --root).
  std::vector<std::string> root;
  while (!rest.empty() && (rest[0] == "--root" || rest[0].rfind("--root=", 0) == 0)) {
    if (rest[0] == "--root") {
      if (rest.size() < 2) {
        out.error = "--root needs a directory";
        return out;
      }
      root = {"--root", rest[1]};
      rest.erase(rest.begin(), rest.begin() + 2);
    } else {
      root = {rest[0]};
      rest.erase(rest.begin());
    }
  }
  std::vector<std::string> args{argv[0]};
  auto is_command = [&](const std::string& w) { return std::find(commands.begin(), commands.end(), w) != commands.end(); };
  if (!rest.empty()) {
    const std::string first = rest[0];
    if (first == "help") {
      if (rest.size() > 1) args.push_back(rest[1]);
      args.push_back("--help");
      out.args = args;
      return out;
    }
    if (first == "version") {
      out.args = {argv[0], "--version"};
      return out;
    }
    std::string command;
    size_t used = 1;
    if (rest.size() > 1 && kAliases.count(first + " " + rest[1])) {
      command = kAliases.at(first + " " + rest[1]);
      used = 2;
    } else if (kAliases.count(first)) {
      command = kAliases.at(first);
    } else if (is_command(first) || first == "--help" || first == "-h" || first == "--version") {
      command = first;
    } else if (first[0] == '-' || is_dir(first)) {
      command = "build";  // `imgbuild -t app .`, `imgbuild .`, `imgbuild -`
      used = 0;
    } else {
      std::vector<std::string> known = commands;
      for (const auto& [alias, target] : kAliases) known.push_back(alias);
      known.push_back("help");
      known.push_back("version");
      out.error = "unknown command \"" + first + "\"" + frontend::DidYouMean(first, known) +
                  " (a build's context must be an existing directory or -; see imgbuild --help)";
      return out;
    }
    args.push_back(command);
    args.insert(args.end(), root.begin(), root.end());
    args.insert(args.end(), rest.begin() + static_cast<long>(used), rest.end());
    if (command == "build") {
      // docker's bare `--pull` (a boolean there) means always; `--pull POLICY` keeps its value.
      static const std::vector<std::string> kPolicies = {"missing", "always", "never", "true", "false"};
      for (size_t i = 2; i < args.size(); ++i) {
        if (args[i] == "--") break;
        if (args[i] == "--pull" &&
            (i + 1 == args.size() || std::find(kPolicies.begin(), kPolicies.end(), args[i + 1]) == kPolicies.end()))
          args[i] = "--pull=always";
      }
    }
  } else {
    args.insert(args.end(), root.begin(), root.end());
  }
  out.args = args;
  return out;
}

std::string CheckOptions(const std::vector<std::string>& args, const std::string& command, const OptionTable& options) {
  std::vector<std::string> long_names;
  for (const auto& [name, takes_value] : options) {
    if (name.rfind("--", 0) == 0) long_names.push_back(name.substr(2));
  }
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    std::string name = a.substr(0, a.find('='));
    auto it = options.find(name);
    if (it == options.end()) {
      if (name.rfind("--", 0) == 0) {
        return "unknown flag " + name + " for " + command + frontend::DidYouMean(name.substr(2), long_names, "--");
      }
      continue;  // short option clusters are left to CLI11
    }
    if (!it->second || a.find('=') != std::string::npos) continue;
    if (i + 1 >= args.size()) return "option " + name + " of " + command + " needs a value";
    const std::string& value = args[i + 1];
    if (value.size() > 1 && value[0] == '-') {
      return "option " + name + " of " + command + " needs a value, but \"" + value +
             "\" is an option (write " + name + "=" + value + " if the value starts with -)";
    }
    ++i;
  }
  return "";
}

}  // namespace imgbuild::builder
