// Multi-platform builds (issue 15): one build for linux/amd64, linux/arm64 and linux/arm/v7 makes
// an OCI index; a FROM --platform=$BUILDPLATFORM stage is built once and shared; each target
// stage's RUN runs its platform's binaries; the index is checked by oci-image-tool, pushed to a
// local registry and read back per platform by skopeo, and run by podman where the host can.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "foreign_busybox.h"
#include "local_registry.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

class MultiPlatformTest : public ForeignBusyboxTest {
 protected:
  void SetUp() override {
    ForeignBusyboxTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (Sh("uname -m") != "x86_64\n") GTEST_SKIP() << "the multi-platform base is made for an amd64 host";
    MakeMultiBase();
  }
};

const char kTwoStages[] =
    "FROM --platform=$BUILDPLATFORM busybox:multi AS tools\n"
    "RUN cat /proc/sys/kernel/random/uuid > /made-once && uname -m > /made-on\n"
    "ARG TARGETPLATFORM\n"
    "RUN echo \"$TARGETPLATFORM\" > /made-for\n"
    "FROM busybox:multi\n"
    "ARG TARGETARCH TARGETVARIANT BUILDPLATFORM\n"
    "COPY --from=tools /made-once /made-on /made-for /\n"
    "RUN uname -m > /arch && echo \"$TARGETARCH|$TARGETVARIANT|$BUILDPLATFORM\" > /args\n";

TEST_F(MultiPlatformTest, OneBuildMakesAnIndexOfEveryPlatform) {
  LocalRegistry registry;
  ASSERT_EQ(registry.Start(dir_), "");
  const std::string ref = registry.host() + "/multi/app:1";
  std::string oci = dir_ + "/app-oci.tar";
  RunResult r = Build("app", kTwoStages,
                      "--platform linux/amd64,linux/arm64,linux/arm/v7 -t " + ref + " --push -o type=oci,dest=" + oci +
                          " --metadata-file " + dir_ + "/md.json --tls-verify=false");
  ASSERT_EQ(r.code, 0) << r.err;
  // Each platform's steps are labelled with it; the tools stage's RUN ran once, the others hit.
  EXPECT_NE(r.err.find("[linux/arm64 stage-1 4/4] RUN uname -m"), std::string::npos) << r.err;
  EXPECT_EQ(CountOf(r.err, "[linux/arm/v7 tools 2/4] RUN cat"), 1u) << r.err;

  // The local store: one name for the index.
  auto inspected = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " " + ref).out);
  EXPECT_EQ(inspected["index"]["mediaType"], "application/vnd.oci.image.index.v1+json");
  std::set<std::string> platforms;
  for (const auto& p : inspected["platforms"]) platforms.insert(p["platform"].get<std::string>());
  EXPECT_EQ(platforms, (std::set<std::string>{"linux/amd64", "linux/arm64", "linux/arm/v7"}));
  auto arm = nlohmann::json::parse(RunImgbuild("inspect --platform linux/arm/v7 --root " + root_ + " " + ref).out);
  EXPECT_EQ(arm["config"]["architecture"], "arm");
  EXPECT_EQ(arm["config"]["variant"], "v7");
  RunResult images = RunImgbuild("images --format '{{.ID}}' --filter reference=" + ref + " --root " + root_);
  EXPECT_EQ(images.out, inspected["digest"].get<std::string>().substr(7, 12) + "\n");
  EXPECT_EQ(RunImgbuild("inspect --platform linux/s390x --root " + root_ + " " + ref).code, 1);

  // The OCI archive: its index (nested in index.json, as BuildKit writes it) is a valid image
  // index, and each platform's image, taken out by skopeo, a valid image (oci-image-tool reads
  // no nested index itself).
  int code;
  std::string layout = dir_ + "/app-oci";
  std::filesystem::create_directories(layout);
  ASSERT_EQ(Sh("tar -xf " + oci + " -C " + layout, &code), "");
  auto top = nlohmann::json::parse(Slurp(layout + "/index.json"));
  ASSERT_EQ(top["manifests"].size(), 1u);
  EXPECT_EQ(top["manifests"][0]["mediaType"], "application/vnd.oci.image.index.v1+json");
  std::string v = Sh("oci-image-tool validate --type imageIndex " + layout + "/blobs/sha256/" +
                         top["manifests"][0]["digest"].get<std::string>().substr(7) + " 2>&1",
                     &code);
  EXPECT_EQ(code, 0) << v;
  int n = 0;
  for (const char* flags : {"--override-arch amd64", "--override-arch arm64", "--override-arch arm --override-variant v7"}) {
    std::string one = dir_ + "/one-" + std::to_string(++n);
    v = Sh(std::string("skopeo ") + flags + " copy oci-archive:" + oci + " oci:" + one + ":1 2>&1", &code);
    ASSERT_EQ(code, 0) << v;
    v = Sh("oci-image-tool validate --type image --ref name=1 " + one + " 2>&1", &code);
    EXPECT_EQ(code, 0) << flags << ": " << v;
  }
  // The registry: the index and each platform's image, as skopeo sees them.
  std::string raw = Sh("skopeo inspect --raw --tls-verify=false docker://" + ref, &code);
  ASSERT_EQ(code, 0) << raw;
  auto index = nlohmann::json::parse(raw);
  EXPECT_EQ(index["mediaType"], "application/vnd.oci.image.index.v1+json");
  ASSERT_EQ(index["manifests"].size(), 3u);
  EXPECT_EQ(index["manifests"][0]["platform"], nlohmann::json({{"architecture", "amd64"}, {"os", "linux"}}));
  EXPECT_EQ(index["manifests"][1]["platform"], nlohmann::json({{"architecture", "arm64"}, {"os", "linux"}}));
  EXPECT_EQ(index["manifests"][2]["platform"], nlohmann::json({{"architecture", "arm"}, {"os", "linux"}, {"variant", "v7"}}));
  auto md = nlohmann::json::parse(Slurp(dir_ + "/md.json"));
  EXPECT_EQ(md["containerimage.digest"], "sha256:" + Sh("printf %s '" + raw + "' | sha256sum | cut -c1-64").substr(0, 64));
  const std::pair<std::string, std::string> overrides[] = {
      {"--override-arch amd64", "amd64"}, {"--override-arch arm64", "arm64"}, {"--override-arch arm --override-variant v7", "arm"}};
  for (const auto& [flags, arch] : overrides) {
    std::string out = Sh("skopeo " + flags + " inspect --tls-verify=false docker://" + ref, &code);
    ASSERT_EQ(code, 0) << out;
    EXPECT_EQ(nlohmann::json::parse(out)["Architecture"], arch) << flags;
  }

  // What each platform's image holds: its own uname -m, the tools made once on the build platform.
  std::string local = dir_ + "/app-local";
  r = Build("app", kTwoStages, "--platform linux/amd64,linux/arm64,linux/arm/v7 -o type=local,dest=" + local);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOf(r.err, "CACHED"), 3u * 6u) << r.err;  // a no-op rebuild of all three
  const std::string once = Slurp(local + "/linux_amd64/made-once");
  ASSERT_EQ(once.size(), 37u);
  const struct {
    std::string dir, machine, args;
  } expect[] = {{"linux_amd64", "x86_64", "amd64||linux/amd64"},
                {"linux_arm64", "aarch64", "arm64||linux/amd64"},
                {"linux_arm_v7", "armv7l", "arm|v7|linux/amd64"}};
  for (const auto& e : expect) {
    EXPECT_EQ(Slurp(local + "/" + e.dir + "/arch"), e.machine + "\n") << e.dir;
    EXPECT_EQ(Slurp(local + "/" + e.dir + "/args"), e.args + "\n") << e.dir;
    EXPECT_EQ(Slurp(local + "/" + e.dir + "/made-once"), once) << e.dir;     // one run, shared
    EXPECT_EQ(Slurp(local + "/" + e.dir + "/made-on"), "x86_64\n") << e.dir;  // on the build platform
  }
  EXPECT_EQ(Slurp(local + "/linux_arm64/made-for"), "linux/arm64\n");

  // podman runs the host's platform of the pushed index (the others would need the host's binfmt_misc).
  std::string podman = "podman --root " + dir_ + "/podman --runroot " + dir_ + "/podman-run --runtime runc ";
  std::string out = Sh("timeout 120 " + podman + "run --rm --tls-verify=false --platform linux/amd64 --network none --ulimit "
                       "nofile=20000:20000 --ulimit nproc=4096:4096 " + ref + " cat /arch 2>&1", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("x86_64"), std::string::npos) << out;
  Sh(podman + "rmi -a -f");
}

// An index goes through every command that moves images: push, pull (one platform by default,
// the whole index with --all-platforms, some with --platform A,B), save and load, tag and rm,
// and a multi-platform build pulls each base's platforms.
TEST_F(MultiPlatformTest, IndexesMoveThroughPullPushSaveAndLoad) {
  LocalRegistry registry;
  ASSERT_EQ(registry.Start(dir_), "");
  const std::string ref = registry.host() + "/multi/base:1";
  RunResult r = RunImgbuild("push --tls-verify=false --root " + root_ + " busybox:multi " + ref);
  ASSERT_EQ(r.code, 0) << r.err;
  int code;
  auto index = nlohmann::json::parse(Sh("skopeo inspect --raw --tls-verify=false docker://" + ref, &code));
  ASSERT_EQ(index["manifests"].size(), 3u);
  auto platforms_of = [](const std::string& root, const std::string& name) {
    std::set<std::string> out;
    RunResult i = RunImgbuild("inspect --root " + root + " " + name);
    auto doc = nlohmann::json::parse(i.out.empty() ? "{}" : i.out);
    for (const auto& p : doc.value("platforms", nlohmann::json::array())) out.insert(p["platform"].get<std::string>());
    return out;
  };
  // Default: one platform, the host's.
  std::string one = dir_ + "/one-root";
  ASSERT_EQ(RunImgbuild("pull --tls-verify=false --root " + one + " " + ref).code, 0);
  auto single = nlohmann::json::parse(RunImgbuild("inspect --root " + one + " " + ref).out);
  EXPECT_EQ(single["config"]["architecture"], "amd64");
  // --all-platforms: the index, every image.
  std::string all = dir_ + "/all-root";
  r = RunImgbuild("pull --all-platforms --tls-verify=false --root " + all + " " + ref);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "sha256:" + Sh("skopeo inspect --raw --tls-verify=false docker://" + ref + " | sha256sum | cut -c1-64"));
  EXPECT_EQ(platforms_of(all, ref), (std::set<std::string>{"linux/amd64", "linux/arm64", "linux/arm/v7"}));
  auto arm = nlohmann::json::parse(RunImgbuild("inspect --platform linux/arm64 --root " + all + " " + ref).out);
  EXPECT_EQ(arm["config"]["architecture"], "arm64");
  // --platform A,B: the index with those images; another platform is not there.
  std::string some = dir_ + "/some-root";
  ASSERT_EQ(RunImgbuild("pull --platform linux/arm64,linux/arm/v7 --tls-verify=false --root " + some + " " + ref).code, 0);
  EXPECT_EQ(RunImgbuild("inspect --platform linux/arm64 --root " + some + " " + ref).code, 0);
  r = RunImgbuild("inspect --platform linux/amd64 --root " + some + " " + ref);
  EXPECT_EQ(r.code, 1) << r.out;
  r = RunImgbuild("pull --platform linux/s390x,linux/arm64 --tls-verify=false --root " + some + " " + ref);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no image for linux/s390x in its index (it has linux/amd64, linux/arm64, linux/arm/v7)"), std::string::npos)
      << r.err;

  // save and load keep the index; tag and rm work on it.
  std::string tar = dir_ + "/multi.tar";
  ASSERT_EQ(RunImgbuild("save --root " + all + " -o " + tar + " " + ref).code, 0);
  std::string loaded = dir_ + "/loaded-root";
  r = RunImgbuild("load --root " + loaded + " -i " + tar);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(platforms_of(loaded, ref), (std::set<std::string>{"linux/amd64", "linux/arm64", "linux/arm/v7"}));
  ASSERT_EQ(RunImgbuild("tag --root " + loaded + " " + ref + " again:1").code, 0);
  EXPECT_EQ(platforms_of(loaded, "again:1").size(), 3u);
  ASSERT_EQ(RunImgbuild("rm --root " + loaded + " " + ref).code, 0);
  EXPECT_EQ(platforms_of(loaded, "again:1").size(), 3u);

  // A multi-platform build FROM the registry's index, on an empty store, pulls what it needs.
  std::string fresh = dir_ + "/build-root";
  std::filesystem::create_directories(dir_ + "/from-registry");
  std::ofstream(dir_ + "/from-registry/Buildfile") << "FROM " << ref << "\nRUN uname -m > /arch\n";
  r = RunImgbuild("build --pull=always --tls-verify=false --network=none --root " + fresh +
                  " --platform linux/arm64,linux/arm/v7 -o type=local,dest=" + dir_ + "/from-registry-out " + dir_ +
                  "/from-registry");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/from-registry-out/linux_arm64/arch"), "aarch64\n");
  EXPECT_EQ(Slurp(dir_ + "/from-registry-out/linux_arm_v7/arch"), "armv7l\n");
}

// Outputs of an index as buildx writes them, one cache for every platform, and the first failing
// platform cancelling the others.
TEST_F(MultiPlatformTest, OutputsCacheAndFailures) {
  const std::string three = "--platform linux/amd64,linux/arm64,linux/arm/v7 ";
  std::string docker = dir_ + "/app-docker.tar", tar = dir_ + "/app-rootfs.tar", cache = dir_ + "/cache";
  RunResult r = Build("app", kTwoStages,
                      three + "-t app:2 -o type=docker,dest=" + docker + " -o type=tar,dest=" + tar +
                          " --cache-to type=local,dest=" + cache + ",mode=max" +
                          " --annotation index:org.example.i=1 --annotation manifest,index:org.example.both=2");
  ASSERT_EQ(r.code, 0) << r.err;
  // --annotation index: lands on the index, manifest (the default) on each platform's manifest.
  auto shown = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " app:2").out);
  EXPECT_EQ(shown["index"]["annotations"], nlohmann::json({{"org.example.both", "2"}, {"org.example.i", "1"}}));
  auto arm = nlohmann::json::parse(RunImgbuild("inspect --platform linux/arm64 --root " + root_ + " app:2").out);
  EXPECT_EQ(arm["manifest"]["annotations"]["org.example.both"], "2");
  EXPECT_FALSE(arm["manifest"]["annotations"].contains("org.example.i"));
  // docker: the index in index.json (Docker 25+), manifest.json naming the host's platform.
  std::string layout = dir_ + "/app-docker";
  std::filesystem::create_directories(layout);
  int code;
  ASSERT_EQ(Sh("tar -xf " + docker + " -C " + layout, &code), "");
  auto top = nlohmann::json::parse(Slurp(layout + "/index.json"));
  EXPECT_EQ(top["manifests"][0]["mediaType"], "application/vnd.oci.image.index.v1+json");
  auto list = nlohmann::json::parse(Slurp(layout + "/manifest.json"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["RepoTags"], nlohmann::json::array({"app:2"}));
  auto config = nlohmann::json::parse(Slurp(layout + "/" + list[0]["Config"].get<std::string>()));
  EXPECT_EQ(config["architecture"], "amd64");
  // tar: one directory per platform.
  std::string names = Sh("tar -tf " + tar);
  for (const char* p : {"linux_amd64/arch", "linux_arm64/arch", "linux_arm_v7/arch"}) {
    EXPECT_NE(names.find(p), std::string::npos) << p << "\n" << names.substr(0, 500);
  }
  // The cache holds every platform's steps: with the local cache pruned, all three come from it.
  ASSERT_EQ(RunImgbuild("prune -a --root " + root_).code, 0);
  r = RunImgbuild("build --progress=plain --network=none --root " + root_ + " " + three + "--cache-from type=local,src=" + cache +
                  " " + dir_ + "/app");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOf(r.err, "CACHED"), 3u * 6u) << r.err;

  // arm64's RUN fails at once: amd64's and arm/v7's long RUNs are cancelled, not waited for.
  auto t0 = std::chrono::steady_clock::now();
  r = Build("fails", "FROM busybox:multi\nRUN if [ \"$(uname -m)\" = aarch64 ]; then exit 7; fi; sleep 30\n", three);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 1);
  EXPECT_LT(seconds, 20.0) << r.err;
  EXPECT_NE(r.err.find("exit code: 7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CANCELED"), std::string::npos) << r.err;
}

TEST_F(MultiPlatformTest, ABaseWithoutThePlatformIsAClearError) {
  RunResult r = Build("no-s390x", "FROM busybox:multi\nRUN true\n", "--platform linux/amd64,linux/s390x");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("FROM busybox:multi: the image has no manifest for linux/s390x (it has linux/amd64, linux/arm64, "
                       "linux/arm/v7)"),
            std::string::npos)
      << r.err;
}

// CI that builds each platform on its own machine joins the images: manifest create (from the
// store, or pulled), pushed as an index; manifest inspect shows it, local or remote.
class ManifestTest : public ForeignBusyboxTest {};

TEST_F(ManifestTest, CreateJoinsImagesAndInspectShowsThem) {
  if (Sh("uname -m") != "x86_64\n") GTEST_SKIP() << "busybox:local is amd64 here only on an x86_64 host";
  LocalRegistry registry;
  ASSERT_EQ(registry.Start(dir_), "");
  const std::string joined = registry.host() + "/joined/busybox:1";
  RunResult r = RunImgbuild("manifest create --push --tls-verify=false --root " + root_ + " " + joined +
                            " busybox:local busybox:arm64 busybox:armv7");
  ASSERT_EQ(r.code, 0) << r.err;
  int code;
  auto index = nlohmann::json::parse(Sh("skopeo inspect --raw --tls-verify=false docker://" + joined, &code));
  EXPECT_EQ(index["mediaType"], "application/vnd.oci.image.index.v1+json");
  ASSERT_EQ(index["manifests"].size(), 3u);
  EXPECT_EQ(index["manifests"][1]["platform"], nlohmann::json({{"architecture", "arm64"}, {"os", "linux"}}));
  EXPECT_EQ(index["manifests"][2]["platform"], nlohmann::json({{"architecture", "arm"}, {"os", "linux"}, {"variant", "v7"}}));
  std::string out = Sh("skopeo --override-arch arm64 inspect --tls-verify=false docker://" + joined, &code);
  EXPECT_EQ(nlohmann::json::parse(out)["Architecture"], "arm64") << out;
  // inspect: of the store, then of the registry.
  r = RunImgbuild("manifest inspect --root " + root_ + " " + joined);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("MediaType: application/vnd.oci.image.index.v1+json"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  Platform:  linux/arm/v7\n"), std::string::npos) << r.out;
  r = RunImgbuild("manifest inspect --remote --tls-verify=false --root " + root_ + " " + joined);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOf(r.out, "  Platform:  "), 3u) << r.out;
  r = RunImgbuild("manifest inspect --raw --remote --tls-verify=false --root " + root_ + " " + joined);
  EXPECT_EQ(nlohmann::json::parse(r.out), index);
  r = RunImgbuild("manifest inspect --root " + root_ + " busybox:arm64");
  EXPECT_NE(r.out.find("Platform:  linux/arm64"), std::string::npos) << r.out;
  // Two images of one platform are refused; sources the store lacks are pulled.
  r = RunImgbuild("manifest create --root " + root_ + " twice:1 busybox:local busybox:arm64 busybox:local");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("two images for linux/amd64: busybox:local and busybox:local"), std::string::npos) << r.err;
  ASSERT_EQ(RunImgbuild("push --tls-verify=false --root " + root_ + " busybox:arm64 " + registry.host() + "/single/bb:arm64").code, 0);
  ASSERT_EQ(RunImgbuild("push --tls-verify=false --root " + root_ + " busybox:local " + registry.host() + "/single/bb:amd64").code, 0);
  std::string fresh = dir_ + "/fresh-root";
  r = RunImgbuild("manifest create --tls-verify=false --root " + fresh + " two:1 " + registry.host() + "/single/bb:amd64 " +
                  registry.host() + "/single/bb:arm64");
  ASSERT_EQ(r.code, 0) << r.err;
  r = RunImgbuild("manifest inspect --root " + fresh + " two:1");
  EXPECT_NE(r.out.find("Platform:  linux/amd64"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Platform:  linux/arm64"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace imgbuild::testing
