#include "builder/sandbox/run_command.h"

#include <algorithm>

namespace imgbuild::builder {
namespace {

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// True when `line` is nothing but the heredoc marker of `name`: <<NAME, <<-NAME, <<"NAME", <<'NAME'.
bool IsOnlyMarker(const std::string& line, const std::string& name) {
  std::string t = Trim(line);
  if (t.rfind("<<", 0) != 0) return false;
  t = t.substr(2);
  if (!t.empty() && t[0] == '-') t = t.substr(1);
  if (t.size() >= 2 && (t[0] == '"' || t[0] == '\'') && t.back() == t[0]) t = t.substr(1, t.size() - 2);
  return t == name;
}

std::string Key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

}  // namespace

RunCommand MakeRunCommand(const frontend::RunStep& run, const std::vector<std::string>& shell) {
  RunCommand out;
  if (run.exec_form) {
    out.argv = run.cmd;
    return out;
  }
  std::string line = run.cmd.empty() ? "" : run.cmd[0];
  out.argv = shell;
  if (run.heredocs.size() == 1 && IsOnlyMarker(line, run.heredocs[0].name)) {
    const auto& doc = run.heredocs[0];
    if (doc.content.rfind("#!", 0) == 0) {
      out.scripts.emplace_back(doc.name, doc.content);
      out.argv = {"/dev/pipes/" + doc.name};
    } else {
      out.argv.push_back(doc.content);
    }
    return out;
  }
  for (const auto& doc : run.heredocs) {
    line += "\n" + doc.content;
    if (!doc.content.empty() && doc.content.back() != '\n') line += "\n";
    line += doc.name;
  }
  out.argv.push_back(line);
  return out;
}

std::vector<std::string> MakeRunEnv(const std::vector<std::string>& image_env, const std::vector<std::string>& build_args,
                                    const std::vector<std::string>& extra, const std::string& home) {
  std::vector<std::string> env;
  auto set = [&](const std::string& kv, bool override) {
    auto it = std::find_if(env.begin(), env.end(), [&](const std::string& e) { return Key(e) == Key(kv); });
    if (it == env.end()) {
      env.push_back(kv);
    } else if (override) {
      *it = kv;
    }
  };
  for (const std::string& kv : image_env) set(kv, true);
  for (const std::string& kv : build_args) set(kv, false);
  for (const std::string& kv : extra) set(kv, true);
  set(kDefaultPath, false);
  set("HOME=" + home, false);
  return env;
}

std::string ShowCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace imgbuild::builder
