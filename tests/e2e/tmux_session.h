// A real terminal for tests: commands run in detached tmux windows of a given size on a server of
// the test's own; what the terminal shows (capture-pane, wrapped lines joined) and the raw bytes
// it received (pipe-pane) are read back when the command has exited.
#pragma once

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "run_util.h"

namespace imgbuild::testing {

class TmuxSession {
 public:
  explicit TmuxSession(std::string dir) : dir_(std::move(dir)), socket_("imgbuild-tmux-" + std::to_string(::getpid())) {}
  ~TmuxSession() { Sh("tmux -L " + socket_ + " kill-server 2>/dev/null"); }

  struct Screen {
    std::string pane;     // the whole history, wrapped lines joined
    std::string escaped;  // the same with colours and attributes as escapes
    std::string raw;      // every byte the program wrote to the terminal
  };
  // Runs the shell text `command` (then `echo EXIT=$?`) in a COLS x ROWS window until it ends.
  Screen Run(const std::string& command, int cols, int rows) {
    ++runs_;
    std::string script = dir_ + "/tmux-run-" + std::to_string(runs_) + ".sh";
    std::string raw = dir_ + "/tmux-raw-" + std::to_string(runs_);
    std::ofstream(script) << "#!/bin/sh\nsleep 0.3\n" << command << "\necho \"EXIT=$?\"\nsleep 60\n";
    Sh("chmod +x " + script);
    std::string session = "t" + std::to_string(runs_);
    Sh("tmux -L " + socket_ + " -f /dev/null new-session -d -s " + session + " -x " + std::to_string(cols) + " -y " +
       std::to_string(rows) + " " + script);
    Sh("tmux -L " + socket_ + " pipe-pane -t " + session + " -o 'cat > " + raw + "'");
    Screen s;
    for (int i = 0; i < 900; ++i) {
      s.pane = Sh("tmux -L " + socket_ + " capture-pane -p -J -S - -t " + session);
      if (s.pane.find("EXIT=") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    s.escaped = Sh("tmux -L " + socket_ + " capture-pane -p -e -J -S - -t " + session);
    s.raw = Slurp(raw);
    return s;
  }

 private:
  std::string dir_, socket_;
  int runs_ = 0;
};

}  // namespace imgbuild::testing
