#include "frontend/flags.h"

#include <algorithm>
#include <cctype>

#include "frontend/suggest.h"
#include "frontend/words.h"

namespace imgbuild::frontend {

const std::vector<FlagDef>& FlagsFor(const std::string& keyword) {
  using K = FlagKind;
  static const std::map<std::string, std::vector<FlagDef>> kFlags = {
      {"FROM", {{"platform", K::kString}}},
      {"RUN", {{"mount", K::kStrings}, {"network", K::kString}, {"security", K::kString}}},
      {"COPY",
       {{"from", K::kString}, {"chown", K::kString}, {"chmod", K::kString}, {"link", K::kBool},
        {"parents", K::kBool}, {"exclude", K::kStrings}}},
      {"ADD",
       {{"chown", K::kString}, {"chmod", K::kString}, {"link", K::kBool}, {"checksum", K::kString},
        {"keep-git-dir", K::kBool}, {"unpack", K::kBool}, {"exclude", K::kStrings}}},
      {"HEALTHCHECK",
       {{"interval", K::kString}, {"timeout", K::kString}, {"start-period", K::kString},
        {"start-interval", K::kString}, {"retries", K::kString}}},
  };
  static const std::vector<FlagDef> kNone;
  auto it = kFlags.find(keyword);
  return it == kFlags.end() ? kNone : it->second;
}

std::string FlagValues::String(const std::string& name, std::string fallback) const {
  auto it = strings.find(name);
  return it == strings.end() ? fallback : it->second;
}

bool FlagValues::Bool(const std::string& name) const {
  auto it = bools.find(name);
  return it != bools.end() && it->second;
}

std::optional<bool> FlagValues::OptionalBool(const std::string& name) const {
  auto it = bools.find(name);
  if (it == bools.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> FlagValues::List(const std::string& name) const {
  auto it = lists.find(name);
  return it == lists.end() ? std::vector<std::string>{} : it->second;
}

FlagValues ParseFlags(const std::string& keyword, const std::vector<ast::Flag>& flags) {
  const std::vector<FlagDef>& defs = FlagsFor(keyword);
  FlagValues values;
  for (const ast::Flag& flag : flags) {
    auto def = std::find_if(defs.begin(), defs.end(), [&](const FlagDef& d) { return d.name == flag.name; });
    if (def == defs.end()) {
      std::vector<std::string> names;
      for (const FlagDef& d : defs) names.push_back(d.name);
      std::string hint = DidYouMean(flag.name, names, "", false);
      if (defs.empty()) {
        throw FlagError(flag.location, keyword + " takes no flags, but --" + flag.name + " was given");
      }
      // BuildKit's words ("unknown flag: mont", "did you mean mount?"), naming the instruction.
      throw FlagError(flag.location, "unknown flag: " + flag.name + " for " + keyword + hint);
    }
    if (values.Has(flag.name) && def->kind != FlagKind::kStrings) {
      throw FlagError(flag.location, "--" + flag.name + " is given twice for " + keyword);
    }
    values.locations[flag.name] = flag.location;
    switch (def->kind) {
      case FlagKind::kBool: {
        if (!flag.value) {
          values.bools[flag.name] = true;
          break;
        }
        std::string v = AsciiLower(*flag.value);
        if (v.empty()) throw FlagError(flag.location, "missing a value on flag --" + flag.name);
        if (v != "true" && v != "false") {
          throw FlagError(flag.location, "--" + flag.name + " takes true or false, not \"" +
                                             *flag.value + "\"");
        }
        values.bools[flag.name] = v == "true";
        break;
      }
      case FlagKind::kString:
        if (!flag.value) {
          throw FlagError(flag.location, "missing a value on flag --" + flag.name + " (write --" +
                                             flag.name + "=VALUE)");
        }
        values.strings[flag.name] = *flag.value;
        break;
      case FlagKind::kStrings:
        if (!flag.value) {
          throw FlagError(flag.location, "missing a value on flag --" + flag.name + " (write --" +
                                             flag.name + "=VALUE)");
        }
        values.lists[flag.name].push_back(*flag.value);
        break;
    }
  }
  return values;
}

}  // namespace imgbuild::frontend
