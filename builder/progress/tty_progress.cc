#include "builder/progress/tty_progress.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "builder/progress/progress_text.h"
#include "builder/progress/terminal_text.h"

namespace imgbuild::builder {
namespace {

using progress_text::Clock;
using progress_text::LineSplitter;
using progress_text::Seconds;

// BuildKit's colours.
constexpr const char* kBlue = "\x1b[34m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";

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
    r.label = CleanLine(label);
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
    std::lock_guard<std::mutex> lock(mu_);
    End(step, {"", Label(step), Seconds(seconds) + (detail.empty() ? "" : " (" + detail + ")"), kBlue});
  }
  void StepCached(int step) override {
    std::lock_guard<std::mutex> lock(mu_);
    End(step, {"CACHED ", Label(step), "", kBlue});
  }
  void Planned(int steps) override {
    std::lock_guard<std::mutex> lock(mu_);
    planned_ = steps;
  }
  void StepFailed(int step, double seconds, const std::string& error) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(step);
    if (it == running_.end()) return;
    final_.push_back({Done{"ERROR ", it->second.label, Seconds(seconds), kRed}, ""});
    for (const std::string& l : it->second.tail) final_.push_back({std::nullopt, "    > " + l});
    final_.push_back({std::nullopt, Paint(kRed, "    " + CleanLine(error))});
    running_.erase(it);
    ++done_;
  }
  void StepCanceled(int step, double seconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    End(step, {"CANCELED ", Label(step), Seconds(seconds), kYellow});
  }
  void Info(const std::string& message) override { Message(message, nullptr); }
  void Warning(const std::string& message) override { Message("warning: " + message, kYellow); }
  void Failed(const std::string& message, int) override { Message("error: " + message, kRed); }
  void Result(const nlohmann::ordered_json&) override {}
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
  // A finished step's line: " => " PREFIX LABEL, and the timer at the right edge.
  struct Done {
    std::string prefix, label, timer;
    const char* colour;
  };
  static constexpr size_t kTail = 6;

  std::string Paint(const char* colour, const std::string& text) const {
    return colour_ && colour ? colour + text + kReset : text;
  }
  void Message(const std::string& raw, const char* colour) {
    // A message may quote a step's output (a failed RUN's last lines): cleaned line by line.
    std::string message;
    size_t start = 0;
    for (size_t nl; (nl = raw.find('\n', start)) != std::string::npos; start = nl + 1)
      message += CleanLine(std::string_view(raw).substr(start, nl - start)) + "\n";
    message += CleanLine(std::string_view(raw).substr(start));
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) {  // after Finish: no live view to draw above
      err_ << Paint(colour, message) << "\n";
      err_.flush();
      return;
    }
    final_.push_back({std::nullopt, Paint(colour, message)});
  }
  void Keep(Running& r, std::string_view l) {
    r.tail.push_back(CleanLine(l));
    if (r.tail.size() > kTail) r.tail.pop_front();
  }
  // Called with mu_ held.
  std::string Label(int step) const {
    auto it = running_.find(step);
    return it == running_.end() ? "" : it->second.label;
  }
  void End(int step, Done line) {
    running_.erase(step);
    ++done_;
    final_.push_back({std::move(line), ""});
  }
  std::pair<size_t, size_t> Size() const {  // columns, rows
    struct winsize ws {};
    if (::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 && ws.ws_row > 2) return {ws.ws_col, ws.ws_row};
    return {80, 24};
  }
  // " => LABEL ... TIMER": the label cut so the timer ends one column before the edge (a line
  // that reaches the last column makes some terminals wrap).
  std::string StepLine(const std::string& prefix, const std::string& label, const std::string& timer,
                       size_t width) const {
    std::string head = " => " + prefix;
    size_t room = width - 1;
    size_t timer_w = DisplayWidth(timer);
    size_t label_room = room > DisplayWidth(head) + timer_w + 1 ? room - DisplayWidth(head) - timer_w - 1 : 0;
    std::string cut = FitColumns(label, label_room);
    if (cut.size() < label.size() && label_room > 0) cut = FitColumns(label, label_room - 1) + "…";
    std::string line = head + cut;
    size_t used = DisplayWidth(line);
    if (!timer.empty() && used + timer_w < room) line += std::string(room - used - timer_w, ' ') + timer;
    return FitColumns(line, room);
  }
  // Called with mu_ held.
  void Render() {
    auto [width, rows] = Size();
    // The cursor goes back to the top of the old live block and every line is written over it
    // (each erased to its end), then what is left of the old block below is erased: never a
    // clear from the top-left corner, which some terminals (tmux) copy into the scrollback.
    std::string out = "\x1b[?25l";  // no cursor while drawing
    if (live_lines_ > 0) out += "\x1b[" + std::to_string(live_lines_) + "A\r";
    const std::string eol = "\x1b[K\n";
    for (const Pending& p : final_) {
      out += (p.step ? Paint(p.step->colour, StepLine(p.step->prefix, p.step->label, p.step->timer, width)) : p.text) + eol;
    }
    final_.clear();
    live_lines_ = 0;
    double t = std::chrono::duration<double>(Clock::now() - begin_).count();
    std::string header = "[+] Building " + Seconds(t) + " (" + std::to_string(done_) + "/" +
                         std::to_string(std::max(planned_, total_)) + ")";
    if (stop_) {
      out += Paint(kBlue, FitColumns(header + " FINISHED", width - 1)) + eol + "\x1b[J\x1b[?25h";
      err_ << out;
      err_.flush();
      return;
    }
    // The live block never takes more rows than the terminal has (less one, for the cursor):
    // the newest running steps get a line each first, then their output lines, newest first.
    size_t budget = rows - 1;
    out += FitColumns(header, width - 1) + eol;
    ++live_lines_;
    --budget;
    std::vector<const Running*> order;
    for (const auto& [step, r] : running_) order.push_back(&r);
    std::stable_sort(order.begin(), order.end(), [](const Running* a, const Running* b) { return a->start > b->start; });
    size_t shown = std::min(order.size(), budget);
    if (shown < order.size() && shown > 0) --shown;  // room for the "... more" line
    budget -= shown;
    if (shown < order.size()) --budget;
    std::vector<size_t> tails(shown, 0);
    for (size_t i = 0; i < shown && budget > 0; ++i) {
      tails[i] = std::min(order[i]->tail.size(), budget);
      budget -= tails[i];
    }
    for (size_t k = shown; k-- > 0;) {  // oldest of the shown first, as they started
      const Running& r = *order[k];
      double s = std::chrono::duration<double>(Clock::now() - r.start).count();
      out += StepLine("", r.label, Seconds(s), width) + eol;
      ++live_lines_;
      for (size_t j = r.tail.size() - tails[k]; j < r.tail.size(); ++j) {
        out += Paint(kDim, FitColumns("    > " + r.tail[j], width - 1)) + eol;
        ++live_lines_;
      }
    }
    if (shown < order.size()) {
      out += FitColumns(" => ... " + std::to_string(order.size() - shown) + " more running", width - 1) + eol;
      ++live_lines_;
    }
    out += "\x1b[J";
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
  // What goes above the live block at the next frame, in order: finished steps (cut to that
  // frame's width) and messages.
  struct Pending {
    std::optional<Done> step;
    std::string text;
  };
  std::vector<Pending> final_;
  LineSplitter lines_;
  int live_lines_ = 0, done_ = 0, total_ = 0, planned_ = 0;  // total_: started; planned_: told by Planned()
};

}  // namespace

std::unique_ptr<Progress> MakeTtyProgress(std::ostream& err, int fd) { return std::make_unique<TtyProgress>(err, fd); }

}  // namespace imgbuild::builder
