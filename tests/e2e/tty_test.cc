// --progress=tty under a real terminal emulator (tmux, capture-pane): at 40 and 120 columns, with
// more running steps than rows, and with tabs, wide characters and colour codes in step output,
// no line wraps, the scrollback keeps no stale frame, and the final header stays.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "busybox_fixture.h"
#include "run_util.h"
#include "tmux_session.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

// Columns a terminal gives UTF-8 text (CJK ideographs and kana take two).
size_t Columns(const std::string& s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    w += cp >= 0x3040 && cp <= 0x9FFF ? 2 : 1;
    i += len;
  }
  return w;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class TtyTest : public BusyboxTest {
 protected:
  // Runs `imgbuild ARGS` in a terminal of COLS x ROWS; returns what it shows (and, with escapes,
  // in `escaped`).
  std::string InTmux(const std::string& args, int cols, int rows, const std::string& env = "", std::string* escaped = nullptr) {
    if (!tmux_) tmux_.emplace(dir_);
    TmuxSession::Screen s = tmux_->Run(env + (env.empty() ? "" : " ") + "'" IMGBUILD_BINARY "' " + args, cols, rows);
    if (escaped) *escaped = s.escaped;
    return s.pane;
  }
  void TearDown() override {
    tmux_.reset();
    BusyboxTest::TearDown();
  }
  std::optional<TmuxSession> tmux_;
};

TEST_F(TtyTest, LiveViewNeverWrapsNorLeavesStaleFrames) {
  // Eight stages running at once, each printing a tab, wide characters and a colour code.
  std::string ctx = dir_ + "/many";
  fs::create_directories(ctx);
  std::ofstream bf(ctx + "/Buildfile");
  for (int i = 0; i < 8; ++i) {
    bf << "FROM busybox:local AS s" << i << "\nRUN printf 'col\\tumn\\n'; echo 日本語のテキスト" << i
       << "; printf '\\033[31mred\\033[0m\\n'; sleep 2; echo a-rather-long-line-of-output-that-does-not-fit-in-forty-columns\n";
  }
  bf << "FROM busybox:local\n";
  for (int i = 0; i < 8; ++i) bf << "COPY --from=s" << i << " /etc/motd /m" << i << "\n";
  bf.close();
  // 40 columns and 6 rows: more running steps than rows; 120 columns and 30 rows.
  for (auto [cols, rows] : {std::pair{40, 6}, std::pair{120, 30}}) {
    SCOPED_TRACE(cols);
    std::string pane = InTmux("build --progress=tty --jobs 8 --no-cache --network=none --root " + root_ + " " + ctx, cols, rows);
    ASSERT_NE(pane.find("EXIT=0"), std::string::npos) << pane;
    int headers = 0, finished = 0;
    for (const std::string& l : Lines(pane)) {
      // The view's own lines never wrap (messages such as "built sha256:..." may: they are final).
      if (l.rfind(" => ", 0) == 0 || l.rfind("[+]", 0) == 0 || l.rfind("    > ", 0) == 0)
        EXPECT_LT(Columns(l), static_cast<size_t>(cols)) << "a line wrapped: " << l;
      if (l.rfind("[+] Building", 0) == 0) ++headers;
      if (l.find(") FINISHED") != std::string::npos) ++finished;
    }
    EXPECT_EQ(headers, 1) << "a stale frame stayed in the scrollback:\n" << pane;
    EXPECT_EQ(finished, 1) << pane;
    EXPECT_NE(pane.find("(16/16) FINISHED"), std::string::npos) << pane;
    EXPECT_NE(pane.find(" => [s7 2/2] RUN"), std::string::npos) << pane;
  }
}

TEST_F(TtyTest, FailedStepOutputIsCleanedAndColoursFollowNoColor) {
  std::string ctx = dir_ + "/fail";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nRUN printf 'col\\tumn\\n'; echo 日本語; "
                                       "printf '\\033[31mred\\033[0m text\\n'; printf 'bar 10%%\\rbar 100%%\\n'; exit 3\n";
  std::string escaped;
  std::string pane = InTmux("build --progress=tty --network=none --root " + root_ + " " + ctx, 60, 20, "", &escaped);
  ASSERT_NE(pane.find("EXIT=1"), std::string::npos) << pane;
  EXPECT_NE(pane.find("    > col     umn"), std::string::npos) << pane;  // the tab expanded to column 8
  EXPECT_NE(pane.find("    > 日本語"), std::string::npos) << pane;
  EXPECT_NE(pane.find("    > red text"), std::string::npos) << pane;  // the colour code dropped
  EXPECT_NE(pane.find("    > bar 100%"), std::string::npos) << pane;  // \r: the last state
  EXPECT_EQ(pane.find("    > bar 10%"), std::string::npos) << pane;
  EXPECT_NE(pane.find(" => ERROR [stage-0 2/2] RUN"), std::string::npos) << pane;
  EXPECT_NE(escaped.find("\x1b[31m => ERROR"), std::string::npos) << escaped;  // BuildKit's red
  EXPECT_EQ(escaped.find("\x1b[31mred"), std::string::npos) << escaped;  // not the step's own codes
  // NO_COLOR: the same view without colours.
  pane = InTmux("build --progress=tty --network=none --root " + root_ + " " + ctx, 60, 20, "NO_COLOR=1", &escaped);
  ASSERT_NE(pane.find("EXIT=1"), std::string::npos) << pane;
  EXPECT_EQ(escaped.find("\x1b[31m"), std::string::npos) << escaped;
  EXPECT_EQ(escaped.find("\x1b[34m"), std::string::npos) << escaped;
}

}  // namespace
}  // namespace imgbuild::testing
