// RUN in the build sandbox, as a user of `docker build` expects it: forms, USER, WORKDIR, env,
// SHELL, isolation, layers of deletions, mounts, secrets, failures and cancellation.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class RunTest : public BusyboxTest {
 protected:
  // Builds and exports the result's files to DIR/NAME-out; returns that directory.
  std::string BuildFiles(const std::string& name, const std::string& buildfile, const std::string& args = "") {
    std::string out = dir_ + "/" + name + "-out";
    RunResult r = Build(name, buildfile, args + " -o type=local,dest=" + out);
    EXPECT_EQ(r.code, 0) << r.err;
    return out;
  }
  bool NoMountsLeft() { return Sh("grep -c ' " + root_ + "' /proc/self/mounts") == "0\n"; }
};

TEST_F(RunTest, FormsUserWorkdirEnvShell) {
  std::string out = BuildFiles("forms", R"BF(FROM busybox:local
ENV GREETING="hello world"
ARG FLAVOUR=plain
RUN echo "$GREETING $FLAVOUR" > /shell.txt
RUN ["/bin/sh", "-c", "echo exec $GREETING > /exec.txt"]
WORKDIR /work/dir
RUN pwd > here.txt
USER app
RUN id -u > /tmp/app-id.txt && id -g >> /tmp/app-id.txt && id -G >> /tmp/app-id.txt && echo $HOME >> /tmp/app-id.txt
USER 65534:50
RUN id -u > /tmp/num-id.txt && id -g >> /tmp/num-id.txt
USER root
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "$-" > /shell-opts.txt
)BF");
  EXPECT_EQ(Slurp(out + "/shell.txt"), "hello world plain\n");
  EXPECT_EQ(Slurp(out + "/exec.txt"), "exec hello world\n");
  EXPECT_EQ(Slurp(out + "/work/dir/here.txt"), "/work/dir\n");
  EXPECT_EQ(Slurp(out + "/tmp/app-id.txt"), "1000\n1000\n1000 50\n/home/app\n");
  EXPECT_EQ(Slurp(out + "/tmp/num-id.txt"), "65534\n50\n");
  EXPECT_NE(Slurp(out + "/shell-opts.txt").find('e'), std::string::npos);
  auto files = Listing(out);
  EXPECT_EQ(files["tmp/app-id.txt"], "-rw-r--r-- 1000:1000 ");
}

TEST_F(RunTest, UnknownUserFails) {
  RunResult r = Build("ghost", "FROM busybox:local\nUSER ghost\nRUN true\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(":3: RUN: unable to find user ghost"), std::string::npos) << r.err;
}

TEST_F(RunTest, DeletionsAreWhiteoutsAndOpaqueDirs) {
  RunResult r = Build("del", "FROM busybox:local\nRUN rm /etc/motd && rm -rf /home && mkdir /home && touch /home/x\nRUN true\n",
                      "-t del:1 -o type=oci,dest=" + dir_ + "/del-oci,tar=false");
  ASSERT_EQ(r.code, 0) << r.err;
  int code;
  std::string bundle = dir_ + "/bundle";
  std::string u = Sh("umoci unpack --image " + dir_ + "/del-oci:1 " + bundle, &code);
  ASSERT_EQ(code, 0) << u;
  EXPECT_FALSE(fs::exists(bundle + "/rootfs/etc/motd"));
  EXPECT_TRUE(fs::exists(bundle + "/rootfs/etc/passwd"));
  EXPECT_TRUE(fs::exists(bundle + "/rootfs/home/x"));
  EXPECT_FALSE(fs::exists(bundle + "/rootfs/home/app"));
  // The layers themselves: a whiteout, an opaque directory; `RUN true` adds an empty layer and
  // none of the sandbox's mount points (/proc, /dev, /sys, /etc/hosts...) reach any layer.
  auto index = nlohmann::json::parse(Slurp(dir_ + "/del-oci/index.json"));
  auto manifest = nlohmann::json::parse(
      Slurp(dir_ + "/del-oci/blobs/sha256/" + index["manifests"][0]["digest"].get<std::string>().substr(7)));
  ASSERT_EQ(manifest["layers"].size(), 3u);
  auto list = [&](int i) {
    return Sh("tar -tzf " + dir_ + "/del-oci/blobs/sha256/" + manifest["layers"][i]["digest"].get<std::string>().substr(7));
  };
  EXPECT_EQ(list(1), "etc/\netc/.wh.motd\nhome/\nhome/.wh..wh..opq\nhome/x\n");
  EXPECT_EQ(list(2), "");
}

TEST_F(RunTest, IsolatedFromTheHost) {
  std::string host_file = dir_ + "/host-only-file";
  std::ofstream(host_file) << "host";
  char host_name[256] = {};
  ::gethostname(host_name, sizeof host_name - 1);
  std::string out = BuildFiles("iso", "FROM busybox:local\n"
                                      "RUN test ! -e " + host_file + " && echo hidden > /host.txt\n"
                                      "RUN ls /proc | grep -c '^[0-9]' > /pids.txt; ps -o pid,comm > /ps.txt\n"
                                      "RUN hostname > /hostname.txt\n"
                                      "RUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /net.txt\n"
                                      "RUN grep CapEff /proc/self/status > /caps.txt\n"
                                      "RUN ls /dev | sort | tr '\\n' ' ' > /dev.txt; touch /sys/x 2>/dev/null || echo ro > /sys.txt\n");
  EXPECT_EQ(Slurp(out + "/host.txt"), "hidden\n");
  // init, the shell, ls and grep at most.
  EXPECT_LE(std::stoi(Slurp(out + "/pids.txt")), 4) << Slurp(out + "/ps.txt");
  EXPECT_EQ(Slurp(out + "/hostname.txt"), "buildkitsandbox\n");
  EXPECT_NE(std::string(host_name), "buildkitsandbox");
  EXPECT_EQ(Slurp(out + "/net.txt"), "lo\n");
  // Docker's default capabilities.
  EXPECT_EQ(Slurp(out + "/caps.txt"), "CapEff:\t00000000a80425fb\n");
  std::string dev = Slurp(out + "/dev.txt");
  for (const char* d : {"full", "mqueue", "null", "ptmx", "pts", "random", "shm", "tty", "urandom", "zero"}) {
    EXPECT_NE(dev.find(std::string(d) + " "), std::string::npos) << d << " missing from /dev: " << dev;
  }
  EXPECT_EQ(Slurp(out + "/sys.txt"), "ro\n");
  // The sandbox's mount points are not in the image.
  EXPECT_FALSE(fs::exists(out + "/proc"));
  EXPECT_FALSE(fs::exists(out + "/etc/hosts"));
  EXPECT_FALSE(fs::exists(out + "/etc/hostname"));
}

// A bind mount without a target is on the working directory, as BuildKit joins the empty
// target with it (moby's, docker/cli's and buildx's own Dockerfiles rely on it; issue 13, item 20).
TEST_F(RunTest, BindMountWithoutTargetIsOnTheWorkdir) {
  RunResult r = Build("notarget", "FROM busybox:local AS s\nRUN mkdir /p && echo from-stage > /p/f\n"
                                  "FROM busybox:local\nWORKDIR /w\n"
                                  "RUN --mount=type=bind,from=s,source=/p cat f > /copied\n",
                      "-o type=local,dest=" + dir_ + "/notarget-out");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/notarget-out/copied"), "from-stage\n");
  r = Build("notarget", "FROM busybox:local AS s\nRUN mkdir /p\nFROM busybox:local\n"
                        "RUN --mount=type=bind,from=s,source=/p true\n");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("a mount cannot cover the whole root filesystem"), std::string::npos) << r.err;
}

TEST_F(RunTest, HostNetworkWhenAsked) {
  const std::string bf = "FROM busybox:local\nRUN --network=host tail -n +3 /proc/net/dev | wc -l > /n.txt\n"
                         "RUN --network=none tail -n +3 /proc/net/dev | wc -l > /none.txt\n";
  // Without the entitlement the Buildfile alone cannot leave `--network=none` (issue 12, item 9).
  RunResult denied = Build("hostnet", bf);
  EXPECT_EQ(denied.code, 1);
  EXPECT_NE(denied.err.find("RUN --network=host needs the build to be started with --allow network.host"),
            std::string::npos) << denied.err;
  // And never under `build --network=none`, entitlement or not: the build's own network is the
  // default (the step's own namespace) here.
  EXPECT_NE(Build("hostnet", bf, "--allow network.host").err.find("not allowed in a build started with --network=none"),
            std::string::npos);
  RunResult r = RunImgbuild("build --progress=plain --allow network.host --root " + root_ + " -o type=local,dest=" + dir_ +
                            "/hostnet-out " + dir_ + "/hostnet");
  ASSERT_EQ(r.code, 0) << r.err;
  int host_lines = 0;
  std::ifstream dev("/proc/net/dev");
  std::string line;
  while (std::getline(dev, line)) ++host_lines;
  EXPECT_EQ(std::stoi(Slurp(dir_ + "/hostnet-out/n.txt")), host_lines - 2);
  EXPECT_EQ(std::stoi(Slurp(dir_ + "/hostnet-out/none.txt")), 1);
  // The step is in the cache now: the entitlement is still needed (checked before the cache).
  RunResult cached = RunImgbuild("build --progress=plain --root " + root_ + " " + dir_ + "/hostnet");
  EXPECT_EQ(cached.code, 1);
  EXPECT_NE(cached.err.find("needs the build to be started with --allow network.host"), std::string::npos) << cached.err;
}

TEST_F(RunTest, InsecureNeedsAllow) {
  std::string bf = "FROM busybox:local\nRUN --security=insecure grep CapEff /proc/self/status > /caps.txt\n";
  RunResult r = Build("insecure", bf);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("needs the build to be started with --allow security.insecure"), std::string::npos) << r.err;
  std::string out = BuildFiles("insecure", bf, "--allow security.insecure");
  EXPECT_NE(Slurp(out + "/caps.txt"), "CapEff:\t00000000a80425fb\n");
}

TEST_F(RunTest, BackgroundProcessesEndWithTheStep) {
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = Build("bg", "FROM busybox:local\nRUN sleep 4242 & echo started\nRUN (sleep 4343 >/dev/null 2>&1 &) ; true\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  int code;
  std::string ps = Sh("pgrep -f 'sleep 4[23][34][23]'", &code);
  EXPECT_NE(code, 0) << "left running: " << ps;
}

TEST_F(RunTest, HeredocsRunAsScripts) {
  std::string out = BuildFiles("heredoc", R"BF(FROM busybox:local
RUN <<EOF
echo "plain $((1 + 2))" > /plain.txt
EOF
RUN <<EOF
#!/bin/sh -e
echo "shebang $0" > /shebang.txt
EOF
RUN cat <<A > /a.txt && cat <<B > /b.txt
first
A
second
B
)BF");
  EXPECT_EQ(Slurp(out + "/plain.txt"), "plain 3\n");
  EXPECT_EQ(Slurp(out + "/shebang.txt"), "shebang /dev/pipes/EOF\n");
  EXPECT_EQ(Slurp(out + "/a.txt"), "first\n");
  EXPECT_EQ(Slurp(out + "/b.txt"), "second\n");
  EXPECT_FALSE(fs::exists(out + "/dev/pipes"));
}

TEST_F(RunTest, SecretsNeverReachTheImage) {
  const std::string value = "s3cr3t-" + std::to_string(::getpid()) + "-value";
  std::ofstream(dir_ + "/token") << value;
  ::setenv("IMGBUILD_TEST_TOKEN", value.c_str(), 1);
  std::string bf = "FROM busybox:local\n"
                   "RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = " + value + " && echo file-ok > /ok1\n"
                   "RUN --mount=type=secret,id=envtok,env=TOKEN test \"$TOKEN\" = " + value + " && echo env-ok > /ok2\n"
                   "RUN --mount=type=secret,id=tok,target=/etc/tok,mode=0440,uid=1000 stat -c '%a %u' /etc/tok > /ok3\n"
                   "RUN --mount=type=secret,id=missing test ! -e /run/secrets/missing && echo skipped > /ok4\n";
  std::string out = BuildFiles("secret", bf, "-t secret:1 --secret id=tok,src=" + dir_ +
                                                 "/token --secret id=envtok,env=IMGBUILD_TEST_TOKEN");
  EXPECT_EQ(Slurp(out + "/ok1"), "file-ok\n");
  EXPECT_EQ(Slurp(out + "/ok2"), "env-ok\n");
  EXPECT_EQ(Slurp(out + "/ok3"), "440 1000\n");
  EXPECT_EQ(Slurp(out + "/ok4"), "skipped\n");
  EXPECT_FALSE(fs::exists(out + "/run/secrets"));
  EXPECT_FALSE(fs::exists(out + "/etc/tok"));
  // Not in any blob of the store (layers are stored uncompressed), nor in the step logs. The
  // Buildfile compares against the value, so it is in the history's RUN lines: check the layers.
  int code;
  std::string hits = Sh("grep -rl --binary-files=text " + value + " " + root_ + "/oci/blobs " + root_ + "/logs " +
                            "| xargs -r grep -L '\"history\"'",
                        &code);
  EXPECT_EQ(hits, "");
  // A required secret that was not given is an error.
  RunResult r = Build("secret2", "FROM busybox:local\nRUN --mount=type=secret,id=nope,required=true true\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("secret nope is required"), std::string::npos) << r.err;
}

TEST_F(RunTest, CacheMountPersistsBetweenBuilds) {
  std::string bf = "FROM busybox:local\n"
                   "RUN --mount=type=cache,target=/cache,uid=1000,mode=0700 echo run >> /cache/log && "
                   "cat /cache/log | wc -l > /count.txt && stat -c '%a %u' /cache > /perm.txt\n";
  std::string out1 = BuildFiles("cache1", bf);
  EXPECT_EQ(Slurp(out1 + "/count.txt"), "1\n");
  EXPECT_EQ(Slurp(out1 + "/perm.txt"), "700 1000\n");
  std::string out2 = BuildFiles("cache2", bf, "--no-cache");  // cache-mount contents are not in the key
  EXPECT_EQ(Slurp(out2 + "/count.txt"), "2\n");
  EXPECT_FALSE(fs::exists(out2 + "/cache"));  // the mount point is not part of the image
  // A locked cache is the same directory; an id (with the same owner and mode, its base) names it
  // across targets.
  std::string out3 = BuildFiles("cache3", "FROM busybox:local\n"
                                          "RUN --mount=type=cache,id=/cache,target=/elsewhere,sharing=locked,uid=1000,mode=0700 "
                                          "wc -l < /elsewhere/log > /count.txt\n", "--no-cache");
  EXPECT_EQ(Slurp(out3 + "/count.txt"), "2\n");
  // A new cache seeded from a stage's files.
  std::string out4 = BuildFiles("cache4", "FROM busybox:local AS seed\nRUN mkdir /s && echo seeded > /s/f\n"
                                          "FROM busybox:local\n"
                                          "RUN --mount=type=cache,id=seeded,target=/c,from=seed,source=/s cat /c/f > /f.txt\n");
  EXPECT_EQ(Slurp(out4 + "/f.txt"), "seeded\n");
}

TEST_F(RunTest, SshAgentSocketsAndKeys) {
  // An agent of the host's, shared by its socket.
  std::string sock = dir_ + "/agent.sock";
  int code;
  std::string out = Sh("ssh-agent -a " + sock, &code);
  ASSERT_EQ(code, 0) << out;
  std::string agent_pid = Sh("echo '" + out + "' | sed -n 's/^SSH_AGENT_PID=\\([0-9]*\\);.*/\\1/p'");
  std::string bf = "FROM busybox:local\n"
                   "RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo \"$SSH_AUTH_SOCK\" > /sock.txt\n"
                   "RUN --mount=type=ssh,id=keys,target=/agent test -S /agent && echo keys > /keys.txt\n";
  Sh("ssh-keygen -q -t ed25519 -N '' -f " + dir_ + "/key");
  std::string files = BuildFiles("ssh", bf, "--ssh default=" + sock + " --ssh keys=" + dir_ + "/key");
  Sh("kill " + agent_pid);
  EXPECT_EQ(Slurp(files + "/sock.txt"), "/run/buildkit/ssh_agent.0\n");
  EXPECT_EQ(Slurp(files + "/keys.txt"), "keys\n");
  EXPECT_FALSE(fs::exists(files + "/run/buildkit"));
  EXPECT_FALSE(fs::exists(files + "/agent"));
  // A key file ssh-add cannot load fails the step; an ssh id that was not given is required.
  std::ofstream(dir_ + "/bad-key") << "not a key\n";
  RunResult r = Build("ssh2", "FROM busybox:local\nRUN --mount=type=ssh,id=bad true\n", "--ssh bad=" + dir_ + "/bad-key");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("ssh-add could not load"), std::string::npos) << r.err;
  r = Build("ssh3", "FROM busybox:local\nRUN --mount=type=ssh,required=true true\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("ssh default is required"), std::string::npos) << r.err;
}

TEST_F(RunTest, BindAndTmpfsMounts) {
  std::string ctx = dir_ + "/binds";
  fs::create_directories(ctx + "/src");
  std::ofstream(ctx + "/src/input.txt") << "from the context\n";
  std::ofstream(ctx + "/ignored.txt") << "ignored\n";
  std::ofstream(ctx + "/.dockerignore") << "ignored.txt\n";
  std::string out = BuildFiles("binds", R"BF(FROM busybox:local AS tools
RUN mkdir /tools && echo tool > /tools/t.txt
FROM busybox:local
RUN --mount=type=bind,source=src,target=/in cat /in/input.txt > /copied.txt && (touch /in/new 2>/dev/null || echo ro > /ro.txt)
RUN --mount=type=bind,target=/ctx test ! -e /ctx/ignored.txt && test -e /ctx/src/input.txt && echo ignored-hidden > /ignore.txt
RUN --mount=type=bind,source=src,target=/in,rw echo scratch > /in/written.txt && cat /in/written.txt > /rw.txt
RUN --mount=type=bind,from=tools,source=/tools,target=/t cat /t/t.txt > /tool.txt
RUN --mount=type=tmpfs,target=/scratch,size=1m echo x > /scratch/f && df -k /scratch | tail -1 | awk '{print $2}' > /tmpfs.txt
)BF");
  EXPECT_EQ(Slurp(out + "/copied.txt"), "from the context\n");
  EXPECT_EQ(Slurp(out + "/ro.txt"), "ro\n");
  EXPECT_EQ(Slurp(out + "/ignore.txt"), "ignored-hidden\n");
  EXPECT_EQ(Slurp(out + "/rw.txt"), "scratch\n");
  EXPECT_FALSE(fs::exists(ctx + "/src/written.txt"));  // writes to a rw bind are thrown away
  EXPECT_EQ(Slurp(out + "/tool.txt"), "tool\n");
  EXPECT_EQ(Slurp(out + "/tmpfs.txt"), "1024\n");
  for (const char* p : {"in", "ctx", "t", "scratch"}) EXPECT_FALSE(fs::exists(out + "/" + p)) << p;
}

TEST_F(RunTest, FailureCancelsOtherStages) {
  auto t0 = std::chrono::steady_clock::now();
  // The sleep's argument is this test's own: another test may be sleeping meanwhile.
  const std::string nap = std::to_string(2000 + ::getpid() % 1000);
  RunResult r = Build("cancel", "FROM busybox:local AS slow\nRUN sleep " + nap + "\n"
                                "FROM busybox:local AS bad\nRUN sleep 1; exit 7\n"
                                "FROM busybox:local\nCOPY --from=slow /etc/motd /a\nCOPY --from=bad /etc/motd /b\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("exit code: 7"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  int code;
  Sh("pgrep -x -f 'sleep " + nap + "'", &code);
  EXPECT_NE(code, 0);
  EXPECT_TRUE(NoMountsLeft());
}

TEST_F(RunTest, InterruptStopsRunningSteps) {
  std::string ctx = dir_ + "/intr";
  fs::create_directories(ctx);
  // The marker the command prints is not in the step's label, so the step is surely running when
  // it appears; the sleep's argument is this test's own.
  const std::string nap = std::to_string(1000 + ::getpid() % 1000);
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nRUN echo running-$((6 * 7)); sleep " << nap << "\n";
  std::string cmd = "exec '" IMGBUILD_BINARY "' build --progress=plain --network=none --root " + root_ + " " + ctx +
                    " > " + dir_ + "/intr.log 2>&1";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200 && Slurp(dir_ + "/intr.log").find("running-42") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto t0 = std::chrono::steady_clock::now();
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  // Ctrl-C exits 130, as a shell reports a command that SIGINT stopped; the running step is
  // CANCELED, not an ERROR.
  std::string log = Slurp(dir_ + "/intr.log");
  EXPECT_EQ(WEXITSTATUS(status), 130) << log;
  EXPECT_NE(log.find("#1 CANCELED"), std::string::npos) << log;
  EXPECT_EQ(log.find("#1 ERROR"), std::string::npos) << log;
  EXPECT_NE(log.find("error: build canceled"), std::string::npos) << log;
  int code = 0;
  for (int i = 0; i < 40 && code == 0; ++i) {  // the kernel tears the namespace down as imgbuild exits
    Sh("pgrep -x -f 'sleep " + nap + "'", &code);
    if (code == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(code, 0) << Sh("ps -eo pid,ppid,stat,args | grep -B3 'sleep " + nap + "'") << Slurp(dir_ + "/intr.log");
  EXPECT_TRUE(NoMountsLeft());
  // The store is consistent: the next build works.
  RunResult r = Build("after", "FROM busybox:local\nRUN echo fine\n");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(RunTest, KilledBuildTakesItsStepsWithIt) {
  std::string ctx = dir_ + "/killed";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nRUN echo started; sleep 4545\n";
  std::string log = dir_ + "/killed.log";
  std::string pid = Sh("cd " IMGBUILD_SOURCE_DIR " && (" IMGBUILD_BINARY " build --progress=plain --network=none --root " +
                       root_ + " " + ctx + " >" + log + " 2>&1 & echo $!)");
  while (!pid.empty() && pid.back() == '\n') pid.pop_back();
  for (int i = 0; i < 200 && Slurp(log).find("started") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Sh("kill -9 " + pid);
  int code = 0;
  for (int i = 0; i < 100; ++i) {
    Sh("pgrep -x -f 'sleep 4545'", &code);
    if (code != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(code, 0) << "the step outlived imgbuild";
  // The next build reaps what the dead one left, and works.
  Sh("for i in $(seq 100); do [ -e /proc/" + pid + " ] && sleep 0.05 || break; done");
  RunResult r = Build("after-kill", "FROM busybox:local\nRUN echo fine\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(NoMountsLeft());
}

TEST_F(RunTest, ProgressPrinters) {
  std::string ctx = dir_ + "/progress";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM busybox:local\nRUN echo line-one; echo line-two\n";
  RunResult r = RunImgbuild("build --progress=rawjson --network=none --root " + root_ + " " + ctx);
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.err);
  std::string line, output;
  std::set<std::string> events;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    events.insert(j["event"].get<std::string>());
    if (j["event"] == "output") output += j["data"].get<std::string>();
  }
  EXPECT_EQ(output, "line-one\nline-two\n");
  EXPECT_TRUE(events.count("start") && events.count("done") && events.count("info"));
  r = RunImgbuild("build --progress=plain --network=none --no-cache --root " + root_ + " " + ctx);
  EXPECT_NE(r.err.find("#1 [stage-0 2/2] RUN echo line-one; echo line-two\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" line-two\n#1 DONE "), std::string::npos) << r.err;
  r = RunImgbuild("build --progress=tty --network=none --no-cache --root " + root_ + " " + ctx);
  EXPECT_NE(r.err.find(" => [stage-0 2/2] RUN echo line-one; echo line-two  "), std::string::npos) << r.err;
  r = RunImgbuild("build --progress=fancy --root " + root_ + " " + ctx);
  EXPECT_EQ(r.code, 2);
}

}  // namespace
}  // namespace imgbuild::testing
