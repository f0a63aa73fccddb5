// The `--format` templates of `images`, `inspect` and `history`: the part of Go's text/template
// that docker's users write. Text outside `{{ }}` is copied; an action is a pipeline of one
// command: a field path (`.`, `.Config.Env`), or a function of arguments — `json X`, `index X
// "key"|N`, `join X SEP`, `upper X`, `lower X`, `println X...` — where an argument is a field path
// or a quoted string. Values print as Go prints them (`[a b]`, `map[k:v]`, `<no value>`). Anything
// else (`range`, `if`, pipes) is refused with TemplateError naming it, before any output.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace imgbuild::builder {

class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FormatTemplate {
 public:
  // Parses `text` (with `\t` and `\n` escapes as docker takes them); throws TemplateError.
  explicit FormatTemplate(const std::string& text);
  std::string Render(const nlohmann::ordered_json& data) const;
  // The field paths the template's actions name (for table headers: `.Repository`).
  std::vector<std::string> Fields() const;

  struct Arg {
    bool literal = false;
    std::string text;  // the string, or the path without its leading dot ("" = the whole value)
  };
  struct Part {
    bool action = false;
    std::string text;  // a text part, or the function name of an action ("" = a bare argument)
    std::vector<Arg> args;
  };

 private:
  std::vector<Part> parts_;
};

// How Go's fmt prints a JSON value with %v ("<no value>" for null).
std::string GoValue(const nlohmann::ordered_json& v);

}  // namespace imgbuild::builder
