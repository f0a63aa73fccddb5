// The flags each instruction takes and their checking: unknown flags (with a suggestion),
// repeats, missing values and booleans, as BuildKit's BFlags checks them.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "frontend/error.h"

namespace imgbuild::frontend {

enum class FlagKind { kBool, kString, kStrings };

struct FlagDef {
  std::string name;
  FlagKind kind;
};

// Flags of an instruction keyword (upper case); empty for instructions without flags.
const std::vector<FlagDef>& FlagsFor(const std::string& keyword);

struct FlagValues {
  std::map<std::string, std::string> strings;
  std::map<std::string, bool> bools;
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, Location> locations;  // where each flag was given (last time)

  std::string String(const std::string& name, std::string fallback = {}) const;
  bool Bool(const std::string& name) const;
  std::optional<bool> OptionalBool(const std::string& name) const;
  std::vector<std::string> List(const std::string& name) const;
  bool Has(const std::string& name) const { return locations.count(name) != 0; }
};

class FlagError : public Error {
 public:
  FlagError(Location loc, const std::string& message) : Error(message), location(loc) {}
  Location location;
};

FlagValues ParseFlags(const std::string& keyword, const std::vector<ast::Flag>& flags);

}  // namespace imgbuild::frontend
