// Registries: Debian's docker-registry started by the test on 127.0.0.1 (plain HTTP, a port of
// its own); what imgbuild pushes is read back by skopeo, what skopeo pushes is built FROM, a
// build cache pushed to the registry gives hits on an empty state dir, and faults are retried.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "registry_fixture.h"
#include "tmux_session.h"

namespace imgbuild::testing {
namespace {

TEST_F(RegistryTest, PushedImagesReadBackWithSkopeo) {
  RunResult push = RunImgbuild("push --root " + root_ + " busybox:local " + host_ + "/test/busybox:1");
  ASSERT_EQ(push.code, 0) << push.err;
  std::string digest = push.out.substr(0, push.out.find('\n'));
  int code;
  std::string inspect = Skopeo("inspect --tls-verify=false docker://" + host_ + "/test/busybox:1", &code);
  ASSERT_EQ(code, 0) << inspect;
  auto info = nlohmann::json::parse(inspect);
  EXPECT_EQ(info["Digest"], digest);
  EXPECT_EQ(info["Layers"].size(), 1u);
  std::string copied = Skopeo("copy --src-tls-verify=false docker://" + host_ + "/test/busybox:1 oci:" + dir_ + "/copy:x", &code);
  EXPECT_EQ(code, 0) << copied;
  // Pushing again uploads nothing; chunked uploads work too.
  push = RunImgbuild("push --root " + root_ + " busybox:local " + host_ + "/test/busybox:1");
  EXPECT_NE(push.err.find("0 blobs uploaded, 2 already there"), std::string::npos) << push.err;
  push = RunImgbuild("push --chunk-size 65536 --root " + root_ + " busybox:local " + host_ + "/test/chunked:1");
  ASSERT_EQ(push.code, 0) << push.err;
  EXPECT_EQ(nlohmann::json::parse(Skopeo("inspect --tls-verify=false docker://" + host_ + "/test/chunked:1", &code))["Digest"],
            digest);
  // An OCI layout made elsewhere is pushed as it is.
  push = RunImgbuild("push --root " + root_ + " " + dir_ + "/copy " + host_ + "/test/from-layout:1");
  EXPECT_EQ(push.code, 0) << push.err;
}

TEST_F(RegistryTest, ImagesPushedBySkopeoArePulledAndBuiltFrom) {
  RunResult save = RunImgbuild("build --root " + root_ + " -o type=oci,dest=" + dir_ + "/bb-oci,tar=false " + dir_ + "/busybox");
  ASSERT_EQ(save.code, 0) << save.err;
  int code;
  std::string out = Skopeo("copy --dest-tls-verify=false oci:" + dir_ + "/bb-oci docker://" + host_ + "/sk/busybox:1", &code);
  ASSERT_EQ(code, 0) << out;
  std::string fresh = dir_ + "/fresh-root";
  std::string ctx = dir_ + "/from-registry";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM " << host_ << "/sk/busybox:1\nRUN echo built-from-the-registry > /r\n";
  RunResult r = RunImgbuild("build --progress=plain --network=none --root " + fresh + " -o type=local,dest=" + dir_ +
                            "/from-out " + ctx);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("pulled " + host_ + "/sk/busybox:1"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/from-out/r"), "built-from-the-registry\n");
  RunResult pull = RunImgbuild("pull --root " + fresh + " " + host_ + "/sk/busybox:1");
  EXPECT_EQ(pull.code, 0) << pull.err;
  // A missing image: a clear error; --pull=never does not ask the registry.
  std::ofstream(ctx + "/Buildfile") << "FROM " << host_ << "/sk/nothing:1\n";
  r = RunImgbuild("build --root " + fresh + " " + ctx);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("pulling it failed: GET http://" + host_ + "/v2/sk/nothing/manifests/1: HTTP 404"),
            std::string::npos) << r.err;
  r = RunImgbuild("build --pull=never --root " + fresh + " " + ctx);
  EXPECT_EQ(r.err.find("pulling it failed"), std::string::npos) << r.err;
}

TEST_F(RegistryTest, BuildPushAndImageOutput) {
  std::string ctx = dir_ + "/pushed";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nRUN echo pushed > /p\n";
  std::string md = dir_ + "/md.json", oci = dir_ + "/pushed-oci";
  RunResult r = RunImgbuild("build --progress=plain --network=none --root " + root_ + " -t " + host_ + "/app/one:1 --push " +
                            "-o type=image,name=" + host_ + "/app/two:2,push=true --metadata-file " + md +
                            " -o type=oci,dest=" + oci + ",tar=false " + ctx);
  ASSERT_EQ(r.code, 0) << r.err;
  // The digest on stdout and in the metadata file is the manifest the registry and the export hold
  // (compressed layers), as skopeo sees it; the store's own manifest has a key of its own.
  auto meta = nlohmann::json::parse(Slurp(md));
  std::string digest = meta["containerimage.digest"];
  EXPECT_EQ(r.out, digest + "\n");
  EXPECT_EQ(meta["containerimage.descriptor"]["digest"], digest);
  EXPECT_EQ(meta["containerimage.descriptor"]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_NE(meta["imgbuild.store.digest"], digest);
  EXPECT_FALSE(meta["buildx.build.ref"].get<std::string>().empty());
  int code;
  for (const char* name : {"/app/one:1", "/app/two:2"}) {
    std::string out = Skopeo("inspect --tls-verify=false docker://" + host_ + name, &code);
    ASSERT_EQ(code, 0) << name << ": " << out;
    EXPECT_EQ(nlohmann::json::parse(out)["Digest"], digest) << name;
    std::string raw = Sh("skopeo inspect --raw --tls-verify=false docker://" + host_ + name + " | sha256sum");
    EXPECT_EQ("sha256:" + raw.substr(0, 64), digest) << name;
  }
  auto index = nlohmann::json::parse(Slurp(oci + "/index.json"));
  EXPECT_EQ(index["manifests"][0]["digest"], digest);
  // The store's manifest is what `inspect` shows under the imgbuild key; `build` without an export
  // reports it.
  RunResult again = RunImgbuild("build --progress=plain --network=none --root " + root_ + " --metadata-file " + md + " " + ctx);
  ASSERT_EQ(again.code, 0) << again.err;
  meta = nlohmann::json::parse(Slurp(md));
  EXPECT_EQ(meta["containerimage.digest"], meta["imgbuild.store.digest"]);
  EXPECT_EQ(again.out, meta["containerimage.digest"].get<std::string>() + "\n");
}

TEST_F(RegistryTest, RegistryCacheHitsOnAnEmptyStateDir) {
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  RunResult base = RunImgbuild("build --root " + root_ + " -t " + host_ + "/base/busybox:1 --push " + dir_ + "/busybox");
  ASSERT_EQ(base.code, 0) << base.err;
  std::string ctx = dir_ + "/cached";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM " << host_ << "/base/busybox:1\nRUN echo one > /one\nCOPY Buildfile /\n";
  std::string cache = "type=registry,ref=" + host_ + "/cache/app:buildcache";
  // Both runners build FROM the registry's image (its digest is what keys the cache).
  RunResult first = RunImgbuild("build --pull=always --progress=rawjson --network=none --root " + root_ +
                                " --cache-to " + cache + ",mode=max " + ctx);
  ASSERT_EQ(first.code, 0) << first.err;
  // docker's shorthand: --cache-from REF is type=registry,ref=REF.
  RunResult second = RunImgbuild("build --progress=rawjson --network=none --root " + dir_ + "/empty-root --cache-from " +
                                 host_ + "/cache/app:buildcache " + ctx);
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  EXPECT_EQ(second.err.find("\"event\":\"done\""), std::string::npos) << "a step ran: " << second.err;
  EXPECT_NE(second.err.find("\"event\":\"cached\""), std::string::npos);
  // A cache ref that does not exist yet is a first run, not an error.
  RunResult none = RunImgbuild("build --network=none --root " + root_ + " --cache-from type=registry,ref=" + host_ +
                               "/cache/none:x " + ctx);
  EXPECT_EQ(none.code, 0) << none.err;
}

// The CI cache stays small and is fetched as needed: its layers are the gzip blobs of the image
// push (the cache push uploads no layer the image push uploaded), and a fresh runner fetches
// only the layers of the records its build reaches; the pushes after that compress nothing again.
TEST_F(RegistryTest, RegistryCacheIsCompressedSharedWithTheImageAndFetchedLazily) {
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  RunResult base = RunImgbuild("build --root " + root_ + " -t " + host_ + "/base/busybox:2 --push " + dir_ + "/busybox");
  ASSERT_EQ(base.code, 0) << base.err;
  std::string ctx = dir_ + "/lazy";
  fs::create_directories(ctx);
  // A builder stage whose layer only the final stage uses, and an app stage of its own.
  std::ofstream(ctx + "/Buildfile") << "FROM " << host_ << "/base/busybox:2 AS builder\n"
                                       "RUN head -c 300000 /dev/urandom > /big\n"
                                       "FROM " << host_ << "/base/busybox:2 AS app\nRUN echo one > /one\nRUN echo two > /two\n"
                                       "FROM app AS all\nCOPY --from=builder /big /big\n";
  std::string cache = "type=registry,ref=" + host_ + "/cache/lazy:buildcache";
  std::string image = host_ + "/app/lazy:1";
  RunResult first = RunImgbuild("build --pull=always --progress=plain --network=none --root " + root_ + " -t " + image +
                                " --push --cache-to " + cache + ",mode=max " + ctx);
  ASSERT_EQ(first.code, 0) << first.err;
  int code;
  auto cache_manifest = nlohmann::json::parse(Skopeo("inspect --raw --tls-verify=false docker://" + host_ +
                                                     "/cache/lazy:buildcache", &code));
  ASSERT_EQ(code, 0);
  auto image_manifest = nlohmann::json::parse(Skopeo("inspect --raw --tls-verify=false docker://" + image, &code));
  ASSERT_EQ(code, 0);
  std::set<std::string> cache_layers, image_layers;
  for (const auto& l : cache_manifest["layers"]) {
    EXPECT_EQ(l["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
    cache_layers.insert(l["digest"]);
  }
  for (const auto& l : image_manifest["layers"]) image_layers.insert(l["digest"]);
  // builder's RUN, app's two RUNs; the COPY of /big is the same tar as the RUN that made it
  EXPECT_EQ(cache_layers.size(), 3u) << cache_manifest.dump(1);
  size_t shared = 0;
  for (const std::string& d : cache_layers) shared += image_layers.count(d);
  EXPECT_EQ(shared, 3u);  // every cache layer the image has is the very blob of the image push

  // A fresh runner building only the app: the two records it reaches are fetched; the builder's
  // 300 kB layer and the COPY's never are.
  std::string fresh = dir_ + "/fresh-root";
  RunResult second = RunImgbuild("build --pull=always --progress=plain --network=none --root " + fresh +
                                 " --target app -t " + host_ + "/app/lazy:app --cache-from " + cache + " " + ctx);
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(CountOf(second.err, "CACHED"), 2u) << second.err;
  EXPECT_EQ(CountOf(second.err, "fetched cache layer"), 2u) << second.err;
  EXPECT_NE(second.err.find("4 records; layers are fetched as steps use them"), std::string::npos) << second.err;
  // Pushing that image compresses nothing (the fetched gzip blobs are remembered) and uploads
  // no layer: the registry has them all.
  RunResult push = RunImgbuild("push --root " + fresh + " " + host_ + "/app/lazy:app");
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_EQ(push.code, 0) << push.err;
  EXPECT_NE(push.err.find("1 blobs uploaded, 3 already there"), std::string::npos) << push.err;  // only the config
  EXPECT_EQ(fs::exists(fresh + "/compressed"), true);
}

// A second registry with TLS (a CA of the test's own) and htpasswd authentication.
TEST_F(RegistryTest, PulledImagesShowUncompressedSizes) {
  RunResult b = Build("zeros", "FROM busybox:local\nRUN head -c 3000000 /dev/zero > /z\n", "-t zeros:1");
  ASSERT_EQ(b.code, 0) << b.err;
  ASSERT_EQ(RunImgbuild("push --root " + root_ + " zeros:1 " + host_ + "/sizes/zeros:1").code, 0);
  std::string fresh = dir_ + "/sizes-root";
  RunResult pull = RunImgbuild("pull --root " + fresh + " " + host_ + "/sizes/zeros:1");
  ASSERT_EQ(pull.code, 0) << pull.err;
  auto size = [](const std::string& root, const std::string& name) {
    return RunImgbuild("inspect --format '{{.Size}}' --root " + root + " " + name).out;
  };
  std::string built = size(root_, "zeros:1");
  ASSERT_GT(std::stoll(built), 3000000) << built;
  EXPECT_EQ(size(fresh, host_ + "/sizes/zeros:1"), built);
  auto history = [](const std::string& root, const std::string& name) {
    return RunImgbuild("history -H=false --format '{{.Size}}' --root " + root + " " + name).out;
  };
  EXPECT_EQ(history(fresh, host_ + "/sizes/zeros:1"), history(root_, "zeros:1"));
  RunResult images = RunImgbuild("images --format '{{.Size}}' --root " + fresh);
  EXPECT_EQ(images.out, RunImgbuild("images --format '{{.Size}}' --filter reference=zeros:1 --root " + root_).out);
  // The count is remembered beside the blob and goes when prune removes the blob.
  ASSERT_EQ(RunImgbuild("rm --root " + fresh + " " + host_ + "/sizes/zeros:1").code, 0);
  ASSERT_EQ(RunImgbuild("prune -a --root " + fresh).code, 0);
  for (const auto& e : std::filesystem::directory_iterator(fresh + "/compressed"))
    ADD_FAILURE() << "left after prune -a: " << e.path();
}

// On a terminal, pull and push show each large blob's progress on one line redrawn in place
// (a bar, the share, the size), cleared when done: the screen keeps only the messages.
TEST_F(RegistryTest, TransfersShowProgressOnATerminal) {
  RunResult b = Build("big", "FROM busybox:local\nRUN head -c 30000000 /dev/urandom > /big\n", "-t big:1");
  ASSERT_EQ(b.code, 0) << b.err;
  TmuxSession tmux(dir_);
  TmuxSession::Screen push = tmux.Run("'" IMGBUILD_BINARY "' push --root " + root_ + " big:1 " + host_ + "/meter/big:1", 60, 10);
  ASSERT_NE(push.pane.find("EXIT=0"), std::string::npos) << push.pane;
  EXPECT_NE(push.raw.find("100% 30MB"), std::string::npos) << push.raw.substr(0, 2000);  // a frame of the meter
  EXPECT_NE(push.raw.find("\r\x1b[K"), std::string::npos);                            // redrawn in place
  EXPECT_EQ(push.pane.find("[####"), std::string::npos) << push.pane;                  // and cleared
  EXPECT_NE(push.pane.find("pushed " + host_ + "/meter/big:1"), std::string::npos) << push.pane;
  TmuxSession::Screen pull = tmux.Run("'" IMGBUILD_BINARY "' pull --root " + dir_ + "/meter-root " + host_ + "/meter/big:1", 60, 10);
  ASSERT_NE(pull.pane.find("EXIT=0"), std::string::npos) << pull.pane;
  EXPECT_NE(pull.raw.find("] 100% "), std::string::npos) << pull.raw.substr(0, 2000);
  EXPECT_EQ(pull.pane.find("[####"), std::string::npos) << pull.pane;
  EXPECT_NE(pull.pane.find("fetched layer"), std::string::npos) << pull.pane;
  // Not on a terminal (a CI log): the messages alone, no meter.
  RunResult logged = RunImgbuild("pull --root " + dir_ + "/meter-root2 " + host_ + "/meter/big:1");
  ASSERT_EQ(logged.code, 0) << logged.err;
  EXPECT_EQ(logged.err.find('\r'), std::string::npos) << logged.err;
  EXPECT_EQ(logged.err.find("[#"), std::string::npos) << logged.err;
}

// The Bearer token flow (realm, service, scope, Basic credentials for the token) against a small
// token-protected registry of ours (tests/e2e/token_registry.py).
TEST_F(RegistryTest, TransientFaultsAreRetried) {
  ::setenv("IMGBUILD_HTTP_STALL_SECONDS", "2", 1);
  // Dropped connections, 500, 429, a cut-off answer and a stall, then normal service.
  std::string proxy = Proxy("ok,drop,500,429,cut,stall,drop,500");
  RunResult push = RunImgbuild("push --root " + root_ + " busybox:local " + proxy + "/faults/busybox:1");
  ASSERT_EQ(push.code, 0) << push.err;
  // Each retry is said, with what failed and when the next attempt comes.
  EXPECT_NE(push.err.find("retrying: "), std::string::npos) << push.err;
  EXPECT_NE(push.err.find("HTTP 500"), std::string::npos) << push.err;
  EXPECT_NE(push.err.find("; retrying in "), std::string::npos) << push.err;
  int code;
  auto info = nlohmann::json::parse(Skopeo("inspect --tls-verify=false docker://" + host_ + "/faults/busybox:1", &code));
  EXPECT_EQ(info["Digest"].get<std::string>() + "\n", push.out);
  proxy = Proxy("ok,cut,drop,500,stall,429,cut");
  std::string fresh = dir_ + "/fault-root";
  RunResult pull = RunImgbuild("pull --root " + fresh + " " + proxy + "/faults/busybox:1");
  ::unsetenv("IMGBUILD_HTTP_STALL_SECONDS");
  ASSERT_EQ(pull.code, 0) << pull.err;
  EXPECT_EQ(pull.out, push.out);
  EXPECT_NE(pull.err.find("retrying: "), std::string::npos) << pull.err;
}

// A hostile registry (issue 12, items 16 and 17): a blob streamed past its descriptor's size is
// cut off at that size and not asked for again; a manifest over 4 MiB is refused unread.
TEST_F(RegistryTest, OversizedAnswersAreCutOff) {
  ASSERT_EQ(RunImgbuild("push --root " + root_ + " busybox:local " + host_ + "/big/busybox:1").code, 0);
  std::string asked = dir_ + "/asked.txt";
  std::string proxy = Proxy("ok,floodblobs", asked);
  auto start = std::chrono::steady_clock::now();
  RunResult pull = RunImgbuild("pull --root " + dir_ + "/flood-root " + proxy + "/big/busybox:1");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(pull.code, 1);
  EXPECT_NE(pull.err.find("bytes the descriptor declares"), std::string::npos) << pull.err;
  EXPECT_LT(seconds, 30.0);  // not a terabyte
  std::string lines = Slurp(asked);
  // Each blob was asked for at most once (the config and the layer may be fetched in parallel).
  EXPECT_LE(CountOf(lines, "\n"), 2u) << lines;
  RunResult images = RunImgbuild("images --json --root " + dir_ + "/flood-root");
  EXPECT_EQ(images.out.find("big"), std::string::npos) << images.out;

  proxy = Proxy("ok,bigmanifests");
  pull = RunImgbuild("pull --root " + dir_ + "/manifest-root " + proxy + "/big/busybox:1");
  EXPECT_EQ(pull.code, 1);
  EXPECT_NE(pull.err.find("larger than 4194304 bytes"), std::string::npos) << pull.err;
}

TEST_F(RegistryTest, PersistentFailuresFailCleanly) {
  std::string proxy = Proxy("ok,always500");
  std::string fresh = dir_ + "/clean-root";
  RunResult pull = RunImgbuild("pull --root " + fresh + " " + proxy + "/nothing/here:1");
  EXPECT_EQ(pull.code, 1);
  EXPECT_NE(pull.err.find("HTTP 500"), std::string::npos) << pull.err;
  RunResult push = RunImgbuild("push --root " + root_ + " busybox:local " + proxy + "/failing/busybox:1");
  EXPECT_EQ(push.code, 1);
  EXPECT_NE(push.err.find("HTTP 500"), std::string::npos) << push.err;
  // Nothing half-done: no image tagged, no ingest left, and the registry has no such tag.
  RunResult images = RunImgbuild("images --json --root " + fresh);
  EXPECT_EQ(images.out.find("nothing"), std::string::npos) << images.out;
  int code;
  Skopeo("inspect --tls-verify=false docker://" + host_ + "/failing/busybox:1", &code);
  EXPECT_NE(code, 0);
  if (fs::exists(fresh + "/tmp")) {
    for (const auto& e : fs::directory_iterator(fresh + "/tmp")) {
      EXPECT_EQ(e.path().filename().string().rfind("ingest-", 0), std::string::npos) << e.path();
    }
  }
}

// Names are bytes through push and pull too: a UTF-8, an NFD and a Latin-1 name made by RUN come
// back from the registry into an empty state dir and a build FROM the pulled image.
TEST_F(RegistryTest, NonAsciiNamesSurvivePushAndPull) {
  RunResult r = Build("names", "FROM busybox:local\n"
                               "RUN touch /F\xc5\x91 /e\xcc\x81 \"/lat$(printf '\\365')n\" && ln -s /F\xc5\x91 /link\n",
                      "-t names:1");
  ASSERT_EQ(r.code, 0) << r.err;
  r = RunImgbuild("push --root " + root_ + " names:1 " + host_ + "/test/names:1");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string other = dir_ + "/other-root";
  fs::create_directories(dir_ + "/from");
  std::ofstream(dir_ + "/from/Buildfile") << "FROM " << host_ << "/test/names:1\nRUN ls / >/dev/null\n";
  r = RunImgbuild("build --progress=plain --network=none --root " + other + " -o type=local,dest=" + dir_ +
                  "/out " + dir_ + "/from");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string n : {"F\xc5\x91", "e\xcc\x81", "lat\xf5n"}) EXPECT_TRUE(fs::is_regular_file(dir_ + "/out/" + n)) << n;
  EXPECT_FALSE(fs::exists(dir_ + "/out/\xc3\xa9"));  // the NFD name was not folded
  EXPECT_EQ(fs::read_symlink(dir_ + "/out/link").string(), "/F\xc5\x91");
}

}  // namespace
}  // namespace imgbuild::testing
