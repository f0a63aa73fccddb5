// File names are bytes end to end: UTF-8 (both NFC and NFD spellings of one letter), Latin-1 and
// other invalid UTF-8 names go through RUN, COPY, ADD of an archive, exports, save/load and the
// cache byte for byte, and the user's locale never changes a digest.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

const std::string kNfc = "F\xc5\x91";               // "Fő", precomposed
const std::string kEAcute = "\xc3\xa9";             // "é", precomposed
const std::string kENfd = "e\xcc\x81";              // "é", e + combining acute: another name
const std::string kLatin1 = "lat\xf5n";             // not UTF-8
const std::string kLatin1Dir = "dir\xe9";           // a directory whose name is not UTF-8

class NamesTest : public BusyboxTest {
 protected:
  void SetUp() override {
    BusyboxTest::SetUp();
    if (dir_.empty()) return;
    ctx_ = dir_ + "/ctx";
    fs::create_directories(ctx_ + "/" + kLatin1Dir);
    Write(kNfc, "nfc\n");
    Write(kEAcute, "precomposed\n");
    Write(kENfd, "decomposed\n");
    Write(kLatin1, "latin1\n");
    Write(kLatin1Dir + "/" + kNfc, "inner\n");
    // An archive as Python writes it: PAX, `hdrcharset=BINARY` for the name that is not UTF-8.
    int code;
    std::string out = Sh("cd " + ctx_ + " && python3 -c \"import tarfile, os\n"
                         "with tarfile.open('names.tar', 'w', format=tarfile.PAX_FORMAT) as t:\n"
                         "  for n in [b'F\\xc5\\x91', b'lat\\xf5n', b'e\\xcc\\x81']:\n"
                         "    t.add(n.decode('utf-8', 'surrogateescape'))\"",
                         &code);
    ASSERT_EQ(code, 0) << out;
  }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(ctx_ + "/" + rel, std::ios::binary) << text;
  }
  RunResult BuildCtx(const std::string& buildfile, const std::string& args) {
    std::ofstream(ctx_ + "/Buildfile", std::ios::binary) << buildfile;
    return RunImgbuild("build --progress=plain --network=none --root " + root_ + " " + args + " " + ctx_);
  }
  static std::string Read(const std::string& path) { return Slurp(path); }
  std::string ctx_;
};

// The Buildfile names some of the files in its own words (a Latin-1 byte in a COPY source and
// destination), so the words reach the cache keys and the history as bytes too.
std::string NamesBuildfile() {
  return "FROM busybox:local\n"
         "COPY . /ctx/\n"
         "ADD names.tar /add/\n"
         "COPY [\"" + kLatin1 + "\", \"/word-" + kLatin1 + "\"]\n"
         "RUN touch /run-" + kNfc + " \"/run-lat$(printf '\\365')n\" && ln -s \"/ctx/" + kLatin1 + "\" /run-link"
         " && mkdir /run-" + kLatin1Dir + " && ln \"/ctx/" + kNfc + "\" /run-" + kLatin1Dir + "/hard\n";
}

void ExpectNames(const std::string& rootfs) {
  EXPECT_EQ(Slurp(rootfs + "/ctx/" + kNfc), "nfc\n");
  EXPECT_EQ(Slurp(rootfs + "/ctx/" + kEAcute), "precomposed\n");
  EXPECT_EQ(Slurp(rootfs + "/ctx/" + kENfd), "decomposed\n");  // not folded into the NFC name
  EXPECT_EQ(Slurp(rootfs + "/ctx/" + kLatin1), "latin1\n");
  EXPECT_EQ(Slurp(rootfs + "/ctx/" + kLatin1Dir + "/" + kNfc), "inner\n");
  EXPECT_EQ(Slurp(rootfs + "/add/" + kNfc), "nfc\n");
  EXPECT_EQ(Slurp(rootfs + "/add/" + kLatin1), "latin1\n");
  EXPECT_EQ(Slurp(rootfs + "/add/" + kENfd), "decomposed\n");
  EXPECT_EQ(Slurp(rootfs + "/word-" + kLatin1), "latin1\n");
  EXPECT_TRUE(fs::is_regular_file(rootfs + "/run-" + kNfc));
  EXPECT_TRUE(fs::is_regular_file(rootfs + "/run-" + kLatin1));
  EXPECT_EQ(fs::read_symlink(rootfs + "/run-link").string(), "/ctx/" + kLatin1);
  EXPECT_EQ(Slurp(rootfs + "/run-" + kLatin1Dir + "/hard"), "nfc\n");
  // Exactly these names in /ctx: nothing renamed, nothing merged.
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(rootfs + "/ctx")) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"Buildfile", "names.tar", kNfc, kEAcute, kENfd, kLatin1, kLatin1Dir}));
}

TEST_F(NamesTest, RunCopyAddExportAndCacheKeepNamesAsBytes) {
  RunResult r = BuildCtx(NamesBuildfile(), "-t names:1 -o type=local,dest=" + dir_ + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectNames(dir_ + "/out");

  // The root filesystem as a tar (our layer writer) read back by GNU tar, byte for byte.
  r = BuildCtx(NamesBuildfile(), "-o type=tar,dest=" + dir_ + "/rootfs.tar");
  ASSERT_EQ(r.code, 0) << r.err;
  fs::create_directories(dir_ + "/untar");
  int code;
  std::string out = Sh("tar -xf " + dir_ + "/rootfs.tar -C " + dir_ + "/untar", &code);
  ASSERT_EQ(code, 0) << out;
  ExpectNames(dir_ + "/untar");

  // An unchanged rebuild hits every step; a changed file with a Latin-1 name, and then one with
  // the NFD spelling, each miss exactly the COPY that reads them.
  r = BuildCtx(NamesBuildfile(), "-t names:1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOf(r.err, "CACHED"), 4u) << r.err;
  Write(kLatin1, "latin1, changed\n");
  r = BuildCtx(NamesBuildfile(), "--explain-cache -t names:1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("content of /" + kLatin1 + " changed"), std::string::npos) << r.err;
  Write(kENfd, "decomposed, changed\n");
  r = BuildCtx(NamesBuildfile(), "--explain-cache -t names:1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("content of /" + kENfd + " changed"), std::string::npos) << r.err;
  EXPECT_EQ(CountOf(r.err, "CACHED"), 0u) << r.err;  // ADD of names.tar comes after the COPY
}

TEST_F(NamesTest, SaveLoadAndFromKeepNamesAsBytes) {
  RunResult r = BuildCtx(NamesBuildfile(), "-t names:1");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* format : {"oci", "docker"}) {
    SCOPED_TRACE(format);
    std::string archive = dir_ + "/names-" + format + ".tar";
    r = RunImgbuild("save --root " + root_ + " --format " + std::string(format) + " names:1 -o " + archive);
    ASSERT_EQ(r.code, 0) << r.err;
    std::string other = dir_ + "/other-" + format;
    r = RunImgbuild("load --root " + other + " -i " + archive);
    ASSERT_EQ(r.code, 0) << r.err;
    fs::create_directories(dir_ + "/from-" + format);
    std::ofstream(dir_ + "/from-" + format + "/Buildfile") << "FROM names:1\nRUN ls /ctx >/dev/null\n";
    std::string dest = dir_ + "/loaded-" + format;
    r = RunImgbuild("build --progress=plain --network=none --root " + other + " -o type=local,dest=" + dest + " " +
                    dir_ + "/from-" + format);
    ASSERT_EQ(r.code, 0) << r.err;
    ExpectNames(dest);
  }
}

// LC_ALL and LANG of the user never reach a tar, so they never change a digest.
TEST_F(NamesTest, LocaleNeverChangesTheDigest) {
  std::string args = "--no-cache -t names:1";
  std::string digests[3];
  const char* envs[] = {"LC_ALL=C", "LC_ALL=C.UTF-8", "LANG=C.UTF-8 LC_ALL= LC_CTYPE=POSIX"};
  for (int i = 0; i < 3; ++i) {
    std::ofstream(ctx_ + "/Buildfile", std::ios::binary) << NamesBuildfile();
    RunResult r = RunImgbuild("build --progress=plain --network=none --root " + root_ + " " + args + " " + ctx_,
                              "", std::string("SOURCE_DATE_EPOCH=1000 ") + envs[i]);
    ASSERT_EQ(r.code, 0) << r.err;
    digests[i] = r.out;
  }
  EXPECT_EQ(digests[0], digests[1]);
  EXPECT_EQ(digests[0], digests[2]);
}

}  // namespace
}  // namespace imgbuild::testing
