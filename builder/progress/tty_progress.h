// The live view of --progress=tty, as BuildKit's: lines above the live block are final (finished
// steps, messages); the live block (a header and the running steps with their last output lines)
// is redrawn in place a few times a second, clamped to the terminal's height (the newest running
// steps win) and every line cut to its width in columns, so it never wraps and the scrollback
// never keeps a stale frame. Step output is cleaned (tabs, \r, escape sequences), labels are cut
// and the timers right-aligned, the cursor is hidden while drawing, colours are BuildKit's unless
// NO_COLOR is set, and a final "[+] Building 6.0s (10/10) FINISHED" header stays.
#pragma once

#include <memory>
#include <ostream>

#include "builder/progress/progress.h"

namespace imgbuild::builder {

// `fd` is the terminal `err` writes to (its size is asked at every frame).
std::unique_ptr<Progress> MakeTtyProgress(std::ostream& err, int fd);

}  // namespace imgbuild::builder
