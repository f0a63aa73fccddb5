#include "builder/progress/progress.h"

#include "builder/progress/progress_text.h"
#include "builder/progress/tty_progress.h"

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

using progress_text::Clock;
using progress_text::LineSplitter;
using progress_text::Seconds;
using progress_text::StripCr;


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

}  // namespace

std::unique_ptr<Progress> MakeProgress(const std::string& mode, std::ostream& err, int err_fd) {
  std::string m = mode;
  if (m == "auto") m = ::isatty(err_fd) ? "tty" : "plain";
  if (m == "plain") return std::make_unique<PlainProgress>(err);
  if (m == "tty") return MakeTtyProgress(err, err_fd);
  if (m == "rawjson") return std::make_unique<JsonProgress>(err);
  if (m == "quiet") return std::make_unique<QuietProgress>(err);
  throw std::invalid_argument("unknown progress mode \"" + mode + "\" (use auto, plain, tty, rawjson or quiet)");
}

}  // namespace imgbuild::builder
