#include "frontend/lower.h"
#include "frontend/words.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "frontend/checks.h"
#include "frontend/flags.h"
#include "frontend/heredoc.h"
#include "frontend/parser.h"
#include "frontend/suggest.h"

namespace imgbuild::frontend {
namespace {

// Go's time.ParseDuration: "300ms", "1.5h", "2h45m", "-1s", "0".
std::optional<int64_t> ParseDuration(std::string s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    s.erase(0, 1);
  }
  if (s == "0") return 0;
  static const std::vector<std::pair<std::string, double>> kUnits = {
      {"ns", 1}, {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3}, {"ms", 1e6},
      {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double total = 0;
  size_t i = 0;
  if (s.empty()) return std::nullopt;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double n;
    try {
      n = std::stod(s.substr(start, i - start));
    } catch (...) {
      return std::nullopt;
    }
    size_t ustart = i;
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    std::string unit = s.substr(ustart, i - ustart);
    auto u = std::find_if(kUnits.begin(), kUnits.end(), [&](auto& p) { return p.first == unit; });
    if (u == kUnits.end()) return std::nullopt;
    total += n * u->second;
  }
  if (total > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(negative ? -total : total);
}

bool ValidChmod(const std::string& v) {
  static const std::regex kOctal("^[0-7]{1,4}$");
  static const std::regex kSymbolic("^([ugoa]*[-+=]([rwxXst]*|[ugo]))(,[ugoa]*[-+=]([rwxXst]*|[ugo]))*$");
  return std::regex_match(v, kOctal) || std::regex_match(v, kSymbolic);
}

bool ValidChecksum(const std::string& v) {
  static const std::regex kDigest("^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$");
  return std::regex_match(v, kDigest);
}

bool IsRemoteSource(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("git@", 0) == 0 ||
         s.rfind("git://", 0) == 0 || s.find(".git#") != std::string::npos ||
         (s.size() > 4 && s.compare(s.size() - 4, 4, ".git") == 0);
}

// Whether every source is a Git repository (BuildKit's test: git@, git://, ssh://, or an http(s)
// URL whose path ends in .git, with an optional #fragment).
bool GitLike(const std::vector<CopySource>& sources) {
  if (sources.empty()) return false;
  for (const CopySource& s : sources) {
    if (s.heredoc) return false;
    std::string url = s.path.substr(0, s.path.find('#'));
    size_t q = url.find('?');
    if (q != std::string::npos) url = url.substr(0, q);
    bool git = url.rfind("git@", 0) == 0 || url.rfind("git://", 0) == 0 || url.rfind("ssh://", 0) == 0 ||
               ((url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) && url.size() > 4 &&
                url.compare(url.size() - 4, 4, ".git") == 0);
    if (!git) return false;
  }
  return true;
}

class Lowerer {
 public:
  explicit Lowerer(const ast::File& file) : file_(file) {}

  Program Run() {
    program_.file = file_.name;
    program_.directives = file_.directives;
    size_t done = 0;
    try {
      for (; done < file_.nodes.size(); ++done) LowerNode(file_.nodes[done]);
    } catch (ParseError& e) {
      // The build checks of what came before the error are reported with it, as BuildKit does.
      e.set_warnings(RunChecks(file_, program_, done));
      throw;
    }
    if (program_.stages.empty()) {
      const ast::Node& last = file_.nodes.back();
      Fail({last.end_line, 0}, "the Buildfile has no FROM instruction: a build needs at least one stage");
    }
    program_.warnings = RunChecks(file_, program_);
    return std::move(program_);
  }

 private:
  void LowerNode(const ast::Node& node) {
    if (!node.known) UnknownInstruction(node);
    if (node.keyword == "FROM") {
      program_.stages.push_back(LowerFrom(node));
      return;
    }
    if (program_.stages.empty()) {
      if (node.keyword != "ARG") {
        Fail(node.location, node.keyword + " comes before the first FROM; only ARG may come before FROM");
      }
      ArgInstr a = LowerArg(node);
      for (ArgDecl& d : a.args) program_.meta_args.push_back({std::move(d), node.location, node.comments});
      return;
    }
    Stage& stage = program_.stages.back();
    stage.instructions.push_back(LowerInstruction(node));
    stage.end_line = node.end_line;
  }

  [[noreturn]] void Fail(Location loc, const std::string& message) {
    throw ParseError(file_.name, loc, message, file_.Line(loc.line));
  }

  [[noreturn]] void UnknownInstruction(const ast::Node& node) {
    Fail(node.location, "unknown instruction: " + node.keyword_raw +
                            DidYouMean(node.keyword, InstructionKeywords()));
  }

  FlagValues Flags(const ast::Node& node) {
    try {
      return ParseFlags(node.keyword, node.flags);
    } catch (const FlagError& e) {
      Fail(e.location, e.what());
    }
  }

  Stage LowerFrom(const ast::Node& node) {
    FlagValues flags = Flags(node);
    Stage stage;
    stage.index = static_cast<int>(program_.stages.size());
    stage.location = node.location;
    stage.end_line = node.end_line;
    stage.original = node.original;
    stage.comments = node.comments;
    stage.platform = flags.String("platform");
    const auto& a = node.args;
    if (a.empty()) Fail(node.args_location, "FROM needs an image: FROM IMAGE [AS NAME]");
    if (a.size() == 2 || a.size() > 3 || (a.size() == 3 && AsciiLower(a[1]) != "as")) {
      Fail(node.args_location, "FROM takes one image and an optional stage name: FROM IMAGE [AS NAME]");
    }
    stage.base = a[0];
    if (a.size() == 3) {
      static const std::regex kName("^[a-z][a-z0-9\\-_.]*$");
      std::string name = AsciiLower(a[2]);
      Location name_loc = ArgLocation(node, 2);
      if (!std::regex_match(name, kName)) {
        Fail(name_loc, "invalid stage name \"" + a[2] +
                           "\": it must start with a letter and hold only letters, digits, '-', '_' and '.'");
      }
      // A reserved or repeated name is a build check (ReservedStageName, DuplicateStageName), as
      // BuildKit: a repeated name refers to its latest definition.
      stage.name = name;
    }
    return stage;
  }

  // Best-effort location of the i-th blank-separated argument word.
  Location ArgLocation(const ast::Node& node, size_t index) {
    Location loc = node.args_location;
    std::string_view line = file_.Line(loc.line);
    size_t byte = 0;
    for (int col = 1; byte < line.size() && col < loc.column; ++byte) {
      if ((static_cast<unsigned char>(line[byte]) & 0xC0) != 0x80) ++col;
    }
    for (size_t w = 0; w < index; ++w) {
      while (byte < line.size() && line[byte] != ' ' && line[byte] != '\t') ++byte, ++loc.column;
      while (byte < line.size() && (line[byte] == ' ' || line[byte] == '\t')) ++byte, ++loc.column;
    }
    if (byte >= line.size()) return node.args_location;
    return loc;
  }

  ArgInstr LowerArg(const ast::Node& node) {
    Flags(node);
    if (node.args.empty()) Fail(node.args_location, "ARG needs a name: ARG NAME[=DEFAULT] ...");
    ArgInstr instr;
    for (const std::string& w : node.args) {
      ArgDecl d;
      size_t eq = w.find('=');
      d.name = w.substr(0, eq);
      if (eq != std::string::npos) d.default_value = w.substr(eq + 1);
      if (d.name.empty()) Fail(node.args_location, "ARG names can not be blank (in \"" + w + "\")");
      instr.args.push_back(std::move(d));
    }
    return instr;
  }

  Instruction LowerInstruction(const ast::Node& node) {
    Instruction instr;
    instr.keyword = node.keyword;
    instr.location = node.location;
    instr.end_line = node.end_line;
    instr.original = node.original;
    const std::string& k = node.keyword;
    FlagValues flags = Flags(node);
    auto need_args = [&](const char* usage) {
      if (node.args.empty()) Fail(node.args_location, k + " needs an argument: " + usage);
    };
    if (k == "RUN") {
      RunInstr r;
      r.cmd = node.args;
      r.exec_form = node.json;
      r.heredocs = node.heredocs;
      if (r.cmd.empty() && r.heredocs.empty()) Fail(node.args_location, "RUN needs a command to run");
      r.network = flags.String("network", "default");
      if (r.network != "default" && r.network != "none" && r.network != "host") {
        Fail(flags.locations["network"], "unsupported network mode \"" + r.network +
                                             "\" for RUN --network; use default, none or host" +
                                             DidYouMean(r.network, {"default", "none", "host"}));
      }
      r.security = flags.String("security", "sandbox");
      if (r.security != "sandbox" && r.security != "insecure") {
        Fail(flags.locations["security"], "unsupported security mode \"" + r.security +
                                              "\" for RUN --security; use sandbox or insecure");
      }
      for (const ast::Flag& f : node.flags) {
        if (f.name != "mount" || !f.value) continue;
        r.mounts.push_back(*f.value);
        try {
          r.mount_specs.push_back(ParseMount(*f.value));
        } catch (const MountError& e) {
          Fail(f.location, std::string("bad --mount: ") + e.what());
        }
      }
      instr.op = std::move(r);
    } else if (k == "CMD" || k == "ENTRYPOINT") {
      instr.op = CmdInstr{node.args, node.json};
    } else if (k == "SHELL") {
      need_args("SHELL [\"executable\", \"parameters\"]");
      if (!node.json) {
        Fail(node.args_location, "SHELL needs the exec (JSON) form, e.g. SHELL [\"/bin/sh\", \"-c\"]");
      }
      instr.op = ShellInstr{node.args};
    } else if (k == "COPY" || k == "ADD") {
      instr.op = LowerCopy(node, flags);
    } else if (k == "ENV" || k == "LABEL") {
      if (node.pairs.empty()) Fail(node.args_location, k + " needs at least one name=value pair");
      for (const ast::KeyValue& kv : node.pairs) {
        if (kv.key.empty()) Fail(node.args_location, k + " names can not be blank");
      }
      instr.op = KeyValuesInstr{node.pairs, node.legacy_key_value};
    } else if (k == "ARG") {
      instr.op = LowerArg(node);
    } else if (k == "EXPOSE") {
      need_args("EXPOSE PORT[/PROTOCOL] ...");
      instr.op = WordsInstr{node.args, false};
    } else if (k == "VOLUME") {
      need_args("VOLUME PATH ...");
      for (const std::string& v : node.args) {
        if (v.empty()) Fail(node.args_location, "VOLUME paths can not be empty strings");
      }
      instr.op = WordsInstr{node.args, node.json};
    } else if (k == "USER" || k == "WORKDIR" || k == "STOPSIGNAL" || k == "MAINTAINER") {
      static const std::map<std::string, std::string> kUsage = {
          {"USER", "USER NAME[:GROUP]"}, {"WORKDIR", "WORKDIR PATH"},
          {"STOPSIGNAL", "STOPSIGNAL SIGNAL"}, {"MAINTAINER", "MAINTAINER NAME"}};
      need_args(kUsage.at(k).c_str());
      if (k == "STOPSIGNAL" && node.args[0].find_first_of(" \t") != std::string::npos) {
        Fail(node.args_location, "STOPSIGNAL takes exactly one signal, got \"" + node.args[0] + "\"");
      }
      instr.op = ValueInstr{node.args[0]};
    } else if (k == "HEALTHCHECK") {
      instr.op = LowerHealthcheck(node, flags);
    } else if (k == "ONBUILD") {
      instr.op = LowerOnbuild(node);
    } else {
      UnknownInstruction(node);
    }
    return instr;
  }

  CopyInstr LowerCopy(const ast::Node& node, FlagValues& flags) {
    const std::string& k = node.keyword;
    CopyInstr c;
    c.is_add = k == "ADD";
    c.exec_form = node.json;
    if (node.args.size() < 2) {
      Fail(node.args_location, k + " needs at least one source and a destination: " + k +
                                   " SRC... DEST" +
                                   (node.args.size() == 1 ? " (only \"" + node.args[0] + "\" was given)"
                                                          : std::string()));
    }
    const std::string& dest = node.args.back();
    if (ParseHeredocMarker(dest)) {
      Fail(ArgLocation(node, node.args.size() - 1),
           k + " cannot take a heredoc as its destination: the heredoc is a source, the last word the path");
    }
    c.dest = dest;
    for (size_t i = 0; i + 1 < node.args.size(); ++i) {
      CopySource src;
      src.path = node.args[i];
      if (auto marker = ParseHeredocMarker(node.args[i])) {
        for (const ast::Heredoc& h : node.heredocs) {
          if (h.name == marker->name) src.heredoc = h;
        }
        if (src.heredoc) src.path = marker->name;
      }
      c.sources.push_back(std::move(src));
    }
    c.from = flags.String("from");
    c.chown = flags.String("chown");
    c.chmod = flags.String("chmod");
    c.link = flags.Bool("link");
    c.parents = flags.Bool("parents");
    c.excludes = flags.List("exclude");
    if (c.is_add) {
      c.checksum = flags.String("checksum");
      c.keep_git_dir = flags.Bool("keep-git-dir");
      c.unpack = flags.OptionalBool("unpack");
    }
    if (flags.Has("chmod") && c.chmod.find('$') == std::string::npos && !ValidChmod(c.chmod)) {
      Fail(flags.locations["chmod"], "invalid chmod parameter: '" + c.chmod +
                                         "'. it should be octal string and between 0 and 07777, or a symbolic "
                                         "mode (u+x,go-w)");
    }
    if (flags.Has("chown") && c.chown.empty()) Fail(flags.locations["chown"], "--chown needs a user");
    if (flags.Has("from") && c.from.empty()) Fail(flags.locations["from"], "--from needs a stage, image or context name");
    if (c.from.find('$') != std::string::npos) {
      Fail(flags.locations["from"],
           "variable expansion is not supported for --from, define a new stage with FROM using ARG from global "
           "scope as a workaround");
    }
    if (!c.checksum.empty()) {
      // A Git source's checksum is (a prefix of) the commit it must resolve to.
      bool commit = c.checksum.size() >= 7 && c.checksum.size() <= 64 &&
                    c.checksum.find_first_not_of("0123456789abcdef") == std::string::npos;
      if (c.checksum.find('$') == std::string::npos && !ValidChecksum(c.checksum) && !(commit && GitLike(c.sources))) {
        Fail(flags.locations["checksum"], "invalid --checksum=" + c.checksum +
                                              ": expected sha256:<64 hex digits> (or sha384/sha512), or a commit for a Git source");
      }
      for (const CopySource& s : c.sources) {
        if (!s.heredoc && !IsRemoteSource(s.path) && s.path.find('$') == std::string::npos) {
          Fail(flags.locations["checksum"],
               "checksum requires HTTP(S) or Git sources (\"" + s.path + "\" is neither)");
        }
      }
    }
    return c;
  }

  HealthcheckInstr LowerHealthcheck(const ast::Node& node, FlagValues& flags) {
    HealthcheckInstr h;
    if (node.args.empty()) Fail(node.args_location, "HEALTHCHECK needs CMD COMMAND or NONE");
    std::string type = node.args[0];
    std::string upper = AsciiUpper(type);
    if (upper == "NONE") {
      if (node.args.size() != 1) Fail(node.args_location, "HEALTHCHECK NONE takes no arguments");
      h.none = true;
      h.test = {"NONE"};
      return h;
    }
    if (upper != "CMD") {
      Fail(node.args_location, "unknown HEALTHCHECK type \"" + type + "\" (use CMD or NONE)");
    }
    if (node.args.size() < 2) Fail(node.args_location, "HEALTHCHECK CMD needs a command");
    if (node.json) {
      h.test = {"CMD"};
      h.test.insert(h.test.end(), node.args.begin() + 1, node.args.end());
    } else {
      h.test = {"CMD-SHELL", node.args[1]};
    }
    auto duration = [&](const char* name, std::optional<int64_t>& out) {
      if (!flags.Has(name)) return;
      std::string v = flags.String(name);
      if (v.empty()) return;
      std::optional<int64_t> d = ParseDuration(v);
      if (!d) Fail(flags.locations[name], std::string("invalid duration --") + name + "=" + v + " (e.g. 30s, 1m30s)");
      if (*d != 0 && *d < 1000000) {
        Fail(flags.locations[name], std::string("--") + name + "=" + v + " cannot be less than 1ms");
      }
      out = d;
    };
    duration("interval", h.interval_ns);
    duration("timeout", h.timeout_ns);
    duration("start-period", h.start_period_ns);
    duration("start-interval", h.start_interval_ns);
    if (flags.Has("retries")) {
      std::string v = flags.String("retries");
      static const std::regex kInt("^[+-]?[0-9]{1,9}$");
      if (!std::regex_match(v, kInt)) Fail(flags.locations["retries"], "invalid --retries=" + v + ": expected a whole number");
      int n = std::stoi(v);
      if (n < 0) Fail(flags.locations["retries"], "--retries cannot be negative (" + v + ")");
      h.retries = n;
    }
    return h;
  }

  OnbuildInstr LowerOnbuild(const ast::Node& node) {
    if (!node.inner) Fail(node.args_location, "ONBUILD needs an instruction to run later: ONBUILD INSTRUCTION");
    const ast::Node& inner = *node.inner;
    if (inner.keyword == "ONBUILD") {
      Fail(inner.location, "ONBUILD ONBUILD is not allowed: triggers cannot be chained");
    }
    if (inner.keyword == "FROM" || inner.keyword == "MAINTAINER") {
      Fail(inner.location, inner.keyword + " isn't allowed as an ONBUILD trigger");
    }
    if (!inner.known) UnknownInstruction(inner);
    OnbuildInstr o;
    o.expression = std::regex_replace(node.original, std::regex("^\\s*[oO][nN][bB][uU][iI][lL][dD]\\s*"), "");
    // A heredoc's body belongs to the trigger (`ONBUILD RUN <<EOF`): it is stored with it.
    for (const ast::Heredoc& h : inner.heredocs) {
      o.expression += "\n" + h.content;
      if (!h.content.empty() && h.content.back() != '\n') o.expression += "\n";
      o.expression += h.name;
    }
    o.trigger = std::make_shared<Instruction>(LowerInstruction(inner));
    return o;
  }

  const ast::File& file_;
  Program program_;
};

}  // namespace

const std::vector<std::string>& InstructionKeywords() {
  static const std::vector<std::string> kKeywords = {
      "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
      "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};
  return kKeywords;
}

Program Lower(const ast::File& file) { return Lowerer(file).Run(); }

Program ParseProgram(std::string_view text, std::string file_name) {
  return Lower(Parse(text, std::move(file_name)));
}

}  // namespace imgbuild::frontend
