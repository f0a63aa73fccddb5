// .dockerignore matching with moby/patternmatcher semantics: filepath.Match globs (`*`, `?`,
// `[...]`, `\` escapes), `**` for any number of directories, `!` exceptions, last match wins,
// a pattern that matches a parent directory matches everything below it.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include "frontend/error.h"

namespace imgbuild::frontend {

class IgnorePatternError : public Error {
 public:
  using Error::Error;
};

class IgnoreMatcher {
 public:
  IgnoreMatcher() = default;
  // Patterns as ReadIgnoreFile returns them (already cleaned). Throws IgnorePatternError.
  explicit IgnoreMatcher(const std::vector<std::string>& patterns);

  // Whether `path` (relative to the context root, '/'-separated) is excluded.
  bool Excluded(std::string_view path) const;
  // Whether some exception (`!pattern`) could re-include something below an excluded directory,
  // so a walker must still descend into it.
  bool HasExceptions() const { return has_exceptions_; }
  bool empty() const { return patterns_.empty(); }

  struct Token {
    enum Kind { kLiteral, kStar, kAny, kClass, kDoubleStarDir, kDoubleStarEnd } kind;
    std::string text;  // literal code point, or class body
    bool negated = false;
  };
  struct Pattern {
    bool exclusion = false;
    std::string text;
    std::vector<Token> tokens;
  };

 private:
  std::vector<Pattern> patterns_;
  bool has_exceptions_ = false;
};

// Reads .dockerignore text: one pattern a line, `#` comments, blanks skipped, whitespace trimmed,
// paths cleaned and a leading `/` dropped, `!` kept in front.
std::vector<std::string> ReadIgnoreFile(std::string_view text);

// Which ignore file applies: `<buildfile>.dockerignore` beside the Buildfile wins over
// `<context>/.dockerignore`. Returns the path, or std::nullopt when neither exists.
std::optional<std::string> FindIgnoreFile(const std::string& buildfile_path, const std::string& context_dir);

// Go's path.Clean for '/'-separated paths.
std::string CleanSlashPath(std::string_view path);

}  // namespace imgbuild::frontend
