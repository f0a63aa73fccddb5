// `imgbuild load` and `save` round trips, and the hostile-layer corpus that load must refuse.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "../layers/tar_maker.h"
#include "layers/image.h"
#include "layers/oci_layout.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/imgbuild-load-XXXXXX";
    dir_ = mkdtemp(t);
    root_ = dir_ + "/root";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // An OCI layout holding one image whose single layer is the tar `fill` writes.
  std::string Layout(const std::string& name, const std::function<void(TarMaker&)>& fill) {
    std::string tar = dir_ + "/" + name + ".layer";
    {
      TarMaker t(tar);
      fill(t);
    }
    std::string dir = dir_ + "/" + name;
    layers::OciLayout layout(dir, dir_ + "/tmp-" + name);
    std::string bytes = Slurp(tar);
    layers::Descriptor layer = layout.store().Put(layers::media_type::kLayer, bytes);
    layers::ImageConfig config;
    config.platform = layers::Platform::Host();
    config.diff_ids.push_back(layer.digest);
    layers::Descriptor cfg = layout.store().Put(layers::media_type::kImageConfig, config.ToJson().dump());
    layers::Descriptor m = layout.store().Put(layers::media_type::kImageManifest, layers::ManifestJson(cfg, {layer}).dump());
    layout.Tag("evil:1", m);
    fs::remove_all(dir_ + "/tmp-" + name);
    return dir;
  }

  std::string dir_, root_;
};

// A base image whose second layer deletes a file of the first (a whiteout) and whose first layer
// holds a hardlink: built FROM (by name and by digest), the result hides the file and keeps the link.
TEST_F(LoadTest, BaseImageWhiteoutsAndHardlinksSurviveABuild) {
  if (::geteuid() != 0) GTEST_SKIP() << "image builds need root";
  std::string t1 = dir_ + "/l1.tar", t2 = dir_ + "/l2.tar";
  {
    TarMaker a(t1);
    a.Dir("etc/").File("etc/keep", "keep\n").File("etc/secret", "secret\n").Dir("bin/").File("bin/a", "#!/bin/true\n", 0755);
    a.Hardlink("bin/b", "bin/a");
  }
  {
    TarMaker b(t2);
    b.Dir("etc/").File("etc/.wh.secret", "");
  }
  std::string layout = dir_ + "/wh-layout";
  std::string digest;
  {
    layers::OciLayout l(layout, dir_ + "/tmp-wh");
    layers::Descriptor d1 = l.store().Put(layers::media_type::kLayer, Slurp(t1));
    layers::Descriptor d2 = l.store().Put(layers::media_type::kLayer, Slurp(t2));
    layers::ImageConfig config;
    config.platform = layers::Platform::Host();
    config.diff_ids = {d1.digest, d2.digest};
    config.history = {{"", "layer 1", "", false}, {"", "layer 2", "", false}};
    layers::Descriptor cfg = l.store().Put(layers::media_type::kImageConfig, config.ToJson().dump());
    layers::Descriptor m = l.store().Put(layers::media_type::kImageManifest, layers::ManifestJson(cfg, {d1, d2}).dump());
    l.Tag("whiteout:1", m);
    digest = m.digest.str();
  }
  fs::remove_all(dir_ + "/tmp-wh");
  ASSERT_EQ(RunImgbuild("load --root " + root_ + " -i " + layout).code, 0);
  fs::create_directories(dir_ + "/ctx");
  std::ofstream(dir_ + "/ctx/x") << "x";
  for (const std::string& from : {std::string("whiteout:1"), "whiteout@" + digest}) {
    SCOPED_TRACE(from);
    std::ofstream(dir_ + "/ctx/Buildfile") << "FROM " << from << "\nCOPY x /etc/x\n";
    std::string out = dir_ + "/out-" + std::to_string(from.size());
    RunResult r = RunImgbuild("build --root " + root_ + " -o type=oci,dest=" + out + ",tar=false " + dir_ + "/ctx");
    ASSERT_EQ(r.code, 0) << r.err;
    std::string bundle = out + "-bundle";
    ASSERT_EQ(std::system(("umoci unpack --image " + out + ":latest " + bundle + " >/dev/null 2>&1").c_str()), 0);
    EXPECT_TRUE(fs::exists(bundle + "/rootfs/etc/keep"));
    EXPECT_TRUE(fs::exists(bundle + "/rootfs/etc/x"));
    EXPECT_FALSE(fs::exists(bundle + "/rootfs/etc/secret"));  // hidden by the base's whiteout
    EXPECT_EQ(fs::hard_link_count(bundle + "/rootfs/bin/b"), 2u);
    EXPECT_TRUE(fs::equivalent(bundle + "/rootfs/bin/a", bundle + "/rootfs/bin/b"));
  }
}

TEST_F(LoadTest, HostileCorpusIsRefused) {
  const std::vector<std::pair<std::string, std::function<void(TarMaker&)>>> corpus = {
      {"dotdot", [](TarMaker& t) { t.File("../../escape", "x"); }},
      {"absolute", [](TarMaker& t) { t.File("/tmp/imgbuild-absolute-escape", "x"); }},
      {"symlink-dir", [](TarMaker& t) { t.Symlink("tmp", "/tmp").File("tmp/imgbuild-symlink-escape", "x"); }},
      {"symlink-relative", [](TarMaker& t) { t.Symlink("up", "../../..").File("up/escape", "x"); }},
      {"hardlink-out", [](TarMaker& t) { t.Hardlink("passwd", "../../../etc/passwd"); }},
      {"hardlink-missing", [](TarMaker& t) { t.Hardlink("passwd", "etc/passwd"); }},
      {"whiteout-dot", [](TarMaker& t) { t.File(".wh..", ""); }},
      {"whiteout-dotdot", [](TarMaker& t) { t.Dir("a/").File("a/.wh...", ""); }},
      {"duplicate", [](TarMaker& t) { t.File("x", "1").File("x", "2"); }},
  };
  for (const auto& [name, fill] : corpus) {
    SCOPED_TRACE(name);
    std::string layout = Layout(name, fill);
    RunResult r = RunImgbuild("load --root " + root_ + " -i " + layout);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.err.find("refusing layer entry"), std::string::npos) << r.err;
    RunResult images = RunImgbuild("images --json --root " + root_);
    EXPECT_EQ(nlohmann::json::parse(images.out), nlohmann::json::array()) << images.out;
  }
  EXPECT_FALSE(fs::exists("/tmp/imgbuild-absolute-escape"));
  EXPECT_FALSE(fs::exists("/tmp/imgbuild-symlink-escape"));
  EXPECT_FALSE(fs::exists(dir_ + "/escape"));
  EXPECT_FALSE(fs::exists(root_ + "/escape"));
  // The scratch space used for checking is gone too.
  for (const auto& e : fs::directory_iterator(root_ + "/tmp")) EXPECT_EQ(e.path().filename(), "index.lock");
}

TEST_F(LoadTest, HostileOuterTarIsRefused) {
  std::string tar = dir_ + "/outer.tar";
  {
    TarMaker t(tar);
    t.File("index.json", "{}").File("../outer-escape", "x");
  }
  RunResult r = RunImgbuild("load --root " + root_ + " -i " + tar);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("refusing layer entry \"../outer-escape\""), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/outer-escape"));
}

TEST_F(LoadTest, SafeLayoutLoadsAndSaveRoundTrips) {
  std::string layout = Layout("good", [](TarMaker& t) { t.Dir("etc/").File("etc/hello", "hi\n"); });
  RunResult r = RunImgbuild("load --root " + root_ + " -i " + layout);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("loaded evil:1"), std::string::npos) << r.out;
  ASSERT_EQ(RunImgbuild("tag --root " + root_ + " evil:1 good:2").code, 0);
  for (const char* format : {"oci", "docker"}) {
    std::string out = dir_ + "/saved-" + format + ".tar";
    RunResult s = RunImgbuild("save --root " + root_ + " good:2 -o " + out + " --format " + format);
    ASSERT_EQ(s.code, 0) << s.err;
    std::string other = dir_ + "/other-" + format;
    RunResult l = RunImgbuild("load --root " + other + " -i " + out + " -t back:" + format);
    ASSERT_EQ(l.code, 0) << l.err;
    RunResult inspect = RunImgbuild("inspect --root " + other + " back:" + format);
    ASSERT_EQ(inspect.code, 0) << inspect.err;
  }
  // Several images in one archive, each loaded back under its own name.
  for (const char* format : {"oci", "docker"}) {
    std::string out = dir_ + "/two-" + format + ".tar";
    RunResult s = RunImgbuild("save --root " + root_ + " evil:1 good:2 -o " + out + " --format " + format);
    ASSERT_EQ(s.code, 0) << s.err;
    std::string other = dir_ + "/two-" + format;
    RunResult l = RunImgbuild("load --root " + other + " -i " + out);
    ASSERT_EQ(l.code, 0) << l.err;
    // Both carry the full names (io.containerd.image.name), whatever the ref name's tag says.
    EXPECT_EQ(RunImgbuild("inspect --root " + other + " evil:1").code, 0) << l.out;
    EXPECT_EQ(RunImgbuild("inspect --root " + other + " good:2").code, 0) << l.out;
  }
  ASSERT_EQ(RunImgbuild("rm --root " + root_ + " evil:1").code, 0);
  EXPECT_EQ(RunImgbuild("inspect --root " + root_ + " evil:1").code, 1);
  EXPECT_EQ(RunImgbuild("inspect --root " + root_ + " good:2").code, 0);
}

}  // namespace
}  // namespace imgbuild::testing
