// The three progress printers behind Status: plain (BuildKit-like numbered steps, their output
// lines with timestamps, durations), tty (a live view redrawn a few times a second: running
// steps with timers and their last output lines, finished steps collapsed to one line each) and
// rawjson (one JSON event per line, the first naming its schema version), and quiet (warnings and
// errors only). "auto" is tty on a terminal, else plain.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>
#include <string>

#include "builder/progress/status.h"

namespace imgbuild::builder {

class Progress : public Status {
 public:
  // Flushes what is pending and stops a live view; called before the final messages (Info and
  // Warning still print after it).
  virtual void Finish() = 0;
  // The build failed (or was cancelled): "error: MESSAGE", or rawjson's `failed` event.
  virtual void Failed(const std::string& message, int exit_code) = 0;
  // What the build made (digests, names, pushed references): rawjson's `result` event; the
  // other printers leave it to stdout and --metadata-file.
  virtual void Result(const nlohmann::ordered_json& result) = 0;
};

// `mode`: auto, plain, tty or rawjson (std::invalid_argument otherwise). `err_fd` is what `err`
// writes to, for the terminal check and width.
std::unique_ptr<Progress> MakeProgress(const std::string& mode, std::ostream& err, int err_fd);

}  // namespace imgbuild::builder
