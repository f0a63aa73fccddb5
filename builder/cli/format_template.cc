#include "builder/cli/format_template.h"

#include <algorithm>
#include <cctype>

namespace imgbuild::builder {
namespace {

const std::vector<std::string> kFunctions = {"json", "index", "join", "upper", "lower", "println"};

std::string Unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 't' || text[i + 1] == 'n')) {
      out += text[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The words of an action: field paths, barewords and quoted strings.
std::vector<FormatTemplate::Arg> Words(const std::string& action) {
  std::vector<FormatTemplate::Arg> words;
  size_t i = 0;
  while (i < action.size()) {
    if (std::isspace(static_cast<unsigned char>(action[i]))) {
      ++i;
      continue;
    }
    FormatTemplate::Arg w;
    if (action[i] == '"' || action[i] == '`') {
      char quote = action[i++];
      w.literal = true;
      while (i < action.size() && action[i] != quote) {
        if (quote == '"' && action[i] == '\\' && i + 1 < action.size()) {
          char c = action[++i];
          w.text += c == 'n' ? '\n' : c == 't' ? '\t' : c;
        } else {
          w.text += action[i];
        }
        ++i;
      }
      if (i >= action.size()) throw TemplateError("unterminated string in {{" + action + "}}");
      ++i;
    } else {
      size_t start = i;
      while (i < action.size() && !std::isspace(static_cast<unsigned char>(action[i]))) ++i;
      w.text = action.substr(start, i - start);
    }
    words.push_back(w);
  }
  return words;
}

bool IsPath(const FormatTemplate::Arg& a) { return !a.literal && !a.text.empty() && a.text[0] == '.'; }

bool IsNumber(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

nlohmann::ordered_json Lookup(const nlohmann::ordered_json& data, const std::string& path) {
  nlohmann::ordered_json v = data;
  size_t i = 1;  // past the leading '.'
  while (i < path.size()) {
    size_t dot = path.find('.', i);
    std::string key = path.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    if (!v.is_object() || !v.contains(key)) return nullptr;
    v = v[key];
    if (dot == std::string::npos) break;
    i = dot + 1;
  }
  return v;
}

nlohmann::ordered_json Value(const FormatTemplate::Arg& a, const nlohmann::ordered_json& data) {
  if (a.literal) return a.text;
  return Lookup(data, a.text);
}

}  // namespace

std::string GoValue(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "<no value>";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + (v[i].is_null() ? "<nil>" : GoValue(v[i]));
    return out + "]";
  }
  if (v.is_object()) {
    // Go prints a map's keys sorted.
    std::vector<std::string> keys;
    for (auto it = v.begin(); it != v.end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    std::string out = "map[";
    for (size_t i = 0; i < keys.size(); ++i) out += (i ? " " : "") + keys[i] + ":" + GoValue(v[keys[i]]);
    return out + "]";
  }
  return v.dump();
}

FormatTemplate::FormatTemplate(const std::string& raw) {
  std::string text = Unescape(raw);
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("{{", i);
    if (open == std::string::npos) {
      parts_.push_back({false, text.substr(i), {}});
      break;
    }
    if (open > i) parts_.push_back({false, text.substr(i, open - i), {}});
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) throw TemplateError("unclosed action in template: " + text.substr(open));
    std::string action = text.substr(open + 2, close - open - 2);
    // {{- and -}} trim the space beside them, as in Go.
    if (action.rfind("-", 0) == 0 && action.size() > 1 && action[1] == ' ') {
      action = action.substr(1);
      while (!parts_.empty() && !parts_.back().action && !parts_.back().text.empty() &&
             std::isspace(static_cast<unsigned char>(parts_.back().text.back())))
        parts_.back().text.pop_back();
    }
    bool trim_after = action.size() > 1 && action.back() == '-' && action[action.size() - 2] == ' ';
    if (trim_after) action.pop_back();
    std::vector<Arg> words = Words(action);
    if (words.empty()) throw TemplateError("empty action {{}} in template");
    Part p;
    p.action = true;
    if (IsPath(words[0])) {
      if (words.size() != 1) throw TemplateError("unexpected " + words[1].text + " after " + words[0].text + " in {{" + action + "}}");
      p.args = words;
    } else if (words[0].literal) {
      if (words.size() != 1) throw TemplateError("unexpected words after a string in {{" + action + "}}");
      p.args = words;
    } else {
      p.text = words[0].text;
      if (std::find(kFunctions.begin(), kFunctions.end(), p.text) == kFunctions.end())
        throw TemplateError("function \"" + p.text + "\" is not supported in --format (supported: field paths, json, index, join, upper, lower, println)");
      p.args.assign(words.begin() + 1, words.end());
      for (const Arg& a : p.args) {
        if (!a.literal && !IsPath(a) && !(p.text == "index" && IsNumber(a.text)))
          throw TemplateError("unexpected \"" + a.text + "\" in {{" + action + "}}: pipes and variables are not supported");
      }
      size_t want = p.text == "index" || p.text == "join" ? 2 : p.text == "println" ? p.args.size() : 1;
      if (p.args.size() != want || p.args.empty())
        throw TemplateError("wrong number of arguments for " + p.text + " in {{" + action + "}}");
    }
    parts_.push_back(p);
    i = close + 2;
    if (trim_after)
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  }
}

std::vector<std::string> FormatTemplate::Fields() const {
  std::vector<std::string> out;
  for (const Part& p : parts_) {
    for (const Arg& a : p.args)
      if (IsPath(a)) out.push_back(a.text);
  }
  return out;
}

std::string FormatTemplate::Render(const nlohmann::ordered_json& data) const {
  std::string out;
  for (const Part& p : parts_) {
    if (!p.action) {
      out += p.text;
      continue;
    }
    if (p.text.empty()) {
      out += GoValue(Value(p.args[0], data));
    } else if (p.text == "json") {
      out += Value(p.args[0], data).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (p.text == "upper" || p.text == "lower") {
      std::string s = GoValue(Value(p.args[0], data));
      for (char& c : s) c = static_cast<char>(p.text == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                                                : std::tolower(static_cast<unsigned char>(c)));
      out += s;
    } else if (p.text == "join") {
      nlohmann::ordered_json list = Value(p.args[0], data);
      std::string sep = GoValue(Value(p.args[1], data));
      if (list.is_array()) {
        for (size_t i = 0; i < list.size(); ++i) out += (i ? sep : "") + GoValue(list[i]);
      } else if (!list.is_null()) {
        throw TemplateError("join of " + p.args[0].text + ", which is not a list");
      }
    } else if (p.text == "index") {
      nlohmann::ordered_json v = Value(p.args[0], data);
      const Arg& k = p.args[1];
      if (v.is_array() && !k.literal && IsNumber(k.text)) {
        size_t n = std::stoul(k.text);
        if (n >= v.size()) throw TemplateError("index " + k.text + " out of range of " + p.args[0].text);
        out += GoValue(v[n]);
      } else if (v.is_object()) {
        std::string key = GoValue(Value(k, data));
        out += v.contains(key) ? GoValue(v[key]) : "<no value>";
      } else {
        out += "<no value>";
      }
    } else {  // println
      for (size_t i = 0; i < p.args.size(); ++i) out += (i ? " " : "") + GoValue(Value(p.args[i], data));
      out += "\n";
    }
  }
  return out;
}

}  // namespace imgbuild::builder
