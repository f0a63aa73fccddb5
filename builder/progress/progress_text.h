// Small pieces the progress printers share: durations as "1.2s", step output split into lines
// (a partial last line kept until it is completed), and a line's last carriage-return state.
#pragma once

#include <chrono>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

namespace imgbuild::builder::progress_text {

using Clock = std::chrono::steady_clock;

inline std::string Seconds(double s, int precision = 1) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(precision) << s << "s";
  return o.str();
}

// Splits a step's output into lines, keeping a partial last line until it is completed.
class LineSplitter {
 public:
  template <typename F>
  void Feed(int step, std::string_view data, F&& line) {
    std::string& buf = partial_[step];
    buf.append(data);
    size_t start = 0, nl;
    while ((nl = buf.find('\n', start)) != std::string::npos) {
      line(std::string_view(buf).substr(start, nl - start));
      start = nl + 1;
    }
    buf.erase(0, start);
  }
  template <typename F>
  void Flush(int step, F&& line) {
    auto it = partial_.find(step);
    if (it == partial_.end()) return;
    if (!it->second.empty()) line(std::string_view(it->second));
    partial_.erase(it);
  }

 private:
  std::map<int, std::string> partial_;
};

inline std::string_view StripCr(std::string_view l) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  size_t cr = l.find_last_of('\r');  // progress bars redraw with \r: keep the last state
  return cr == std::string_view::npos ? l : l.substr(cr + 1);
}


}  // namespace imgbuild::builder::progress_text
