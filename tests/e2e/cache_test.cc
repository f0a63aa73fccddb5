// The build cache from the user's side: unchanged rebuilds run nothing and give the same image,
// each changed field misses exactly its step and the ones after it, ARG semantics, .dockerignore,
// explanations, --no-cache, prune/du, --cache-to/--cache-from, concurrent builds and killed builds.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class CacheTest : public BusyboxTest {
 protected:
  // Builds DIR/ctx with rawjson progress; returns, in step order, whether each step was cached.
  std::vector<bool> Cached(const std::string& args = "", RunResult* result = nullptr) {
    // The host's network (no step uses it): a step may then pick another (--network=none).
    RunResult r = RunImgbuild("build --progress=rawjson --network=host --root " + root_ + " " + args +
                              " " + ctx_);
    EXPECT_EQ(r.code, 0) << r.err;
    std::map<int, bool> steps;
    std::istringstream lines(r.err);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] != '{') continue;
      auto j = nlohmann::json::parse(line);
      if (j["event"] == "cached") steps[j["step"].get<int>()] = true;
      if (j["event"] == "done") steps[j["step"].get<int>()] = false;
    }
    if (result) *result = r;
    std::vector<bool> out;
    for (const auto& [n, cached] : steps) out.push_back(cached);
    return out;
  }
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories(fs::path(ctx_ + "/" + rel).parent_path());
    std::ofstream(ctx_ + "/" + rel) << text;
  }
  void SetUp() override {
    BusyboxTest::SetUp();
    ctx_ = dir_ + "/ctx";
    fs::create_directories(ctx_);
  }
  std::string ctx_;
};

std::vector<bool> Hits(size_t n) { return std::vector<bool>(n, true); }
std::vector<bool> MissFrom(size_t n, size_t first) {
  std::vector<bool> v(n, true);
  for (size_t i = first; i < n; ++i) v[i] = false;
  return v;
}

const char* kEveryKind = R"BF(FROM busybox:local
ARG VERSION=1.2
ENV APP=demo MODE=fast
LABEL team=build
COPY src/ /src/
ADD data.txt /data/
WORKDIR /work
RUN echo "$VERSION $APP" > v.txt
USER app
EXPOSE 8080
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK CMD ["true"]
SHELL ["/bin/sh", "-c"]
ONBUILD RUN true
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "true"]
)BF";

TEST_F(CacheTest, UnchangedRebuildRunsNothingAndGivesTheSameImage) {
  Write("Buildfile", kEveryKind);
  Write("src/main.c", "int main() {}\n");
  Write("data.txt", "data\n");
  RunResult first, second;
  std::vector<bool> a = Cached("-t every:1", &first);
  ASSERT_EQ(a.size(), 16u);
  EXPECT_EQ(a, std::vector<bool>(16, false));
  std::vector<bool> b = Cached("-t every:1", &second);
  EXPECT_EQ(b, Hits(16));
  // The same image, digest for digest.
  std::string d1 = first.out, d2 = second.out;
  EXPECT_EQ(d1, d2);
  // And the layers come from the cache: nothing new in the store.
  EXPECT_NE(second.err.find("\"cached\""), std::string::npos);
}

// A build right after a checkout (every file changed a moment ago) leaves what its rebuild needs:
// the selection's stat fingerprint and the file-digest memo, so the first rebuild hashes nothing
// (issue 16: it used to hash every file again).
TEST_F(CacheTest, TheBuildRightAfterACheckoutLeavesWhatTheRebuildNeeds) {
  Write("Buildfile", "FROM busybox:local\nCOPY . /app/\n");
  for (int i = 0; i < 600; ++i) Write("src/f" + std::to_string(i) + ".txt", "file " + std::to_string(i) + "\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the time a checkout takes to end
  auto fingerprints = [&] {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root_ + "/cache/v1/inputs", ec)) n += e.path().extension() == ".digest";
    return n;
  };
  const size_t before = fingerprints();  // the base image's COPY
  EXPECT_EQ(Cached(), std::vector<bool>({false}));
  EXPECT_EQ(fingerprints(), before + 1);
  EXPECT_EQ(Cached(), Hits(1));
}

TEST_F(CacheTest, EachFieldMissesItsStepAndTheOnesAfter) {
  Write("src/main.c", "int main() {}\n");
  Write("data.txt", "data\n");
  struct Change {
    const char* what;
    std::string from, to;  // text replaced in the Buildfile
    size_t first_miss;     // index of the step that must miss
  };
  const std::vector<Change> changes = {
      {"ENV value", "MODE=fast", "MODE=slow", 1},
      {"LABEL", "team=build", "team=ops", 2},
      {"COPY destination", "COPY src/ /src/", "COPY src/ /src2/", 3},
      {"COPY --chmod", "COPY src/ /src/", "COPY --chmod=0700 src/ /src/", 3},
      {"COPY --chown", "COPY src/ /src/", "COPY --chown=app src/ /src/", 3},
      {"ADD destination", "ADD data.txt /data/", "ADD data.txt /data2/", 4},
      {"WORKDIR", "WORKDIR /work", "WORKDIR /work2", 5},
      {"RUN command", "RUN echo \"$VERSION $APP\" > v.txt", "RUN echo \"$APP\" > v.txt", 6},
      {"RUN network", "RUN echo", "RUN --network=none echo", 6},
      {"RUN mount", "RUN echo", "RUN --mount=type=tmpfs,target=/t echo", 6},
      {"USER", "USER app", "USER 1000", 7},
      {"EXPOSE", "EXPOSE 8080", "EXPOSE 9090", 8},
      {"VOLUME", "VOLUME /data", "VOLUME /data2", 9},
      {"STOPSIGNAL", "STOPSIGNAL SIGTERM", "STOPSIGNAL SIGINT", 10},
      {"HEALTHCHECK", "HEALTHCHECK CMD [\"true\"]", "HEALTHCHECK CMD [\"false\"]", 11},
      {"SHELL", "SHELL [\"/bin/sh\", \"-c\"]", "SHELL [\"/bin/sh\", \"-ec\"]", 12},
      {"ONBUILD", "ONBUILD RUN true", "ONBUILD RUN false", 13},
      {"ENTRYPOINT", "ENTRYPOINT [\"/bin/sh\"]", "ENTRYPOINT [\"/bin/ash\"]", 14},
      {"CMD", "CMD [\"-c\", \"true\"]", "CMD [\"-c\", \"false\"]", 15},
  };
  Write("Buildfile", kEveryKind);
  Cached();
  for (const Change& c : changes) {
    SCOPED_TRACE(c.what);
    std::string bf = kEveryKind;
    size_t at = bf.find(c.from);
    ASSERT_NE(at, std::string::npos);
    bf.replace(at, c.from.size(), c.to);
    Write("Buildfile", bf);
    EXPECT_EQ(Cached(), MissFrom(16, c.first_miss));
    Write("Buildfile", kEveryKind);
    EXPECT_EQ(Cached(), Hits(16));  // and the original is still cached
  }
  // File contents and modes count; times do not.
  Write("data.txt", "other data\n");
  EXPECT_EQ(Cached(), MissFrom(16, 4));
  fs::permissions(ctx_ + "/src/main.c", fs::perms::owner_exec, fs::perm_options::add);
  EXPECT_EQ(Cached(), MissFrom(16, 3));
  Sh("touch -d '2001-01-01' " + ctx_ + "/src/main.c " + ctx_ + "/data.txt");
  EXPECT_EQ(Cached(), Hits(16));
}

TEST_F(CacheTest, ArgValuesCountWhereUsed) {
  Write("Buildfile", "FROM busybox:local\nRUN echo before > /before\nARG V=1\nARG UNUSED=x\nCOPY f /f\n"
                     "COPY f /dir-$V/\nRUN echo after > /after\n");
  Write("f", "f\n");
  Cached();
  // V changes: the ARG steps themselves and a COPY that does not use V hit; the COPY that uses it
  // misses, and so does every RUN after the ARG (RUN sees ARGs as environment).
  EXPECT_EQ(Cached("--build-arg V=2"), (std::vector<bool>{true, true, true, true, false, false}));
  // An ARG no step reads still reaches RUN's environment.
  EXPECT_EQ(Cached("--build-arg UNUSED=y"), (std::vector<bool>{true, true, true, true, true, false}));
  // Proxy ARGs never count.
  EXPECT_EQ(Cached("--build-arg HTTP_PROXY=http://127.0.0.1:9"), Hits(6));
}

TEST_F(CacheTest, AChangedFileMissesExactlyTheCopyThatSelectsIt) {
  Write("Buildfile", "FROM busybox:local\nCOPY a/ /a/\nCOPY b/*.txt /b/\nRUN ls -R /a /b > /list\n");
  Write("a/one.txt", "1");
  Write("b/two.txt", "2");
  Write("b/skip.md", "not selected");
  Cached();
  Write("b/two.txt", "2 changed");
  EXPECT_EQ(Cached(), (std::vector<bool>{true, false, false}));
  Write("b/skip.md", "not selected, changed");  // no pattern selects it
  EXPECT_EQ(Cached(), Hits(3));
  Write("a/new.txt", "new");  // keys are chained: every step after a miss runs again
  EXPECT_EQ(Cached(), (std::vector<bool>{false, false, false}));
}

TEST_F(CacheTest, IgnoredFilesChangeNothing) {
  Write("Buildfile", "FROM busybox:local\nCOPY . /app/\n");
  Write(".dockerignore", "*.log\nbuild/\n");
  Write("main.c", "x");
  Cached();
  Write("debug.log", "noise");
  Write("build/out.o", "object");
  EXPECT_EQ(Cached(), Hits(1));
  Write("main.c", "y");
  EXPECT_EQ(Cached(), (std::vector<bool>{false}));
}

TEST_F(CacheTest, SecretsAndCacheMountsNeverCount) {
  Write("Buildfile", "FROM busybox:local\nRUN --mount=type=secret,id=tok --mount=type=cache,target=/c "
                     "test -e /run/secrets/tok && date >> /c/log\n");
  std::ofstream(dir_ + "/tok") << "one";
  Cached("--secret id=tok,src=" + dir_ + "/tok");
  std::ofstream(dir_ + "/tok") << "two";
  EXPECT_EQ(Cached("--secret id=tok,src=" + dir_ + "/tok"), Hits(1));
}

TEST_F(CacheTest, ExplainCacheSaysWhichFieldChanged) {
  Write("Buildfile", "FROM busybox:local\nARG VERSION=1.2\nCOPY src/ /src/\nRUN echo $VERSION > /v\n");
  Write("src/main.c", "a");
  Write("src/util.c", "u");
  Cached();
  Write("src/main.c", "b");
  RunResult r;
  Cached("--explain-cache", &r);
  EXPECT_NE(r.err.find("COPY src/ /src/: content of src/main.c changed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("RUN echo $VERSION > /v: an earlier step of the stage ran"), std::string::npos) << r.err;
  Cached("--explain-cache --build-arg VERSION=1.3", &r);
  EXPECT_NE(r.err.find("RUN echo $VERSION > /v: env VERSION changed 1.2 -> 1.3"), std::string::npos) << r.err;
  // The whole build as a tree: every step of each stage, hit, missed with the field, or ran.
  Write("src/util.c", "v");
  r = RunImgbuild("build --progress=plain --network=host --explain-cache --build-arg VERSION=1.3 --root " + root_ + " " + ctx_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("cache:\nstage-0\n├─ "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("COPY src/ /src/\n│    MISS: content of src/util.c changed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("└─ [stage-0 4/4] RUN echo $VERSION > /v\n     ran: an earlier step of the stage ran"),
            std::string::npos)
      << r.err;
  r = RunImgbuild("build --progress=plain --network=host --explain-cache --build-arg VERSION=1.3 --root " + root_ + " " + ctx_);
  EXPECT_NE(r.err.find("RUN echo $VERSION > /v\n     hit"), std::string::npos) << r.err;
}

TEST_F(CacheTest, NoCacheAndNoCacheFilter) {
  Write("Buildfile", "FROM busybox:local AS a\nRUN echo a > /a\nFROM busybox:local AS b\nRUN echo b > /b\n"
                     "COPY --from=a /a /a\n");
  Cached("--target b");
  EXPECT_EQ(Cached("--target b"), Hits(3));
  EXPECT_EQ(Cached("--target b --no-cache"), std::vector<bool>(3, false));
  // Only stage a runs; b's steps hit because a gives the same result.
  std::vector<bool> v = Cached("--target b --no-cache-filter a");
  EXPECT_EQ(std::count(v.begin(), v.end(), false), 1);
}

TEST_F(CacheTest, DuAndPruneKeepImages) {
  Write("Buildfile", "FROM busybox:local\nRUN head -c 100000 /dev/urandom > /blob\n");
  Cached("-t keep:1");
  RunResult du = RunImgbuild("du --json --root " + root_);
  ASSERT_EQ(du.code, 0) << du.err;
  auto before = nlohmann::json::parse(du.out);
  EXPECT_GT(before["records"].get<int>(), 0);
  EXPECT_GT(before["images"].get<int64_t>(), 0);  // the layers are deferred: the snapshots hold them
  EXPECT_GT(before["snapshots"].get<int64_t>(), 100000);
  RunResult p = RunImgbuild("prune --filter until=1h --root " + root_);  // everything was used just now
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(Cached(), Hits(1));
  p = RunImgbuild("prune --root " + root_);
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("removed "), std::string::npos);
  auto after = nlohmann::json::parse(RunImgbuild("du --json --root " + root_).out);
  EXPECT_EQ(after["records"].get<int>(), 0);
  EXPECT_EQ(after["snapshots"].get<int64_t>(), 0);
  EXPECT_GT(after["images"].get<int64_t>(), 100000);  // written when their snapshots went
  // The tagged image is whole: it can still be exported.
  RunResult save = RunImgbuild("save --root " + root_ + " keep:1 -o " + dir_ + "/keep.tar");
  EXPECT_EQ(save.code, 0) << save.err;
  EXPECT_EQ(Cached(), (std::vector<bool>{false}));
  // --keep-storage keeps at most that much; the size bound prunes after a build.
  EXPECT_EQ(RunImgbuild("prune --keep-storage 1KB --root " + root_).code, 0);
  EXPECT_EQ(Cached(), (std::vector<bool>{false}));
  RunResult bounded;
  Cached("--no-cache --cache-limit 1KB", &bounded);
  EXPECT_NE(bounded.err.find("build cache over its bound"), std::string::npos) << bounded.err;
  EXPECT_EQ(nlohmann::json::parse(RunImgbuild("du --json --root " + root_).out)["cache layers"].get<int64_t>(), 0);
  EXPECT_EQ(RunImgbuild("prune --filter bad=1 --root " + root_).code, 2);
}

TEST_F(CacheTest, CacheFromAFreshStateDirHits) {
  // Two machines with the same base image (built reproducibly on each).
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  std::string other = dir_ + "/other-root";
  RunResult base = RunImgbuild("build --root " + other + " -t busybox:local " + dir_ + "/busybox");
  RunResult base2 = RunImgbuild("build --root " + root_ + " -t busybox:local " + dir_ + "/busybox");
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_EQ(base.out, base2.out);
  Write("Buildfile", "FROM busybox:local AS tools\nRUN echo tool > /t\nFROM busybox:local\nCOPY app.txt /\n"
                     "RUN cat /app.txt > /copy\nCOPY --from=tools /t /t\n");
  Write("app.txt", "app");
  RunResult first;
  Cached("--cache-to type=local,dest=" + dir_ + "/ci-cache,mode=max", &first);
  RunResult r = RunImgbuild("build --progress=rawjson --network=host --root " + other + " --cache-from type=local,src=" +
                            dir_ + "/ci-cache " + ctx_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, first.out);  // the same image
  EXPECT_EQ(r.err.find("\"event\":\"done\""), std::string::npos) << "a step ran: " << r.err;
  // mode=min exports only the final stage's steps.
  Cached("--cache-to type=local,dest=" + dir_ + "/min-cache");
  std::string min_index = Slurp(dir_ + "/min-cache/index.json");
  EXPECT_NE(min_index.find("\"cache\""), std::string::npos);
  EXPECT_EQ(RunImgbuild("build --root " + root_ + " --cache-to type=s3 " + ctx_).code, 2);
}

TEST_F(CacheTest, ConcurrentBuildsOfOneBuildfileBothSucceed) {
  Write("Buildfile", "FROM busybox:local\nRUN sleep 0.3; echo one > /one\nRUN echo two > /two\n");
  std::string cmd = std::string("'") + IMGBUILD_BINARY + "' build --progress=plain --network=host --root " + root_ + " " + ctx_;
  int code1 = -1, code2 = -1;
  std::thread t1([&] { Sh(cmd, &code1); });
  std::thread t2([&] { Sh(cmd, &code2); });
  t1.join();
  t2.join();
  EXPECT_EQ(code1, 0);
  EXPECT_EQ(code2, 0);
  EXPECT_EQ(Cached(), Hits(2));
}

TEST_F(CacheTest, KilledBuildsNeverPoisonTheCache) {
  Write("Buildfile", "FROM busybox:local\nCOPY big.bin /big.bin\nRUN head -c 2000000 /big.bin | md5sum > /sum\n"
                     "RUN i=0; while [ $i -lt 30 ]; do echo $i > /f$i; i=$((i+1)); done\nWORKDIR /w\n"
                     "RUN cat /sum /f7 > /w/out\nCOPY small.txt /w/\n");
  Sh("head -c 20000000 /dev/urandom > " + ctx_ + "/big.bin");
  Write("small.txt", "small");
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  std::string clean_root = dir_ + "/clean-root";
  RunImgbuild("build --root " + clean_root + " -t busybox:local " + dir_ + "/busybox");
  RunResult clean = RunImgbuild("build --network=host --root " + clean_root + " " + ctx_);
  ASSERT_EQ(clean.code, 0) << clean.err;
  RunImgbuild("build --root " + root_ + " -t busybox:local " + dir_ + "/busybox");  // the same base here
  unsigned seed = static_cast<unsigned>(std::random_device{}());
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(0, 700);
  for (int i = 0; i < 50; ++i) {
    SCOPED_TRACE("kill " + std::to_string(i));
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl(IMGBUILD_BINARY, "imgbuild", "build", "--no-cache", "--progress=plain", "--network=host", "--root",
              root_.c_str(), ctx_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    RunResult next = RunImgbuild("build --progress=plain --network=host --root " + root_ + " " + ctx_);
    ASSERT_EQ(next.code, 0) << next.err;
    ASSERT_EQ(next.out, clean.out) << next.err;
  }
  ::unsetenv("SOURCE_DATE_EPOCH");
  EXPECT_EQ(Sh("grep -c ' " + root_ + "' /proc/self/mounts || true"), "0\n");
}

}  // namespace
}  // namespace imgbuild::testing
