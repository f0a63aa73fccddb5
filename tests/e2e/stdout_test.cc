// `-` is standard output and standard input, as with docker and buildx: `-o -`, `dest=-` and a
// missing dest put a tar on stdout (never on a terminal), `-o PATH` is type=local, `save` without
// -o writes to stdout, and `build -` reads the Buildfile from stdin with no context.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class StdoutTest : public BusyboxTest {
 protected:
  // Runs imgbuild and keeps its standard output (binary) in `file`.
  RunResult ToFile(const std::string& args, const std::string& file) {
    RunResult r = RunImgbuild(args);
    std::ofstream(file, std::ios::binary) << r.out;
    return r;
  }
};

TEST_F(StdoutTest, OutputsToStandardOutput) {
  std::string ctx = dir_ + "/ctx";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nRUN echo streamed > /s\n";
  const std::string build = "build --progress=plain --network=none --root " + root_ + " ";
  // -o -: the root filesystem as a tar, and nothing else on stdout.
  RunResult r = ToFile(build + "-o - " + ctx, dir_ + "/rootfs.tar");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("exported tar to standard output"), std::string::npos) << r.err;
  EXPECT_EQ(Sh("tar -xOf " + dir_ + "/rootfs.tar s"), "streamed\n");
  // type=oci,dest=- and type=docker with no dest: image tars.
  r = ToFile(build + "-o type=oci,dest=- " + ctx, dir_ + "/oci.tar");
  ASSERT_EQ(r.code, 0) << r.err;
  auto index = nlohmann::json::parse(Sh("tar -xOf " + dir_ + "/oci.tar index.json"));
  EXPECT_EQ(index["manifests"].size(), 1u);
  r = ToFile(build + "-t streamed:1 -o type=docker " + ctx, dir_ + "/docker.tar");
  ASSERT_EQ(r.code, 0) << r.err;
  auto manifest = nlohmann::json::parse(Sh("tar -xOf " + dir_ + "/docker.tar manifest.json"));
  EXPECT_EQ(manifest[0]["RepoTags"][0], "streamed:1");
  int code;
  std::string out = Sh("skopeo inspect docker-archive:" + dir_ + "/docker.tar", &code);
  EXPECT_EQ(code, 0) << out;
  // -o PATH is type=local.
  r = RunImgbuild(build + "-o " + dir_ + "/rootfs-dir " + ctx);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/rootfs-dir/s"), "streamed\n");
  // Two outputs cannot share stdout; type=local cannot use it.
  EXPECT_EQ(RunImgbuild(build + "-o - -o type=oci,dest=- " + ctx).code, 2);
  EXPECT_EQ(RunImgbuild(build + "-o type=local,dest=- " + ctx).code, 2);
  // save without -o writes to stdout; the tar loads.
  r = ToFile("save --root " + root_ + " streamed:1", dir_ + "/saved.tar");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("saved streamed:1 to standard output"), std::string::npos) << r.err;
  r = RunImgbuild("load --root " + dir_ + "/other-root -i " + dir_ + "/saved.tar");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(StdoutTest, NeverATarOnATerminal) {
  // `script` gives the command a terminal for its standard output.
  int code;
  std::string out = Sh("script -qec \"'" IMGBUILD_BINARY "' save --root " + root_ + " busybox:local\" /dev/null 2>&1", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("refusing to write a tar to the terminal"), std::string::npos) << out;
  out = Sh("script -qec \"'" IMGBUILD_BINARY "' build --root " + root_ + " -o - " + dir_ + "/busybox\" /dev/null 2>&1", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("refusing to write a tar to the terminal"), std::string::npos) << out;
}

TEST_F(StdoutTest, BuildfileFromStandardInputWithNoContext) {
  RunResult r = RunImgbuild("build --progress=plain --network=none --root " + root_ + " -t stdin:1 -",
                            "FROM busybox:local\nRUN echo from-stdin > /f\n");
  ASSERT_EQ(r.code, 0) << r.err;
  r = RunImgbuild("build --progress=plain --network=none --root " + root_ + " -o type=local,dest=" + dir_ + "/o -",
                  "FROM stdin:1\nRUN cat /f > /g\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/o/g"), "from-stdin\n");
  // There is no context: COPY finds nothing.
  r = RunImgbuild("build --network=none --root " + root_ + " -", "FROM busybox:local\nCOPY Buildfile /\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Buildfile"), std::string::npos) << r.err;
  // A tar on stdin is a context docker accepts and imgbuild does not (yet): said clearly.
  Sh("tar -C " + dir_ + "/busybox -cf " + dir_ + "/ctx.tar .");
  r = RunImgbuild("build --network=none --root " + root_ + " -", Slurp(dir_ + "/ctx.tar"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("standard input holds an archive"), std::string::npos) << r.err;
  r = RunImgbuild("build --network=none --root " + root_ + " -f " + dir_ + "/busybox/Buildfile -", "");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("drop -f"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace imgbuild::testing
