// docker's and buildx's build flags with imgbuild's meaning: RUN's /etc/hosts, ulimits and
// /dev/shm (and their part in the cache key), -q, the accepted no-ops, BUILDKIT_PROGRESS,
// --progress quiet, bare --pull, --annotation; and every value checked before anything runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

class DockerFlagsTest : public BusyboxTest {};

TEST_F(DockerFlagsTest, RunSandboxFlags) {
  const std::string buildfile =
      "FROM busybox:local\n"
      "RUN tail -n +3 /etc/hosts > /hosts; ulimit -n > /nofile; ulimit -Hn >> /nofile; "
      "df -k /dev/shm | tail -1 | awk '{print $2}' > /shm\n";
  RunResult r = Build("sandbox", buildfile,
                      "--add-host db:10.0.0.5 --add-host db6=[fd00::5] --ulimit nofile=1000:2000 --shm-size 128m -o type=local,dest=" +
                          dir_ + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/out/hosts"), "10.0.0.5\tdb\nfd00::5\tdb6\n");
  EXPECT_EQ(Slurp(dir_ + "/out/nofile"), "1000\n2000\n");
  EXPECT_EQ(Slurp(dir_ + "/out/shm"), "131072\n");
  // They are part of the RUN's cache key (as in BuildKit's exec op): another value runs it again,
  // the same value is a hit.
  r = Build("sandbox", buildfile, "--add-host db:10.0.0.5 --add-host db6=[fd00::5] --ulimit nofile=1000:2000 --shm-size 128m");
  EXPECT_NE(r.err.find("CACHED"), std::string::npos) << r.err;
  r = Build("sandbox", buildfile, "--add-host db:10.0.0.6 -o type=local,dest=" + dir_ + "/out2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("CACHED"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/out2/hosts"), "10.0.0.6\tdb\n");
  EXPECT_EQ(Slurp(dir_ + "/out2/shm"), "65536\n");  // docker's default, 64 MiB
}

TEST_F(DockerFlagsTest, QuietAcceptedFlagsAndProgress) {
  RunResult r = Build("quiet", "FROM busybox:local\nRUN echo hello-from-run\n",
                      "-q --load --rm --force-rm --provenance=false --sbom=false --iidfile " + dir_ + "/iid");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Slurp(dir_ + "/iid") + "\n");  // only the image ID, as docker build -q
  EXPECT_EQ(r.err, "");
  // BUILDKIT_PROGRESS picks the mode when --progress is not given; --progress quiet prints nothing.
  std::string ctx = dir_ + "/quiet";
  r = RunImgbuild("build --no-cache --network=none --root " + root_ + " " + ctx, "", "BUILDKIT_PROGRESS=rawjson");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("{\"time\":", 0), 0u) << r.err;
  r = RunImgbuild("build --progress quiet --no-cache --network=none --root " + root_ + " " + ctx);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
  // docker's bare --pull does not swallow the context; --pull=false is the default policy.
  r = Build("pull", "FROM scratch\nCOPY Buildfile /\n", "--pull");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Build("pull", "FROM scratch\nCOPY Buildfile /\n", "--pull=false").code, 0);
  // --annotation lands on the manifest (the store's and the exported one).
  r = Build("annotated", "FROM scratch\nCOPY Buildfile /\n",
            "-t ann:1 --annotation org.example.a=1 --annotation manifest:org.example.b=2 -o type=oci,tar=false,dest=" + dir_ + "/oci");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " ann:1").out);
  EXPECT_EQ(doc["manifest"]["annotations"]["org.example.a"], "1");
  EXPECT_EQ(doc["manifest"]["annotations"]["org.example.b"], "2");
  std::string exported = nlohmann::json::parse(Slurp(dir_ + "/oci/index.json"))["manifests"][0]["digest"];
  auto m = nlohmann::json::parse(Slurp(dir_ + "/oci/blobs/sha256/" + exported.substr(7)));
  EXPECT_EQ(m["annotations"]["org.example.a"], "1");
  EXPECT_EQ(RunImgbuild("prune -f --root " + root_).code, 0);
}

TEST_F(DockerFlagsTest, EveryValueIsCheckedBeforeAnythingRuns) {
  ::setenv("IMGBUILD_TEST_UNSET_SECRET", "", 1);
  ::unsetenv("IMGBUILD_TEST_UNSET_SECRET");
  for (const std::string& flags :
       {"--secret id=s,src=" + dir_ + "/no-such-file", std::string("--secret id=s,env=IMGBUILD_TEST_UNSET_SECRET"),
        std::string("--cache-limit abc%"), std::string("--cache-limit 150%"), std::string("--compression-level 50"),
        std::string("--provenance=true"), std::string("--sbom=mode=max"), std::string("--add-host db"),
        std::string("--add-host db:host-gateway"), std::string("--add-host db:not-an-ip"), std::string("--ulimit nofil=1"),
        std::string("--ulimit nofile=2:1"), std::string("--shm-size abc"), std::string("--annotation novalue"),
        std::string("--annotation index:k=v"), std::string("--jobs=-1"), std::string("--platform linux/x86")}) {
    SCOPED_TRACE(flags);
    RunResult r = Build("checked", "FROM busybox:local\nRUN echo ran > /ran\n", flags);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err.find("#1"), std::string::npos) << r.err;  // no step started
    EXPECT_EQ(r.err.find("stod"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  }
}

}  // namespace
}  // namespace imgbuild::testing
