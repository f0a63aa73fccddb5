#include "frontend/parser.h"

#include <algorithm>
#include <cctype>

#include "frontend/directives.h"
#include "frontend/exec_form.h"
#include "frontend/heredoc.h"
#include "frontend/shell/unicode.h"
#include "frontend/words.h"

namespace imgbuild::frontend {
namespace {

using shell::DecodeAt;
using shell::IsSpace;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

size_t LeadingSpaceBytes(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t len;
    if (!IsSpace(DecodeAt(s, pos, &len))) break;
    pos += len;
  }
  return pos;
}

bool IsComment(std::string_view raw) {
  std::string_view t = TrimNewline(raw);
  t.remove_prefix(LeadingSpaceBytes(t));
  return !t.empty() && t[0] == '#';
}

// Removes a trailing escape character followed only by blanks. Returns whether the line ends the
// instruction (no continuation). As BuildKit's rule, the escape must stand alone or follow
// another character: `trailing\\` ends with an escaped escape and continues nothing.
bool TrimContinuation(std::string& line, char escape) {
  size_t end = line.size();
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
  if (end > 0 && line[end - 1] == escape && (end == 1 || line[end - 2] != escape)) {
    line.resize(end - 1);
    return false;
  }
  return true;
}

// Maps byte offsets in a logical (joined) line back to physical lines and columns.
struct Segment {
  size_t logical_start;
  int line;
  size_t byte_start;  // where the segment starts in the physical line
};

class LineMap {
 public:
  LineMap(const std::vector<std::string>& lines, std::vector<Segment> segments)
      : lines_(lines), segments_(std::move(segments)) {}

  Location At(size_t offset) const {
    const Segment* seg = &segments_.front();
    for (const Segment& s : segments_) {
      if (s.logical_start <= offset) seg = &s;
    }
    std::string_view text = lines_[seg->line - 1];
    size_t byte = std::min(text.size(), seg->byte_start + (offset - seg->logical_start));
    int column = 1;
    for (size_t i = 0; i < byte; ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
    }
    return {seg->line, column};
  }

  LineMap Shifted(size_t by) const {
    std::vector<Segment> s = segments_;
    for (Segment& seg : s) {
      if (seg.logical_start >= by) {
        seg.logical_start -= by;
      } else {
        seg.byte_start += by - seg.logical_start;
        seg.logical_start = 0;
      }
    }
    return LineMap(lines_, std::move(s));
  }

 private:
  const std::vector<std::string>& lines_;
  std::vector<Segment> segments_;
};

class Parser {
 public:
  Parser(std::string_view text, std::string file_name) {
    file_.name = std::move(file_name);
    if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
      raw_.push_back(text.substr(pos, end - pos));
      file_.lines.emplace_back(TrimNewline(text.substr(pos, end - pos)));
      pos = end;
    }
  }

  ast::File Run() {
    // A NUL byte would cut a command short where it reaches the kernel: refused where it is.
    for (size_t n = 0; n < file_.lines.size(); ++n) {
      size_t nul = file_.lines[n].find('\0');
      if (nul != std::string::npos) {
        Fail({static_cast<int>(n) + 1, static_cast<int>(nul) + 1}, "the Buildfile holds a NUL byte here");
      }
    }
    std::vector<std::string> comments;
    size_t i = 0;
    while (i < raw_.size()) {
      std::string_view raw = raw_[i];
      const int start_line = static_cast<int>(i) + 1;
      std::string_view text = TrimNewline(raw);
      size_t lead = LeadingSpaceBytes(text);
      bool is_directive = Directive(text.substr(lead), start_line);
      ++i;
      if (IsComment(raw)) {
        if (!is_directive) {
          std::string c(TrimSpace(text.substr(lead + 1)));
          if (c.empty()) {
            comments.clear();
          } else {
            comments.push_back(std::move(c));
          }
        }
        continue;
      }
      std::string line(text.substr(lead));
      bool end = TrimContinuation(line, file_.directives.escape);
      if (end && line.empty()) continue;

      std::vector<Segment> segments{{0, start_line, lead}};
      bool empty_continuation = false;
      bool after_empty = false;
      int empty_continuation_line = 0;
      while (!end && i < raw_.size()) {
        std::string_view next_raw = raw_[i];
        std::string_view next = TrimNewline(next_raw);
        Directive(next.substr(LeadingSpaceBytes(next)), static_cast<int>(i) + 1);
        ++i;
        if (IsComment(next_raw)) continue;  // comments inside a continued instruction are dropped
        if (LeadingSpaceBytes(next) == next.size()) {
          empty_continuation = true;
          after_empty = true;
          continue;
        }
        // BuildKit reports an empty continuation at the line that follows it.
        if (after_empty && !empty_continuation_line) empty_continuation_line = static_cast<int>(i);
        after_empty = false;
        std::string cont(next);
        end = TrimContinuation(cont, file_.directives.escape);
        segments.push_back({line.size(), static_cast<int>(i), 0});
        line += cont;
      }
      LineMap map(file_.lines, std::move(segments));
      ast::Node node = NodeFromLine(line, map);
      node.empty_continuation = empty_continuation;
      node.empty_continuation_line = empty_continuation_line ? empty_continuation_line : start_line;
      node.comments = std::move(comments);
      comments.clear();
      ReadHeredocs(node, line, start_line, i);
      node.end_line = static_cast<int>(i);
      if (node.inner) node.inner->end_line = node.end_line;
      file_.nodes.push_back(std::move(node));
    }
    if (file_.nodes.empty()) {
      throw ParseError(file_.name, {file_.lines.empty() ? 0 : 1, file_.lines.empty() ? 0 : 1},
                       "the Buildfile has no instructions (it needs at least a FROM)",
                       file_.Line(1));
    }
    return std::move(file_);
  }

 private:
  bool Directive(std::string_view line, int line_number) {
    try {
      return scanner_.Feed(line, file_.directives);
    } catch (const DirectiveError& e) {
      throw ParseError(file_.name, {line_number, 1}, e.what(), file_.Line(line_number));
    }
  }

  [[noreturn]] void Fail(Location loc, const std::string& message) {
    throw ParseError(file_.name, loc, message, file_.Line(loc.line));
  }

  ast::Node NodeFromLine(const std::string& line, const LineMap& map) {
    ast::Node node;
    node.original = line;
    size_t start = LeadingSpaceBytes(line);
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; };
    size_t kw_end = start;
    while (kw_end < line.size() && !blank(line[kw_end])) ++kw_end;
    node.keyword_raw = line.substr(start, kw_end - start);
    node.keyword = AsciiUpper(node.keyword_raw);
    node.location = map.At(start);
    size_t rem = kw_end;
    while (rem < line.size() && blank(line[rem])) ++rem;
    std::string_view remainder = std::string_view(line).substr(rem);
    FlagSplit split = SplitFlags(remainder);
    for (const FlagWord& f : split.flags) {
      ast::Flag flag;
      std::string_view body = std::string_view(f.text).substr(2);
      size_t eq = body.find('=');
      flag.name = std::string(body.substr(0, eq));
      if (eq != std::string_view::npos) flag.value = std::string(body.substr(eq + 1));
      flag.location = map.At(rem + f.offset);
      node.flags.push_back(std::move(flag));
    }
    node.rest = std::string(TrimSpace(split.rest));
    size_t rest_offset = rem + split.rest_offset + LeadingSpaceBytes(split.rest);
    node.args_location = node.rest.empty() ? map.At(line.size()) : map.At(rest_offset);
    FillArgs(node, map.Shifted(rest_offset));
    return node;
  }

  void FillArgs(ast::Node& node, const LineMap& rest_map) {
    const std::string& k = node.keyword;
    const std::string& rest = node.rest;
    if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT" || k == "SHELL") {
      MaybeJson(node, rest, /*to_list=*/false);
    } else if (k == "ADD" || k == "COPY" || k == "VOLUME") {
      MaybeJson(node, rest, /*to_list=*/true);
    } else if (k == "FROM" || k == "EXPOSE") {
      node.args = SplitOnBlanks(rest);
    } else if (k == "ENV" || k == "LABEL") {
      NameValues(node, rest_map);
    } else if (k == "ARG") {
      node.args = SplitWords(rest, file_.directives.escape);
    } else if (k == "HEALTHCHECK") {
      size_t sep = 0;
      while (sep < rest.size() && !std::isspace(static_cast<unsigned char>(rest[sep]))) ++sep;
      if (sep == 0) return;
      size_t next = sep;
      while (next < rest.size() && std::isspace(static_cast<unsigned char>(rest[next]))) ++next;
      ast::Node cmd;
      cmd.args_location = rest_map.At(next);
      MaybeJson(cmd, rest.substr(next), false);
      node.json = cmd.json;
      node.args.push_back(rest.substr(0, sep));
      for (std::string& a : cmd.args) node.args.push_back(std::move(a));
    } else if (k == "ONBUILD") {
      if (rest.empty()) return;
      node.inner = std::make_unique<ast::Node>(NodeFromLine(rest, rest_map));
    } else if (k == "MAINTAINER" || k == "STOPSIGNAL" || k == "USER" || k == "WORKDIR") {
      if (!rest.empty()) node.args.push_back(rest);
    } else {
      node.known = false;
      if (!rest.empty()) node.args.push_back(rest);
    }
  }

  void MaybeJson(ast::Node& node, const std::string& rest, bool to_list) {
    if (rest.empty()) return;
    ExecFormResult r = ParseExecForm(rest);
    if (r.kind == ExecFormResult::kNotStrings) {
      Fail(node.args_location,
           "the exec (JSON) form of " + (node.keyword.empty() ? std::string("HEALTHCHECK CMD") : node.keyword) +
               " must be an array of strings only");
    }
    if (r.kind == ExecFormResult::kStrings) {
      node.json = true;
      node.args = std::move(r.args);
      return;
    }
    if (to_list) {
      node.args = SplitOnBlanks(rest);
    } else {
      node.args.push_back(rest);
    }
  }

  void NameValues(ast::Node& node, const LineMap& rest_map) {
    std::vector<std::string> words = SplitWords(node.rest, file_.directives.escape);
    if (words.empty()) return;
    if (words[0].find('=') == std::string::npos) {
      // Legacy form `ENV key value`: the key is the first blank-separated word, the value the rest.
      const std::string& rest = node.rest;
      size_t key_end = rest.find_first_of(" \t\v\f\r");
      if (key_end == std::string::npos) {
        Fail(node.args_location, node.keyword + " needs a value: write " + node.keyword + " " +
                                     rest + "=VALUE");
      }
      size_t value_start = rest.find_first_not_of(" \t\v\f\r", key_end);
      node.legacy_key_value = true;
      node.pairs.push_back({rest.substr(0, key_end), rest.substr(value_start)});
      return;
    }
    size_t search_from = 0;
    for (const std::string& w : words) {
      size_t at = node.rest.find(w, search_from);
      if (at != std::string::npos) search_from = at + w.size();
      size_t eq = w.find('=');
      if (eq == std::string::npos) {
        Fail(at == std::string::npos ? node.args_location : rest_map.At(at),
             "syntax error in " + node.keyword + ": can't find = in \"" + w + "\"; write it as name=value");
      }
      node.pairs.push_back({w.substr(0, eq), w.substr(eq + 1)});
    }
  }

  static bool CanContainHeredoc(const ast::Node& node) {
    const ast::Node& n = node.keyword == "ONBUILD" && node.inner ? *node.inner : node;
    return n.keyword == "RUN" || n.keyword == "COPY" || n.keyword == "ADD";
  }

  void ReadHeredocs(ast::Node& node, const std::string& line, int start_line, size_t& i) {
    if (!CanContainHeredoc(node) || line.find("<<") == std::string::npos) return;
    std::vector<HeredocMarker> markers;
    try {
      markers = HeredocMarkersInLine(line);
    } catch (const std::exception& e) {
      Fail(node.location, std::string("invalid heredoc marker: ") + e.what());
    }
    for (HeredocMarker& m : markers) {
      ast::Heredoc doc;
      doc.name = m.name;
      doc.expand = m.expand;
      doc.strip_tabs = m.strip_tabs;
      doc.fd = m.fd;
      bool terminated = false;
      while (i < raw_.size()) {
        std::string_view raw = raw_[i++];
        std::string_view candidate = TrimNewline(raw);
        if (m.strip_tabs) candidate.remove_prefix(std::min(candidate.find_first_not_of('\t'), candidate.size()));
        if (candidate == m.name) {
          terminated = true;
          break;
        }
        doc.content += m.strip_tabs ? StripTabs(raw) : std::string(raw);
      }
      if (!terminated) {
        Fail({start_line, node.location.column},
             "unterminated heredoc: no line \"" + m.name + "\" closes the heredoc started here");
      }
      (node.keyword == "ONBUILD" ? node.inner->heredocs : node.heredocs).push_back(std::move(doc));
    }
  }

  static std::string StripTabs(std::string_view s) {
    s.remove_prefix(std::min(s.find_first_not_of('\t'), s.size()));
    return std::string(s);
  }

  ast::File file_;
  std::vector<std::string_view> raw_;  // physical lines with their line ends
  DirectiveScanner scanner_;
};

}  // namespace

ast::File Parse(std::string_view text, std::string file_name) {
  return Parser(text, std::move(file_name)).Run();
}

}  // namespace imgbuild::frontend
