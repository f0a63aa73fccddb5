#include "builder/progress/progress.h"

#include <cstdlib>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iomanip>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

namespace imgbuild::builder {
namespace {

using Clock = std::chrono::steady_clock;

std::string Seconds(double s, int precision = 1) {
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

std::string_view StripCr(std::string_view l) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  size_t cr = l.find_last_of('\r');  // progress bars redraw with \r: keep the last state
  return cr == std::string_view::npos ? l : l.substr(cr + 1);
}

// --progress quiet (and build -q): nothing but warnings.
class QuietProgress : public Progress {
 public:
  explicit QuietProgress(std::ostream& err) : err_(err) {}
  void StepStarted(int, const std::string&) override {}
  void StepOutput(int, std::string_view) override {}
  void StepDone(int, double, const std::string&) override {}
  void StepCached(int) override {}
  void StepFailed(int, double, const std::string&) override {}
  void StepCanceled(int, double) override {}
  void Info(const std::string&) override {}
  void Warning(const std::string& message) override { err_ << "warning: " << message << "\n"; }
  void Finish() override { err_.flush(); }
  void Failed(const std::string& message, int) override { err_ << "error: " << message << "\n"; }
  void Result(const nlohmann::ordered_json&) override {}

 private:
  std::ostream& err_;
};

class PlainProgress : public Progress {
 public:
  explicit PlainProgress(std::ostream& err) : err_(err) {}
  void StepStarted(int step, const std::string& label) override {
    start_[step] = Clock::now();
    err_ << "#" << step << " " << label << "\n";
  }
  void StepOutput(int step, std::string_view data) override {
    lines_.Feed(step, data, [&](std::string_view l) { Line(step, l); });
  }
  void StepDone(int step, double seconds, const std::string& detail) override {
    lines_.Flush(step, [&](std::string_view l) { Line(step, l); });
    err_ << "#" << step << " DONE " << Seconds(seconds) << (detail.empty() ? "" : " (" + detail + ")") << "\n\n";
  }
  void StepCached(int step) override { err_ << "#" << step << " CACHED\n\n"; }
  void StepFailed(int step, double, const std::string& error) override {
    lines_.Flush(step, [&](std::string_view l) { Line(step, l); });
    err_ << "#" << step << " ERROR: " << error << "\n\n";
  }
  void StepCanceled(int step, double) override {
    lines_.Flush(step, [&](std::string_view l) { Line(step, l); });
    err_ << "#" << step << " CANCELED\n\n";
  }
  void Info(const std::string& message) override { err_ << message << "\n"; }
  void Warning(const std::string& message) override { err_ << "warning: " << message << "\n"; }
  void Finish() override { err_.flush(); }
  void Failed(const std::string& message, int) override { err_ << "error: " << message << "\n"; }
  void Result(const nlohmann::ordered_json&) override {}

 private:
  void Line(int step, std::string_view l) {
    double t = std::chrono::duration<double>(Clock::now() - start_[step]).count();
    err_ << "#" << step << " " << std::fixed << std::setprecision(3) << t << " " << StripCr(l) << "\n";
  }
  std::ostream& err_;
  LineSplitter lines_;
  std::map<int, Clock::time_point> start_;
};

class JsonProgress : public Progress {
 public:
  // Version 1: every line {"time": seconds, "event": NAME, ...}; README "Progress" lists the events.
  static constexpr int kSchemaVersion = 1;
  explicit JsonProgress(std::ostream& err) : err_(err) { Emit({{"event", "schema"}, {"version", kSchemaVersion}}); }
  void StepStarted(int step, const std::string& label) override {
    Emit({{"event", "start"}, {"step", step}, {"label", label}});
  }
  void StepOutput(int step, std::string_view data) override {
    Emit({{"event", "output"}, {"step", step}, {"data", std::string(data)}});
  }
  void StepDone(int step, double seconds, const std::string& detail) override {
    Emit({{"event", "done"}, {"step", step}, {"seconds", seconds}, {"detail", detail}});
  }
  void StepCached(int step) override { Emit({{"event", "cached"}, {"step", step}}); }
  void StepFailed(int step, double seconds, const std::string& error) override {
    Emit({{"event", "error"}, {"step", step}, {"seconds", seconds}, {"error", error}});
  }
  void StepCanceled(int step, double seconds) override {
    Emit({{"event", "canceled"}, {"step", step}, {"seconds", seconds}});
  }
  void Planned(int steps) override { Emit({{"event", "plan"}, {"steps", steps}}); }
  void Info(const std::string& message) override { Emit({{"event", "info"}, {"message", message}}); }
  void Warning(const std::string& message) override { Emit({{"event", "warning"}, {"message", message}}); }
  void Finish() override { err_.flush(); }
  void Failed(const std::string& message, int exit_code) override {
    Emit({{"event", "failed"}, {"error", message}, {"exit_code", exit_code}});
  }
  void Result(const nlohmann::ordered_json& result) override {
    nlohmann::ordered_json e = {{"event", "result"}};
    e.update(result);
    Emit(e);
  }

 private:
  void Emit(nlohmann::ordered_json j) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    nlohmann::ordered_json line = {{"time", std::chrono::duration<double>(now).count()}};
    line.update(j);
    err_ << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    err_.flush();
  }
  std::ostream& err_;
};

// The live view. Lines above the live region are final (finished steps, messages); the live
// region (a header and the running steps with their last output lines) is redrawn in place.
class TtyProgress : public Progress {
 public:
  TtyProgress(std::ostream& err, int fd) : err_(err), fd_(fd), begin_(Clock::now()) {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stop_) {
        Render();
        cv_.wait_for(lock, std::chrono::milliseconds(150));
      }
    });
  }
  ~TtyProgress() override { Finish(); }

  void StepStarted(int step, const std::string& label) override {
    std::lock_guard<std::mutex> lock(mu_);
    Running r;
    r.label = label;
    r.start = Clock::now();
    running_[step] = std::move(r);
    ++total_;
  }
  void StepOutput(int step, std::string_view data) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(step);
    if (it == running_.end()) return;
    lines_.Feed(step, data, [&](std::string_view l) { Keep(it->second, l); });
  }
  void StepDone(int step, double seconds, const std::string& detail) override {
    End(step, " => " + Label(step) + "  " + Seconds(seconds) + (detail.empty() ? "" : " (" + detail + ")"));
  }
  void StepCached(int step) override { End(step, " => CACHED " + Label(step)); }
  void Planned(int steps) override {
    std::lock_guard<std::mutex> lock(mu_);
    planned_ = steps;
  }
  void StepFailed(int step, double seconds, const std::string& error) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(step);
    if (it != running_.end()) {
      final_.push_back(" => ERROR " + it->second.label + "  " + Seconds(seconds));
      for (const std::string& l : it->second.tail) final_.push_back("    > " + l);
      final_.push_back("    " + error);
      running_.erase(it);
    }
  }
  void StepCanceled(int step, double seconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(step);
    if (it != running_.end()) {
      final_.push_back(" => CANCELED " + it->second.label + "  " + Seconds(seconds));
      running_.erase(it);
    }
  }
  void Info(const std::string& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) {  // after Finish: no live view to draw above
      err_ << message << "\n";
      err_.flush();
      return;
    }
    final_.push_back(message);
  }
  void Failed(const std::string& message, int) override { Info("error: " + message); }
  void Result(const nlohmann::ordered_json&) override {}
  void Warning(const std::string& message) override { Info("warning: " + message); }
  void Finish() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    Render();
    err_.flush();
  }

 private:
  struct Running {
    std::string label;
    Clock::time_point start;
    std::deque<std::string> tail;
  };
  static constexpr size_t kTail = 6;

  void Keep(Running& r, std::string_view l) {
    r.tail.emplace_back(StripCr(l));
    if (r.tail.size() > kTail) r.tail.pop_front();
  }
  std::string Label(int step) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(step);
    return it == running_.end() ? "" : it->second.label;
  }
  void End(int step, std::string line) {
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(step);
    ++done_;
    final_.push_back(std::move(line));
  }
  size_t Width() const {
    struct winsize ws {};
    if (::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
    return 80;
  }
  // Called with mu_ held.
  void Render() {
    size_t width = Width();
    auto fit = [&](const std::string& s) { return s.size() < width ? s : s.substr(0, width - 1); };
    std::string out;
    if (live_lines_ > 0) out += "\x1b[" + std::to_string(live_lines_) + "A\r\x1b[J";
    for (const std::string& l : final_) out += l + "\n";
    final_.clear();
    live_lines_ = 0;
    if (!stop_) {
      double t = std::chrono::duration<double>(Clock::now() - begin_).count();
      out += fit("[+] Building " + Seconds(t) + " (" + std::to_string(done_) + "/" + std::to_string(std::max(planned_, total_)) + ")") + "\n";
      ++live_lines_;
      for (const auto& [step, r] : running_) {
        double s = std::chrono::duration<double>(Clock::now() - r.start).count();
        out += fit(" => " + r.label + "  " + Seconds(s)) + "\n";
        ++live_lines_;
        for (const std::string& l : r.tail) {
          out += colour_ ? "\x1b[2m" + fit("    > " + l) + "\x1b[0m\n" : fit("    > " + l) + "\n";
          ++live_lines_;
        }
      }
    }
    err_ << out;
    err_.flush();
  }

  std::ostream& err_;
  int fd_;
  const bool colour_ = !std::getenv("NO_COLOR") || !*std::getenv("NO_COLOR");  // no-color.org
  Clock::time_point begin_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  bool stop_ = false;
  std::map<int, Running> running_;
  std::vector<std::string> final_;
  LineSplitter lines_;
  int live_lines_ = 0, done_ = 0, total_ = 0, planned_ = 0;  // total_: started; planned_: told by Planned()
};

}  // namespace

std::unique_ptr<Progress> MakeProgress(const std::string& mode, std::ostream& err, int err_fd) {
  std::string m = mode;
  if (m == "auto") m = ::isatty(err_fd) ? "tty" : "plain";
  if (m == "plain") return std::make_unique<PlainProgress>(err);
  if (m == "tty") return std::make_unique<TtyProgress>(err, err_fd);
  if (m == "rawjson") return std::make_unique<JsonProgress>(err);
  if (m == "quiet") return std::make_unique<QuietProgress>(err);
  throw std::invalid_argument("unknown progress mode \"" + mode + "\" (use auto, plain, tty, rawjson or quiet)");
}

}  // namespace imgbuild::builder
