// An Executor that runs nothing: it records each RUN's argv and environment, writes the command
// line into /ran/<n> of the step's root (so the layer shows it ran), and fails with exit code 3
// when the command line contains "fail".
#pragma once

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "builder/sandbox/executor.h"
#include "builder/sandbox/run_command.h"

namespace imgbuild::testing {

class FakeExecutor : public builder::Executor {
 public:
  builder::RunStepResult Run(const builder::RunStepInput& in) override {
    builder::RunStepResult r;
    r.argv = builder::MakeRunCommand(*in.run, in.step->shell).argv;
    std::string line;
    for (const std::string& a : r.argv) line += (line.empty() ? "" : " ") + a;
    int n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      commands_.push_back(line);
      n = static_cast<int>(commands_.size());
    }
    std::filesystem::create_directories(in.rootfs + "/ran");
    std::ofstream(in.rootfs + "/ran/" + std::to_string(n)) << line << "\n";
    if (in.on_output) in.on_output("ran " + line + "\n");
    if (line.find("fail") != std::string::npos) {
      r.status.exit_code = 3;
      r.tail = "it failed\n";
    }
    return r;
  }
  std::vector<std::string> commands() const {
    std::lock_guard<std::mutex> lock(mu_);
    return commands_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> commands_;
};

}  // namespace imgbuild::testing
