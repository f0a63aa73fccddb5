// Running helper programs (git, docker-credential helpers): input, outputs and exit codes, and a
// helper that exits without reading its input (it must not kill imgbuild with SIGPIPE).
#include "layers/subprocess.h"

#include <gtest/gtest.h>

#include <string>

namespace imgbuild::layers {
namespace {

TEST(RunProgram, FeedsInputAndCollectsOutputs) {
  ProgramResult r = RunProgram({"sh", "-c", "cat; echo err >&2; exit 3"}, "hello\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(RunProgram, AHelperThatIgnoresItsInputIsNotAFatalSignal) {
  // Several MB: far more than a pipe holds, so the write meets a closed pipe.
  for (int i = 0; i < 20; ++i) {
    ProgramResult r = RunProgram({"sh", "-c", "echo locked >&2; exit 1"}, std::string(4 << 20, 'x'));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "locked\n");
  }
}

}  // namespace
}  // namespace imgbuild::layers
