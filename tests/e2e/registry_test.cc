// Registries: Debian's docker-registry started by the test on 127.0.0.1 (plain HTTP, a port of
// its own); what imgbuild pushes is read back by skopeo, what skopeo pushes is built FROM, and a
// build cache pushed to the registry gives hits on an empty state dir.
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

#include "busybox_fixture.h"
#include "local_registry.h"
#include "run_util.h"
#include "tmux_session.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

// In a forked child: standard output and error to `log` (the registry's own messages).
void Quiet(const std::string& log) {
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
}

class RegistryTest : public BusyboxTest {
 protected:
  void SetUp() override {
    BusyboxTest::SetUp();
    if (::geteuid() != 0) return;
    ::setenv("IMGBUILD_HTTP_BACKOFF_MS", "20", 1);  // retries as in production, waits shorter
    std::string problem = registry_.Start(dir_);
    ASSERT_EQ(problem, "");
    host_ = registry_.host();
  }
  void TearDown() override {
    for (pid_t p : proxies_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    registry_.Stop();
    BusyboxTest::TearDown();
  }
  std::string Skopeo(const std::string& args, int* code) { return Sh("skopeo " + args, code); }
  // A fault proxy in front of the registry (tests/e2e/fault_proxy.py); returns its host:port.
  std::string Proxy(const std::string& plan, const std::string& asked_file = "") {
    int port = FreePort();
    std::string target = host_.substr(host_.find(':') + 1);
    pid_t pid = ::fork();
    if (pid == 0) {
      std::string script = std::string(IMGBUILD_SOURCE_DIR) + "/tests/e2e/fault_proxy.py";
      ::execl("/usr/bin/python3", "python3", script.c_str(), std::to_string(port).c_str(), target.c_str(), plan.c_str(),
              asked_file.empty() ? nullptr : asked_file.c_str(), nullptr);
      ::_exit(127);
    }
    proxies_.push_back(pid);
    for (int i = 0; i < 100; ++i) {
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port));
      bool up = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(s);
      if (up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // The proxy took that probe connection as its first: a plan starts with a spare "ok".
    return "127.0.0.1:" + std::to_string(port);
  }
  std::string host_;
  LocalRegistry registry_;
  std::vector<pid_t> proxies_;
};

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
TEST_F(RegistryTest, TlsAndBasicAuthentication) {
  std::string d = dir_ + "/tls";
  fs::create_directories(d);
  std::string tls_host = "127.0.0.1:" + std::to_string(FreePort());
  int code;
  std::string out = Sh("cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
                       "-subj '/CN=imgbuild test CA' && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
                       "-subj '/CN=127.0.0.1' && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf && openssl x509 -req -in "
                       "server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf && "
                       "htpasswd -Bbn tester 'pa55-w0rd-xyz' > htpasswd && mkdir -p certs.d/" + tls_host + " && cp ca.crt certs.d/" +
                       tls_host + "/ca.crt", &code);
  ASSERT_EQ(code, 0) << out;
  std::ofstream(d + "/registry.yml") << "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: " << d
                                     << "/data\nhttp:\n  addr: " << tls_host << "\n  tls:\n    certificate: " << d
                                     << "/server.crt\n    key: " << d << "/server.key\nauth:\n  htpasswd:\n    realm: test\n"
                                     << "    path: " << d << "/htpasswd\n";
  pid_t pid = ::fork();
  if (pid == 0) {
    Quiet(d + "/registry.log");
    ::execl("/usr/bin/docker-registry", "docker-registry", "serve", (d + "/registry.yml").c_str(), nullptr);
    ::_exit(127);
  }
  proxies_.push_back(pid);
  for (int i = 0; i < 100; ++i) {
    Sh("python3 -c 'import ssl,urllib.request; urllib.request.urlopen(\"https://" + tls_host +
       "/v2/\", context=ssl._create_unverified_context())' 2>&1 | grep -q 401", &code);
    if (code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::setenv("IMGBUILD_CERTS_DIR", (d + "/certs.d").c_str(), 1);
  ::setenv("REGISTRY_AUTH_FILE", (d + "/auth.json").c_str(), 1);
  std::string all_output;
  auto run = [&](const std::string& args, const std::string& in = "") {
    RunResult r = RunImgbuild(args, in);
    all_output += r.out + r.err;
    return r;
  };
  RunResult r = run("push --root " + root_ + " busybox:local " + tls_host + "/secure/busybox:1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("authentication required (imgbuild login " + tls_host + ")"), std::string::npos) << r.err;
  r = run("login -u tester --password-stdin " + tls_host, "wrong-password\n");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_FALSE(fs::exists(d + "/auth.json") && Slurp(d + "/auth.json").find("auths\": {}") == std::string::npos &&
               Slurp(d + "/auth.json").find(tls_host) != std::string::npos);
  r = run("login -u tester --password-stdin " + tls_host, "pa55-w0rd-xyz\n");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("push --root " + root_ + " busybox:local " + tls_host + "/secure/busybox:1");
  ASSERT_EQ(r.code, 0) << r.err;
  out = Skopeo("inspect --cert-dir " + d + "/certs.d/" + tls_host + " --creds tester:pa55-w0rd-xyz docker://" + tls_host +
               "/secure/busybox:1", &code);
  EXPECT_EQ(code, 0) << out;
  r = run("pull --root " + dir_ + "/tls-root " + tls_host + "/secure/busybox:1");
  EXPECT_EQ(r.code, 0) << r.err;
  // Without the CA the certificate is refused, unless verification is off.
  ::setenv("IMGBUILD_CERTS_DIR", (d + "/nowhere").c_str(), 1);
  r = run("pull --root " + dir_ + "/tls-root2 " + tls_host + "/secure/busybox:1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
  r = run("pull --tls-verify=false --root " + dir_ + "/tls-root2 " + tls_host + "/secure/busybox:1");
  EXPECT_EQ(r.code, 0) << r.err;
  r = run("logout " + tls_host);
  EXPECT_EQ(r.code, 0);
  r = run("pull --tls-verify=false --root " + dir_ + "/tls-root3 " + tls_host + "/secure/busybox:1");
  EXPECT_EQ(r.code, 1);
  ::unsetenv("IMGBUILD_CERTS_DIR");
  ::unsetenv("REGISTRY_AUTH_FILE");
  // The password never appears in anything imgbuild printed.
  EXPECT_EQ(all_output.find("pa55-w0rd-xyz"), std::string::npos);
  EXPECT_EQ(all_output.find(std::string("dGVzdGVyOnBhNTUtdzByZC14eXo")), std::string::npos);  // base64 of user:password
}

// Credentials through docker's helpers (credsStore, credHelpers): stored by the helper, never in
// the file; a failing helper is reported, not skipped; the password is asked on a terminal.
TEST_F(RegistryTest, CredentialHelpersAndTerminalLogin) {
  std::string bin = dir_ + "/helpers";
  fs::create_directories(bin);
  std::ofstream(bin + "/docker-credential-fake")
      << "#!/bin/sh\nd=$(dirname \"$0\")\ncase \"$1\" in\n"
         "store) cat > \"$d/stored.json\";;\n"
         "get) read host; [ -f \"$d/stored.json\" ] && cat \"$d/stored.json\" && exit 0;"
         " echo 'credentials not found in native keychain'; exit 1;;\n"
         "erase) read host; rm -f \"$d/stored.json\"; echo \"$host\" >> \"$d/erased\";;\nesac\n";
  std::ofstream(bin + "/docker-credential-broken") << "#!/bin/sh\necho 'the keychain is locked'\nexit 1\n";
  Sh("chmod +x " + bin + "/docker-credential-fake " + bin + "/docker-credential-broken");
  const std::string auth = dir_ + "/auth.json";
  const std::string env = "PATH=" + bin + ":/usr/sbin:/usr/bin:/sbin:/bin REGISTRY_AUTH_FILE=" + auth;
  std::ofstream(auth) << "{\"credsStore\": \"fake\"}\n";
  RunResult r = RunImgbuild("login -u me --password-stdin " + host_, "s3cret-one\n", env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("stored in docker-credential-fake"), std::string::npos) << r.out;
  EXPECT_NE(Slurp(bin + "/stored.json").find("\"Secret\":\"s3cret-one\""), std::string::npos);
  EXPECT_EQ(Slurp(auth).find("s3cret-one"), std::string::npos) << Slurp(auth);
  EXPECT_NE(Slurp(auth).find(host_), std::string::npos);
  // logout erases through the helper.
  r = RunImgbuild("logout " + host_, "", env);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(Slurp(bin + "/erased").find(host_), std::string::npos);
  EXPECT_FALSE(fs::exists(bin + "/stored.json"));
  // On a terminal the password is asked for, without echo.
  int code;
  // (the password is typed once the prompt is up: input that arrives before the echo is turned
  // off is echoed by the terminal, for docker as for imgbuild)
  std::string typed = Sh("(printf 'me\\n'; sleep 1; printf 's3cret-two\\n') | env " + env + " script -qec \"'" IMGBUILD_BINARY
                         "' login " + host_ + "\" /dev/null", &code);
  EXPECT_EQ(code, 0) << typed;
  EXPECT_NE(typed.find("Username: "), std::string::npos) << typed;
  EXPECT_NE(typed.find("Password: "), std::string::npos) << typed;
  EXPECT_EQ(typed.find("s3cret-two"), std::string::npos) << typed;  // never echoed
  EXPECT_NE(Slurp(bin + "/stored.json").find("s3cret-two"), std::string::npos);
  // A helper that fails is an error that names it, not a quiet fallback to no credentials.
  std::ofstream(auth) << "{\"credHelpers\": {\"" << host_ << "\": \"broken\"}}\n";
  r = RunImgbuild("login -u me --password-stdin " + host_, "x\n", env);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("docker-credential-broken"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the keychain is locked"), std::string::npos) << r.err;
  std::ofstream(auth) << "{\"credsStore\": \"missing-helper\"}\n";
  r = RunImgbuild("login -u me --password-stdin " + host_, "x\n", env);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("docker-credential-missing-helper"), std::string::npos) << r.err;
  // logout with no registry is Docker Hub's.
  std::ofstream(auth) << "{}\n";
  r = RunImgbuild("logout", "", env);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Not logged in to docker.io\n");
}

// A pulled image no build has unpacked is listed with its uncompressed size, as docker shows it
// (the same as in the store it was pushed from), in images, inspect and history.
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
TEST_F(RegistryTest, BearerTokenFlow) {
  int port = FreePort();
  std::string host = "127.0.0.1:" + std::to_string(port);
  pid_t pid = ::fork();
  if (pid == 0) {
    Quiet(dir_ + "/token-registry.log");
    std::string script = std::string(IMGBUILD_SOURCE_DIR) + "/tests/e2e/token_registry.py";
    ::execl("/usr/bin/python3", "python3", script.c_str(), std::to_string(port).c_str(), "robot", "t0ken-s3cret", nullptr);
    ::_exit(127);
  }
  proxies_.push_back(pid);
  int code = 1;
  for (int i = 0; i < 100 && code != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Sh("python3 -c 'import urllib.request; urllib.request.urlopen(\"http://" + host + "/v2/\")' 2>&1 | grep -q 401", &code);
  }
  ::setenv("REGISTRY_AUTH_FILE", (dir_ + "/bearer-auth.json").c_str(), 1);
  RunResult anon = RunImgbuild("pull --root " + dir_ + "/bearer-root " + host + "/test/img:1");
  EXPECT_EQ(anon.code, 1);
  EXPECT_NE(anon.err.find("the token service refused anonymous access"), std::string::npos) << anon.err;
  std::ofstream(dir_ + "/bearer-auth.json") << R"({"auths": {")" << host << R"(": {"auth": ")" << "cm9ib3Q6dDBrZW4tczNjcmV0"
                                            << R"("}}})";  // robot:t0ken-s3cret
  std::string ctx = dir_ + "/bearer";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM " << host << "/test/img:1\n";
  RunResult r = RunImgbuild("build --root " + dir_ + "/bearer-root -o type=local,dest=" + dir_ + "/bearer-out " + ctx);
  ::unsetenv("REGISTRY_AUTH_FILE");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/bearer-out/hello.txt"), "hello through a bearer token\n");
  EXPECT_EQ((r.out + r.err + anon.err).find("t0ken-s3cret"), std::string::npos);
  EXPECT_EQ((r.out + r.err + anon.err).find("tok-"), std::string::npos);  // the token itself
}

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
