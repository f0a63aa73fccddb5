// Building images as a user does, checked with real OCI tools: oci-image-tool, umoci, skopeo.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class BuildTest : public BusyboxTest {};

TEST_F(BuildTest, DemoImageIsValidEverywhere) {
  std::string oci = dir_ + "/demo-oci", oci_tar = dir_ + "/demo.oci.tar", docker = dir_ + "/demo.docker.tar";
  RunResult r = RunImgbuild("build --root " + root_ + " -t demo:1.0 --iidfile " + dir_ + "/iid --metadata-file " +
                            dir_ + "/md.json -o type=oci,dest=" + oci + ",tar=false -o type=oci,dest=" + oci_tar +
                            " -o type=docker,dest=" + docker + " testdata/demo");
  ASSERT_EQ(r.code, 0) << r.err;
  int code;
  std::string v = Sh("oci-image-tool validate --type image --ref name=1.0 " + oci, &code);
  EXPECT_EQ(code, 0) << v;
  // The local store is an OCI layout too.
  v = Sh("skopeo inspect oci:" + root_ + "/oci:demo:1.0", &code);
  ASSERT_EQ(code, 0) << v;
  auto info = nlohmann::json::parse(v);
  EXPECT_EQ(info["Labels"]["org.opencontainers.image.version"], "1.0");
  EXPECT_EQ(info["Layers"].size(), 4u);
  v = Sh("skopeo inspect docker-archive:" + docker, &code);
  ASSERT_EQ(code, 0) << v;
  EXPECT_EQ(nlohmann::json::parse(v)["Labels"]["org.opencontainers.image.version"], "1.0");
  std::string listing = Sh("tar -tf " + docker);
  EXPECT_NE(listing.find("manifest.json"), std::string::npos);
  EXPECT_NE(listing.find("index.json"), std::string::npos);
  auto docker_manifest = nlohmann::json::parse(Sh("tar -xOf " + docker + " manifest.json"));
  EXPECT_EQ(docker_manifest[0]["RepoTags"], nlohmann::json::array({"demo:1.0"}));
  v = Sh("skopeo copy oci-archive:" + oci_tar + ":1.0 dir:" + dir_ + "/copied", &code);
  EXPECT_EQ(code, 0) << v;
  v = Sh("skopeo copy docker-archive:" + docker + " oci:" + dir_ + "/from-docker:x", &code);
  EXPECT_EQ(code, 0) << v;

  v = Sh("umoci unpack --image " + oci + ":1.0 " + dir_ + "/bundle", &code);
  ASSERT_EQ(code, 0) << v;
  auto files = Listing(dir_ + "/bundle/rootfs");
  EXPECT_EQ(files["app"], "drwxr-xr-x 0:0 ");  // WORKDIR created it
  EXPECT_EQ(files["app/bin/hello"], "-rwxr-xr-x 1000:1000 ");
  EXPECT_EQ(files["app/VERSION"], "-rwxr-xr-x 1000:1000 ");
  EXPECT_EQ(files["bin/sh"], "lrwxrwxrwx 0:0 busybox");
  EXPECT_EQ(files["tmp"], "drwxrwxrwt 0:0 ");
  EXPECT_EQ(files["etc/motd"], "-rw-r--r-- 0:0 ");
  EXPECT_EQ(files.count("NOTES.md") + files.count("app/NOTES.md"), 0u);
  EXPECT_EQ(Slurp(dir_ + "/bundle/rootfs/etc/motd").rfind("Welcome to the imgbuild demo", 0), 0u);  // replaced
  EXPECT_EQ(Slurp(dir_ + "/bundle/rootfs/app/VERSION"), "1.0\n");
  auto config = nlohmann::json::parse(Slurp(dir_ + "/bundle/config.json"));
  EXPECT_EQ(config["process"]["args"], nlohmann::json::array({"/app/bin/hello", "--greet", "world"}));
  EXPECT_EQ(config["process"]["cwd"], "/app");
  EXPECT_EQ(config["process"]["user"]["uid"], 1000);

  auto md = nlohmann::json::parse(Slurp(dir_ + "/md.json"));
  EXPECT_EQ(Slurp(dir_ + "/iid"), md["containerimage.config.digest"]);
  RunResult images = RunImgbuild("images --json --root " + root_);
  EXPECT_NE(images.out.find("\"demo:1.0\""), std::string::npos) << images.out;
}

TEST_F(BuildTest, RootfsOutputs) {
  RunResult r = RunImgbuild("build --root " + root_ + " -o type=local,dest=" + dir_ + "/rootfs -o type=tar,dest=" +
                            dir_ + "/rootfs.tar testdata/demo");
  ASSERT_EQ(r.code, 0) << r.err;
  auto files = Listing(dir_ + "/rootfs");
  EXPECT_EQ(files["app/bin/hello"], "-rwxr-xr-x 1000:1000 ");
  EXPECT_EQ(files["bin/sh"], "lrwxrwxrwx 0:0 busybox");
  EXPECT_EQ(Slurp(dir_ + "/rootfs/etc/motd").rfind("Welcome", 0), 0u);
  std::string listing = Sh("tar -tvf " + dir_ + "/rootfs.tar");
  EXPECT_NE(listing.find("-rwxr-xr-x 1000/1000        50 "), std::string::npos) << listing.substr(0, 500);
  EXPECT_NE(listing.find("app/bin/hello"), std::string::npos);
  EXPECT_NE(listing.find("bin/sh -> busybox"), std::string::npos);
}

TEST_F(BuildTest, ExportsCompressLayersOnce) {
  setenv("SOURCE_DATE_EPOCH", "1700000000", 1);  // the same layers every build
  for (const char* c : {"gzip", "zstd", "uncompressed"}) {
    SCOPED_TRACE(c);
    std::string out = dir_ + "/out-" + c;
    RunResult r = RunImgbuild("build --root " + root_ + " --compression " + c + " -o type=oci,dest=" + out +
                              ",tar=false testdata/demo");
    ASSERT_EQ(r.code, 0) << r.err;
    int code;
    auto m = nlohmann::json::parse(Sh("skopeo inspect --raw oci:" + out, &code));
    ASSERT_EQ(code, 0);
    std::string want = std::string("application/vnd.oci.image.layer.v1.tar") +
                       (std::string(c) == "gzip" ? "+gzip" : std::string(c) == "zstd" ? "+zstd" : "");
    for (const auto& l : m["layers"]) EXPECT_EQ(l["mediaType"], want);
    if (std::string(c) != "zstd") {  // Debian 12's umoci predates zstd layers
      std::string v = Sh("umoci unpack --image " + out + ":latest " + dir_ + "/unpacked-" + c, &code);
      EXPECT_EQ(code, 0) << v;
    }
    std::string v = Sh("skopeo copy oci:" + out + " dir:" + dir_ + "/copy-" + c, &code);
    EXPECT_EQ(code, 0) << v;
  }
  // Each layer was compressed once per codec, and a second export reuses it.
  size_t memos = std::distance(fs::directory_iterator(root_ + "/compressed"), fs::directory_iterator());
  RunResult again = RunImgbuild("build --root " + root_ + " -o type=oci,dest=" + dir_ + "/again testdata/demo");
  ASSERT_EQ(again.code, 0) << again.err;
  unsetenv("SOURCE_DATE_EPOCH");
  EXPECT_EQ(std::distance(fs::directory_iterator(root_ + "/compressed"), fs::directory_iterator()),
            static_cast<std::ptrdiff_t>(memos));
  EXPECT_EQ(memos, 8u);  // 4 layers, gzip and zstd
}

TEST_F(BuildTest, PodmanLoadsAndRunsTheImage) {
  std::string tar = dir_ + "/demo-docker.tar";
  RunResult r = RunImgbuild("build --root " + root_ + " -t demo:podman -o type=docker,dest=" + tar + " testdata/demo");
  ASSERT_EQ(r.code, 0) << r.err;
  // This machine's quirks: crun fails on the hybrid cgroup setup (runc works), and the default
  // ulimits are refused.
  std::string podman = "podman --root " + dir_ + "/podman --runroot " + dir_ + "/podman-run --runtime runc ";
  int code;
  std::string out = Sh(podman + "load -i " + tar, &code);
  ASSERT_EQ(code, 0) << out;
  out = Sh("timeout 120 " + podman + "run --rm --network none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 demo:podman", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("hello from the imgbuild demo: --greet world"), std::string::npos) << out;
  out = Sh("timeout 120 " + podman + "run --rm --network none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 "
           "--entrypoint /bin/sh demo:podman -c 'id -u; pwd; cat /etc/motd'", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("1000\n/app\nWelcome to the imgbuild demo"), std::string::npos) << out;
  Sh(podman + "rmi -a -f");
}

TEST_F(BuildTest, CopySnapshotterGivesTheSameImage) {
  // The overlay snapshotter and the copy-based fallback must produce byte-identical layers.
  setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  std::string digests[2];
  for (int i = 0; i < 2; ++i) {
    if (i == 1) setenv("IMGBUILD_SNAPSHOTTER", "copy", 1);
    std::string root = dir_ + "/snap" + std::to_string(i);
    RunResult b = RunImgbuild("build --root " + root + " -t busybox:local " + dir_ + "/busybox");
    ASSERT_EQ(b.code, 0) << b.err;
    RunResult r = RunImgbuild("build --root " + root + " -t demo testdata/demo");
    ASSERT_EQ(r.code, 0) << r.err;
    digests[i] = r.out;
    EXPECT_EQ(fs::exists(root + "/snapshots-copy"), i == 1);
  }
  unsetenv("IMGBUILD_SNAPSHOTTER");
  unsetenv("SOURCE_DATE_EPOCH");
  EXPECT_EQ(digests[0], digests[1]);
}

TEST_F(BuildTest, ReproducibleWithSourceDateEpoch) {
  std::string digests[2];
  for (int i = 0; i < 2; ++i) {
    std::string root = dir_ + "/repro" + std::to_string(i);
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    RunResult b = RunImgbuild("build --root " + root + " -t busybox:local " + dir_ + "/busybox");
    ASSERT_EQ(b.code, 0) << b.err;
    RunResult r = RunImgbuild("build --root " + root + " -t demo testdata/demo");
    unsetenv("SOURCE_DATE_EPOCH");
    ASSERT_EQ(r.code, 0) << r.err;
    digests[i] = r.out;
  }
  EXPECT_EQ(digests[0], digests[1]);
}

TEST_F(BuildTest, CopySemantics) {
  std::string ctx = dir_ + "/ctx";
  fs::create_directories(ctx + "/src/sub");
  std::ofstream(ctx + "/src/a.txt") << "a";
  std::ofstream(ctx + "/src/b.md") << "b";
  std::ofstream(ctx + "/src/sub/c.txt") << "c";
  std::ofstream(ctx + "/top.txt") << "top";
  fs::create_symlink("a.txt", ctx + "/src/link");
  fs::create_hard_link(ctx + "/src/sub/c.txt", ctx + "/src/sub/c-hard.txt");
  fs::create_symlink("/../../top.txt", ctx + "/escape");  // resolved inside the context, never the host
  Sh("cd " + ctx + " && tar -czf arch.tgz src");
  std::ofstream(ctx + "/Buildfile") <<
      "FROM busybox:local\n"
      "COPY src/*.txt /glob/\n"
      "COPY src/link /followed\n"
      "COPY escape /escape-dest\n"
      "COPY src /dircontents\n"
      "COPY top.txt /renamed.txt\n"
      "COPY --parents src/sub/c.txt /parents/\n"
      "COPY --exclude=*.md src/ /excluded/\n"
      "COPY --chown=app:staff --chmod=u=rwx,go=rx top.txt /owned\n"
      "ADD arch.tgz /unpacked/\n"
      "ADD --unpack=false arch.tgz /kept/\n"
      "WORKDIR /work/deep\n"
      "COPY top.txt .\n";
  RunResult r = RunImgbuild("build --root " + root_ + " -t copies -o type=oci,dest=" + dir_ + "/out,tar=false " + ctx);
  ASSERT_EQ(r.code, 0) << r.err;
  int code;
  std::string v = Sh("umoci unpack --image " + dir_ + "/out:latest " + dir_ + "/b", &code);
  ASSERT_EQ(code, 0) << v;
  auto f = Listing(dir_ + "/b/rootfs");
  EXPECT_TRUE(f.count("glob/a.txt"));
  EXPECT_EQ(f["followed"], "-rw-r--r-- 0:0 ");      // a top-level link source is followed
  EXPECT_EQ(Slurp(dir_ + "/b/rootfs/followed"), "a");
  EXPECT_EQ(Slurp(dir_ + "/b/rootfs/escape-dest"), "top");
  EXPECT_FALSE(f.count("glob/b.md"));
  EXPECT_FALSE(f.count("glob/sub"));
  EXPECT_TRUE(f.count("dircontents/sub/c.txt"));
  EXPECT_TRUE(fs::equivalent(dir_ + "/b/rootfs/dircontents/sub/c.txt", dir_ + "/b/rootfs/dircontents/sub/c-hard.txt"));
  EXPECT_EQ(f["dircontents/link"], "lrwxrwxrwx 0:0 a.txt");
  EXPECT_TRUE(f.count("renamed.txt"));
  EXPECT_TRUE(f.count("parents/src/sub/c.txt"));
  EXPECT_TRUE(f.count("excluded/a.txt"));
  EXPECT_FALSE(f.count("excluded/b.md"));
  EXPECT_EQ(f["owned"], "-rwxr-xr-x 1000:50 ");
  EXPECT_TRUE(f.count("unpacked/src/sub/c.txt"));
  EXPECT_TRUE(f.count("kept/arch.tgz"));
  EXPECT_TRUE(f.count("work/deep/top.txt"));
  EXPECT_EQ(f["bin/busybox"].substr(0, 10), "-rwxr-xr-x");  // the base is still there
}

TEST_F(BuildTest, OnbuildTriggersAndBaseEnvironment) {
  std::string ctx = dir_ + "/onbuild";
  fs::create_directories(ctx + "/child");
  std::ofstream(ctx + "/Buildfile") <<
      "FROM busybox:local\n"
      "ENV APP_HOME=/srv/app\n"
      "WORKDIR $APP_HOME\n"
      "ONBUILD COPY . $APP_HOME/\n"
      "ONBUILD LABEL triggered=yes\n";
  ASSERT_EQ(RunImgbuild("build --root " + root_ + " -t parent " + ctx).code, 0);
  std::ofstream(ctx + "/child/Buildfile") << "FROM parent\nCOPY Buildfile ${APP_HOME}/copied-by-child\n";
  std::ofstream(ctx + "/child/data.txt") << "data";
  RunResult r = RunImgbuild("build --root " + root_ + " -t child -o type=local,dest=" + dir_ + "/child-rootfs " + ctx + "/child");
  ASSERT_EQ(r.code, 0) << r.err;
  // The trigger copied the child's context, and $APP_HOME came from the parent image's ENV.
  EXPECT_TRUE(fs::exists(dir_ + "/child-rootfs/srv/app/data.txt"));
  EXPECT_TRUE(fs::exists(dir_ + "/child-rootfs/srv/app/copied-by-child"));
  auto doc = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " child").out);
  EXPECT_EQ(doc["config"]["config"]["Labels"]["triggered"], "yes");
  EXPECT_FALSE(doc["config"]["config"].contains("OnBuild"));  // triggers do not pass to grandchildren
  auto parent = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " parent").out);
  EXPECT_EQ(parent["config"]["config"]["OnBuild"].size(), 2u);
}

TEST_F(BuildTest, NamedBuildContexts) {
  std::string ctx = dir_ + "/named";
  fs::create_directories(ctx + "/main");
  fs::create_directories(ctx + "/extra/conf");
  std::ofstream(ctx + "/extra/conf/app.conf") << "key=value\n";
  RunResult saved = RunImgbuild("build --root " + root_ + " -t busybox:local -o type=oci,dest=" + ctx +
                                "/bb,tar=false " + dir_ + "/busybox");
  ASSERT_EQ(saved.code, 0) << saved.err;
  std::ofstream(ctx + "/main/Buildfile") <<
      "FROM base\n"
      "COPY --from=extra conf/app.conf /etc/app.conf\n"
      "COPY --from=tools /bin/busybox /opt/busybox\n";
  RunResult r = RunImgbuild("build --root " + dir_ + "/fresh-root --build-context base=" + ctx + "/extra " +
                            "--build-context extra=" + ctx + "/extra --build-context tools=oci-layout://" + ctx +
                            "/bb:local -o type=local,dest=" + dir_ + "/named-out " + ctx + "/main");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/named-out/etc/app.conf"), "key=value\n");
  EXPECT_TRUE(fs::exists(dir_ + "/named-out/conf/app.conf"));  // FROM base: the directory is the root
  EXPECT_TRUE(fs::exists(dir_ + "/named-out/opt/busybox"));
  // A named OCI layout works as a base image too.
  std::ofstream(ctx + "/main/Buildfile") << "FROM tools\nCOPY --from=extra conf /conf\n";
  r = RunImgbuild("build --root " + dir_ + "/fresh-root --build-context extra=" + ctx + "/extra " +
                  "--build-context tools=oci-layout://" + ctx + "/bb -o type=local,dest=" + dir_ + "/named-out2 " +
                  ctx + "/main");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ + "/named-out2/bin/busybox"));
  EXPECT_TRUE(fs::exists(dir_ + "/named-out2/conf/app.conf"));
}

TEST_F(BuildTest, IndependentStagesTogether) {
  std::string ctx = dir_ + "/parallel";
  fs::create_directories(ctx);
  std::string text;
  for (int i = 0; i < 6; ++i) {
    std::ofstream(ctx + "/f" + std::to_string(i)) << std::string(1 << 20, static_cast<char>('a' + i));
    text += "FROM busybox:local AS s" + std::to_string(i) + "\nCOPY f" + std::to_string(i) + " /out/\n";
  }
  text += "FROM scratch\n";
  for (int i = 0; i < 6; ++i) text += "COPY --from=s" + std::to_string(i) + " /out/ /all/\n";
  std::ofstream(ctx + "/Buildfile") << text;
  RunResult r = RunImgbuild("build --root " + root_ + " -o type=local,dest=" + dir_ + "/par " + ctx);
  ASSERT_EQ(r.code, 0) << r.err;
  for (int i = 0; i < 6; ++i) EXPECT_EQ(fs::file_size(dir_ + "/par/all/f" + std::to_string(i)), 1u << 20);
  // One stage failing fails the build, whatever the others do.
  std::ofstream(ctx + "/Buildfile") << text + "COPY --from=s1 /nope /x\n";
  r = RunImgbuild("build --root " + root_ + " " + ctx);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("\"/nope\" not found in the source stage"), std::string::npos) << r.err;
}

TEST_F(BuildTest, KilledBuildsLeaveNothingBehind) {
  std::string ctx = dir_ + "/killed";
  fs::create_directories(ctx);
  Sh("head -c 300000000 /dev/urandom > " + ctx + "/big.bin");
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local AS a\nCOPY big.bin /a\nFROM busybox:local\nCOPY --from=a /a /b\n";
  for (int delay_ms : {100, 400, 900}) {
    SCOPED_TRACE(delay_ms);
    std::string pid = Sh("cd " IMGBUILD_SOURCE_DIR " && (" IMGBUILD_BINARY " build --root " + root_ + " -t killed " + ctx +
                         " >/dev/null 2>&1 & echo $!)");
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    ::usleep(delay_ms * 1000);
    Sh("kill -9 " + pid);
    // Wait until it is really gone (a process in the middle of disk I/O takes a moment to die).
    // (A killed multi-threaded process is a zombie leader while its other threads still exit.)
    Sh("for i in $(seq 200); do [ -e /proc/" + pid + " ] && { ! grep -q ') Z' /proc/" + pid +
       "/stat || [ $(ls /proc/" + pid + "/task | wc -l) -gt 1 ]; } && sleep 0.05 || break; done");
    RunResult r = RunImgbuild("build --root " + root_ + " -t after " + dir_ + "/busybox");
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto& e : fs::directory_iterator(root_ + "/tmp")) {
      EXPECT_EQ(e.path().filename().string().rfind("ingest-", 0), std::string::npos) << e.path();
      EXPECT_EQ(e.path().filename().string().rfind("build-", 0), std::string::npos)
          << e.path() << "\n" << Sh("ls -laR " + e.path().string() + " | head -30; grep " + root_ + " /proc/self/mounts");
    }
    EXPECT_EQ(Sh("grep -c ' " + root_ + "' /proc/self/mounts || true"), "0\n");
    // Only base image snapshots (shared, named by chain ID) and cached steps' snapshots outlive
    // a build; a dead build's temporary ones are gone.
    for (const auto& e : fs::directory_iterator(root_ + "/snapshots")) {
      std::string name = e.path().filename().string();
      EXPECT_TRUE(name.rfind("chain-", 0) == 0 || name.rfind("c-", 0) == 0) << e.path();
    }
  }
  RunResult r = RunImgbuild("build --root " + root_ + " -t killed " + ctx);
  ASSERT_EQ(r.code, 0) << r.err;
}

TEST_F(BuildTest, CopyLinkMakesAnIndependentLayer) {
  std::string ctx = dir_ + "/link";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/f") << "f";
  // The base's /root is 0700. A plain COPY into it keeps that; a --link layer is made apart from
  // the base, so its /root is a fresh 0755 directory that wins, made as the --chown user
  // (BuildKit's behaviour: moby/buildkit#3912, docker/docs#20660).
  for (bool link : {false, true}) {
    SCOPED_TRACE(link ? "--link" : "plain");
    std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nCOPY " << (link ? "--link " : "")
                                       << "--chown=app f /root/f\n";
    std::string out = dir_ + "/link-out-" + (link ? "1" : "0");
    RunResult r = RunImgbuild("build --root " + root_ + " -o type=local,dest=" + out + " " + ctx);
    ASSERT_EQ(r.code, 0) << r.err;
    auto files = Listing(out);
    EXPECT_EQ(files["root/f"], "-rw-r--r-- 1000:1000 ");  // --chown names come from the base either way
    EXPECT_EQ(files["root"], link ? "drwxr-xr-x 1000:1000 " : "drwx------ 0:0 ");
    EXPECT_TRUE(files.count("bin/busybox"));
  }
}

TEST_F(BuildTest, ClearErrors) {
  std::string ctx = dir_ + "/bad";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nCOPY missing.txt /\n";
  RunResult r = RunImgbuild("build --root " + root_ + " " + ctx);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(":2: COPY: \"missing.txt\" not found in the build context"), std::string::npos) << r.err;
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nRUN echo one; \\\n  echo two; exit 3\n";
  r = RunImgbuild("build --progress=plain --root " + root_ + " " + ctx);
  EXPECT_EQ(r.code, 1);
  // The exit code, the step's lines, the tail of its output and where the whole log is.
  EXPECT_NE(r.err.find(":2: RUN: process \"/bin/sh -c echo one;   echo two; exit 3\" did not complete successfully: "
                       "exit code: 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("    2 | RUN echo one; \\\n    3 |   echo two; exit 3\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("output (last lines):\n  one\n  two\n"), std::string::npos) << r.err;
  size_t log = r.err.find("full log: ");
  ASSERT_NE(log, std::string::npos) << r.err;
  std::string log_path = r.err.substr(log + 10, r.err.find('\n', log) - log - 10);
  EXPECT_EQ(Slurp(log_path), "one\ntwo\n");
  EXPECT_NE(r.err.find("ERROR: "), std::string::npos) << r.err;
  std::ofstream(ctx + "/Buildfile") << "FROM nosuch:image\n";
  r = RunImgbuild("build --pull=never --root " + root_ + " " + ctx);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("FROM nosuch:image: no such image in the local store"), std::string::npos) << r.err;
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nCOPY --chown=ghost x /\n";
  std::ofstream(ctx + "/x") << "x";
  r = RunImgbuild("build --root " + root_ + " " + ctx);
  EXPECT_NE(r.err.find("unable to find user ghost"), std::string::npos) << r.err;
  // Nothing is left behind in the state dir's scratch space.
  EXPECT_TRUE(fs::is_empty(root_ + "/tmp") || Sh("ls " + root_ + "/tmp") == "index.lock\n") << Sh("ls " + root_ + "/tmp");
}

}  // namespace
}  // namespace imgbuild::testing

namespace imgbuild::testing {
namespace {

// BuildKit's COPY rules (issue 13). Ownership (items 1 and 2): files from another stage keep
// their owner; the context's become 0:0; the destination directories a COPY --chown creates
// belong to that user (BuildKit makes the destination path as the user).
class CopyRulesTest : public BusyboxTest {};

TEST_F(CopyRulesTest, StagesKeepOwnersAndChownOwnsTheDirectoriesItCreates) {
  std::string ctx = dir_ + "/own";
  std::filesystem::create_directories(ctx);
  std::ofstream(ctx + "/a") << "a\n";
  RunResult r = Build("own",
                      "FROM busybox:local AS s\nRUN mkdir -p /d/sub && touch /d/f /d/sub/g && chown -R 100:200 /d\n"
                      "FROM busybox:local\nCOPY --from=s /d /out/\nCOPY --from=s --chown=7:8 /d/f /chowned\n"
                      "COPY a /ctx-a\nCOPY --chown=1000:1001 a /new/deep/a\n",
                      "-o type=local,dest=" + dir_ + "/rootfs");
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, std::string> ls = Listing(dir_ + "/rootfs");
  auto owner = [&](const std::string& p) {
    std::string v = ls[p];
    return v.substr(v.find(' ') + 1, v.find(' ', v.find(' ') + 1) - v.find(' ') - 1);
  };
  EXPECT_EQ(owner("out/f"), "100:200");
  EXPECT_EQ(owner("out/sub"), "100:200");
  EXPECT_EQ(owner("out/sub/g"), "100:200");
  EXPECT_EQ(owner("chowned"), "7:8");
  EXPECT_EQ(owner("ctx-a"), "0:0");
  EXPECT_EQ(owner("new"), "1000:1001");
  EXPECT_EQ(owner("new/deep"), "1000:1001");
  EXPECT_EQ(owner("new/deep/a"), "1000:1001");
}

// COPY --parents keeps the path after a `/./` pivot, as BuildKit (issue 13, item 4).
TEST_F(CopyRulesTest, ParentsPivot) {
  std::string ctx = dir_ + "/pivot";
  for (const char* d : {"/test/a/b/c/d", "/test/a/b/c2", "/pkgs/one", "/pkgs/two"}) std::filesystem::create_directories(ctx + d);
  std::ofstream(ctx + "/test/a/b/c/d/e") << "e";
  std::ofstream(ctx + "/test/a/b/c2/f") << "f";
  std::ofstream(ctx + "/pkgs/one/package.json") << "1";
  std::ofstream(ctx + "/pkgs/two/package.json") << "2";
  RunResult r = Build("pivot",
                      "FROM busybox:local\nCOPY --parents /test/a/b/./c/d /out/\n"
                      "COPY --parents ./test/a/./b/c2/f /out2/\nCOPY --parents pkgs/./*/package.json /p/\n"
                      "COPY --parents test/a/b/c2/f /whole/\n",
                      "-o type=local,dest=" + dir_ + "/pivot-out");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string o = dir_ + "/pivot-out";
  EXPECT_EQ(Slurp(o + "/out/c/d/e"), "e");
  EXPECT_EQ(Slurp(o + "/out2/b/c2/f"), "f");
  EXPECT_EQ(Slurp(o + "/p/one/package.json"), "1");
  EXPECT_EQ(Slurp(o + "/p/two/package.json"), "2");
  EXPECT_EQ(Slurp(o + "/whole/test/a/b/c2/f"), "f");
  EXPECT_FALSE(std::filesystem::exists(o + "/out/test"));
}

// WORKDIR under USER makes the directories it creates that user's (issue 13, item 16).
TEST_F(CopyRulesTest, WorkdirBelongsToTheUser) {
  RunResult r = Build("wd", "FROM busybox:local\nUSER 1000:1001\nWORKDIR /w/deep\nUSER root\nWORKDIR /r\n",
                      "-o type=local,dest=" + dir_ + "/wd-out");
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, std::string> ls = Listing(dir_ + "/wd-out");
  EXPECT_EQ(ls["w"], "drwxr-xr-x 1000:1001 ");
  EXPECT_EQ(ls["w/deep"], "drwxr-xr-x 1000:1001 ");
  EXPECT_EQ(ls["r"], "drwxr-xr-x 0:0 ");
  // The user is in the step's cache key: another USER is another directory owner.
  r = Build("wd", "FROM busybox:local\nUSER 7:8\nWORKDIR /w/deep\n", "-o type=local,dest=" + dir_ + "/wd-out2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Listing(dir_ + "/wd-out2")["w/deep"], "drwxr-xr-x 7:8 ");
}

// A unix socket in the context is copied as an empty file, as BuildKit does (issue 13, item 7).
TEST_F(CopyRulesTest, AContextSocketBecomesAnEmptyFile) {
  std::string ctx = dir_ + "/sock";
  std::filesystem::create_directories(ctx);
  Sh("python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.bind('" + ctx + "/dev.sock')\"");
  ASSERT_TRUE(std::filesystem::is_socket(ctx + "/dev.sock"));
  RunResult r = Build("sock", "FROM busybox:local\nCOPY . /ctx/\nRUN test -f /ctx/dev.sock && test ! -s /ctx/dev.sock\n");
  ASSERT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace imgbuild::testing
