// Registry authentication: TLS with a CA of the test's own and Basic credentials, credential
// helpers and the terminal login prompt, and the Bearer token flow (tests/e2e/token_registry.py).
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

namespace imgbuild::testing {
namespace {

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

}  // namespace
}  // namespace imgbuild::testing
