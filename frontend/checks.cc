#include "frontend/checks.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <span>

#include "frontend/shell/lexer.h"
#include "frontend/suggest.h"
#include "frontend/words.h"

namespace imgbuild::frontend {
namespace {

std::string Kebab(const std::string& rule) {
  std::string out;
  for (size_t i = 0; i < rule.size(); ++i) {
    char c = rule[i];
    bool upper = std::isupper(static_cast<unsigned char>(c));
    // "JSONArgs" -> "json-args": break before an upper case letter that starts a new word.
    if (upper && i > 0 &&
        (std::islower(static_cast<unsigned char>(rule[i - 1])) ||
         (i + 1 < rule.size() && std::islower(static_cast<unsigned char>(rule[i + 1])) &&
          std::isupper(static_cast<unsigned char>(rule[i - 1]))))) {
      out += '-';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsAllLower(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return std::isupper(c); });
}
bool IsAllUpper(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return std::islower(c); });
}

// Variables a word reads, found by expanding it with nothing defined.
std::set<std::string> VariablesIn(const std::string& word, char escape) {
  try {
    shell::LexOptions o;
    o.escape = escape;
    return shell::Expand(word, nullptr, o).unmatched;
  } catch (const shell::ExpandError&) {
    return {};
  }
}

// What a stage carries into the stages built FROM it, as far as the checks care.
struct Inherited {
  bool shell = false;             // a SHELL was set: shell-form CMD/ENTRYPOINT is intended
  bool absolute_workdir = false;  // an absolute WORKDIR was set: relative ones are anchored
};

// `word` expanded with `vars` (unset variables empty); `word` itself when it cannot be.
std::string ExpandOr(const std::string& word, const std::map<std::string, std::string>& vars) {
  try {
    return shell::Expand(word, [&](std::string_view n) -> std::optional<std::string> {
             auto it = vars.find(std::string(n));
             if (it == vars.end()) return std::nullopt;
             return it->second;
           }).word;
  } catch (const shell::ExpandError&) {
    return word;
  }
}

// Whether `ref` has the shape of an image reference ([host[:port]/]path[:tag][@digest]).
bool LooksLikeImageRef(const std::string& ref) {
  static const std::regex kRef(
      "^(?:[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*(?::[0-9]+)?/)?"
      "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
      "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$");
  return std::regex_match(ref, kRef);
}

class Checker {
 public:
  Checker(const ast::File& file, const Program& program, size_t nodes)
      : file_(file), program_(program), nodes_(std::min(nodes, file.nodes.size())) {}

  std::vector<Warning> Run() {
    Casing();
    for (const ast::Node& n : Nodes()) {
      if (n.empty_continuation) {
        Add("NoEmptyContinuation", "Empty continuation line", {n.empty_continuation_line, 1});
      }
    }
    std::set<std::string> meta;
    for (const MetaArg& a : program_.meta_args) {
      meta.insert(a.decl.name);
      SecretName("ARG", a.decl.name, a.location);
    }
    // What a stage inherits from a base stage of this file: a SHELL (JSONArgsRecommended) and
    // an absolute WORKDIR (WorkdirRelativePath).
    std::map<std::string, size_t> by_name;
    std::vector<Inherited> inherited(program_.stages.size());
    for (size_t k = 0; k < program_.stages.size(); ++k) {
      const Stage& s = program_.stages[k];
      FromChecks(s, meta);
      if (auto base = by_name.find(AsciiLower(s.base)); base != by_name.end()) inherited[k] = inherited[base->second];
      if (!s.name.empty()) {
        if (s.name == "scratch" || s.name == "context") {
          Add("ReservedStageName", "Stage name should not use the same name as reserved stage \"" + s.name + "\"",
              s.location);
        }
        if (by_name.count(s.name)) {
          Add("DuplicateStageName", "Duplicate stage name \"" + s.name + "\", stage names should be unique", s.location);
        }
        by_name[s.name] = k;
      }
      // MultipleInstructionsDisallowed names every instruction a later one overrides.
      std::map<std::string, Location> last;
      for (const Instruction& i : s.instructions) {
        InstructionChecks(i, inherited[k]);
        const std::string& kw = i.keyword;
        if (kw == "CMD" || kw == "ENTRYPOINT" || kw == "HEALTHCHECK") {
          if (auto prev = last.find(kw); prev != last.end()) {
            Add("MultipleInstructionsDisallowed",
                "Multiple " + kw + " instructions should not be used in the same stage because only the last one will be used",
                prev->second);
          }
          last[kw] = i.location;
        }
      }
    }
    std::stable_sort(warnings_.begin(), warnings_.end(),
                     [](const Warning& a, const Warning& b) { return a.location.line < b.location.line; });
    std::vector<Warning> out;
    const CheckConfig& config = file_.directives.check_config;
    for (Warning& w : warnings_) {
      if (config.skip_all) break;
      if (std::find(config.skip.begin(), config.skip.end(), w.rule) != config.skip.end()) continue;
      out.push_back(std::move(w));
    }
    return out;
  }

 private:
  void Add(const std::string& rule, std::string message, Location loc) {
    warnings_.push_back({rule, std::move(message), loc,
                         "https://docs.docker.com/go/dockerfile/rule/" + Kebab(rule) + "/"});
  }

  void Casing() {
    // Instruction keywords should all share the casing of the majority.
    int lower = 0, upper = 0;
    for (const ast::Node& n : Nodes()) {
      if (IsAllLower(n.keyword_raw)) ++lower;
      else if (IsAllUpper(n.keyword_raw)) ++upper;
    }
    bool majority_lower = lower > upper;
    for (const ast::Node& n : Nodes()) {
      bool ok = majority_lower ? IsAllLower(n.keyword_raw) : IsAllUpper(n.keyword_raw);
      if (!ok) {
        Add("ConsistentInstructionCasing",
            "Command '" + n.keyword_raw + "' should match the case of the command majority (" +
                (majority_lower ? "lowercase" : "uppercase") + ")",
            n.location);
      }
      if (n.keyword == "FROM" && n.args.size() == 3) {
        const std::string& as = n.args[1];
        bool from_upper = IsAllUpper(n.keyword_raw), as_upper = IsAllUpper(as);
        bool from_lower = IsAllLower(n.keyword_raw), as_lower = IsAllLower(as);
        if ((from_upper && !as_upper) || (from_lower && !as_lower)) {
          Add("FromAsCasing", "'" + as + "' and '" + n.keyword_raw + "' keywords' casing do not match",
              n.location);
        }
        if (!IsAllLower(n.args[2])) {
          Add("StageNameCasing", "Stage name '" + n.args[2] + "' should be lowercase", n.location);
        }
      }
    }
  }

  void FromChecks(const Stage& s, const std::set<std::string>& meta) {
    // The suggestion BuildKit adds: the closest declared or predefined ARG.
    std::vector<std::string> known(meta.begin(), meta.end());
    for (const char* p : {"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS",
                          "BUILDARCH", "BUILDVARIANT", "TARGETSTAGE"}) {
      known.push_back(p);
    }
    for (const std::string* word : {&s.base, &s.platform}) {
      for (const std::string& v : VariablesIn(*word, file_.directives.escape)) {
        if (!meta.count(v) && !IsPlatformArg(v)) {
          Add("UndefinedArgInFrom", "FROM argument '" + v + "' is not declared" + DidYouMean(v, known, "", false),
              s.location);
        }
      }
    }
    // With the ARGs' default values (what a build without --build-arg uses) the base must still
    // name an image.
    if (s.base.find('$') != std::string::npos) {
      // Predefined platform ARGs have values in every build (an amd64 host's shown here).
      std::map<std::string, std::string> defaults = {
          {"TARGETPLATFORM", "linux/amd64"}, {"TARGETOS", "linux"},  {"TARGETARCH", "amd64"},
          {"BUILDPLATFORM", "linux/amd64"},  {"BUILDOS", "linux"},   {"BUILDARCH", "amd64"}};
      for (const MetaArg& a : program_.meta_args) {
        if (!a.decl.default_value) continue;
        defaults[a.decl.name] = ExpandOr(*a.decl.default_value, defaults);
      }
      std::string base = ExpandOr(s.base, defaults);
      if (!LooksLikeImageRef(base)) {
        Add("InvalidDefaultArgInFrom",
            "Default value for ARG " + s.base + " results in empty or invalid base image name", s.location);
      }
    }
    // A constant platform is fine in a stage named for it (`AS linux`, `AS my_amd64_stage`).
    auto named_for_platform = [&]() {
      std::vector<std::string> parts;
      std::string cur;
      for (char c : s.name + "_") {
        if (c == '_' || c == '-' || c == '.') {
          if (!cur.empty()) parts.push_back(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
      std::string p = AsciiLower(s.platform);
      for (const std::string& part : parts) {
        if (p == part || p.rfind(part + "/", 0) == 0 || p.find("/" + part) != std::string::npos) return true;
      }
      return false;
    };
    if (!s.platform.empty() && s.platform.find('$') == std::string::npos && !named_for_platform()) {
      Add("FromPlatformFlagConstDisallowed",
          "FROM --platform flag should not use constant value \"" + s.platform + "\"", s.location);
    }
    if (s.platform == "$TARGETPLATFORM" || s.platform == "${TARGETPLATFORM}") {
      Add("RedundantTargetPlatform",
          "Setting platform to predefined " + s.platform + " in FROM is redundant as this is the default behavior",
          s.location);
    }
  }

  void SecretName(const std::string& kind, const std::string& name, Location loc) {
    static const std::regex kSecret(
        "(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)",
        std::regex::icase);
    static const std::regex kAllowed("public", std::regex::icase);
    if (std::regex_search(name, kSecret) && !std::regex_search(name, kAllowed)) {
      Add("SecretsUsedInArgOrEnv", "Do not use ARG or ENV instructions for sensitive data (" + kind +
                                       " \"" + name + "\")",
          loc);
    }
  }

  void InstructionChecks(const Instruction& i, Inherited& state) {
    const std::string& k = i.keyword;
    if (k == "SHELL") state.shell = true;
    if (k == "CMD" || k == "ENTRYPOINT") {
      const auto& c = std::get<CmdInstr>(i.op);
      if (!c.exec_form && !c.cmd.empty() && !state.shell) {
        Add("JSONArgsRecommended",
            "JSON arguments recommended for " + k + " to prevent unintended behavior related to OS signals",
            i.location);
      }
    } else if (k == "MAINTAINER") {
      Add("MaintainerDeprecated", "Maintainer instruction is deprecated in favor of using label",
          i.location);
    } else if (k == "ENV" || k == "LABEL") {
      const auto& kv = std::get<KeyValuesInstr>(i.op);
      if (kv.legacy) {
        Add("LegacyKeyValueFormat", "\"" + k + " key=value\" should be used instead of legacy \"" + k +
                                        " key value\" format",
            i.location);
      }
      if (k == "ENV") {
        for (const auto& p : kv.pairs) SecretName("ENV", p.key, i.location);
      }
    } else if (k == "ARG") {
      for (const ArgDecl& d : std::get<ArgInstr>(i.op).args) SecretName("ARG", d.name, i.location);
    } else if (k == "WORKDIR") {
      const std::string& p = std::get<ValueInstr>(i.op).value;
      bool windows_absolute = p.size() >= 3 && std::isalpha(static_cast<unsigned char>(p[0])) &&
                              p[1] == ':' && (p[2] == '\\' || p[2] == '/');
      const bool absolute = !p.empty() && (p[0] == '/' || p[0] == '$' || windows_absolute);
      if (!p.empty() && !absolute && !state.absolute_workdir) {
        Add("WorkdirRelativePath", "Relative workdir \"" + p + "\" can have unexpected results if the base image changes",
            i.location);
      }
      if (absolute) state.absolute_workdir = true;
    } else if (k == "EXPOSE") {
      for (const std::string& port : std::get<WordsInstr>(i.op).words) {
        size_t slash = port.find('/');
        if (slash != std::string::npos && !IsAllLower(port.substr(slash + 1))) {
          Add("ExposeProtoCasing",
              "Defined protocol '" + port + "' in EXPOSE instruction should be lowercase", i.location);
        }
        if (port.find(':') != std::string::npos) {
          Add("ExposeInvalidFormat",
              "EXPOSE instruction should not define an IP address or host-port mapping, found '" + port + "'",
              i.location);
        }
      }
    }
  }

  // The nodes checked: all, or those before a parse error.
  std::span<const ast::Node> Nodes() const { return {file_.nodes.data(), nodes_}; }

  const ast::File& file_;
  const Program& program_;
  size_t nodes_;
  std::vector<Warning> warnings_;
};

}  // namespace

bool IsPlatformArg(const std::string& name) {
  return name.rfind("TARGET", 0) == 0 || name.rfind("BUILD", 0) == 0 ? IsPredefinedArg(name) : false;
}

bool IsPredefinedArg(const std::string& name) {
  static const std::set<std::string> kNames = {
      "TARGETPLATFORM", "TARGETOS",    "TARGETARCH",   "TARGETVARIANT", "BUILDPLATFORM",
      "BUILDOS",        "BUILDARCH",   "BUILDVARIANT", "TARGETSTAGE", "HTTP_PROXY",    "http_proxy",
      "HTTPS_PROXY",    "https_proxy", "FTP_PROXY",    "ftp_proxy",     "NO_PROXY",
      "no_proxy",       "ALL_PROXY",   "all_proxy"};
  return kNames.count(name) != 0;
}

std::vector<Warning> RunChecks(const ast::File& file, const Program& program, size_t nodes) {
  return Checker(file, program, nodes).Run();
}

}  // namespace imgbuild::frontend
