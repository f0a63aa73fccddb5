// One conformance suite for every Snapshotter: the overlay one and the copy-based fallback.
#include "builder/snapshot/snapshotter.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "layers/applier.h"
#include "layers/layer_writer.h"

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;

struct Impl {
  const char* name;
  std::function<std::unique_ptr<Snapshotter>(const std::string&)> make;
};

class SnapshotterConformance : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "snapshots need root (mounts, ownership, whiteout devices)";
    char t[] = "/tmp/imgbuild-snap-XXXXXX";
    dir_ = mkdtemp(t);
    snaps_ = GetParam().make(dir_ + "/snapshots");
    fs::create_directories(dir_ + "/mnt");
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Runs `fn` with the snapshot's mounts at a mount point.
  void WithMount(const std::vector<Mount>& mounts, const std::function<void(const std::string&)>& fn) {
    MountGuard guard(mounts, dir_ + "/mnt");
    fn(guard.path());
  }
  static void Write(const std::string& path, const std::string& data) { std::ofstream(path) << data; }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  std::string dir_;
  std::unique_ptr<Snapshotter> snaps_;
};

TEST_P(SnapshotterConformance, PrepareCommitView) {
  WithMount(snaps_->Prepare("a-active", ""), [](const std::string& root) {
    fs::create_directories(root + "/etc");
    Write(root + "/etc/hostname", "base\n");
    Write(root + "/keep", "keep");
  });
  snaps_->Commit("a", "a-active");
  EXPECT_TRUE(snaps_->Exists("a"));
  EXPECT_FALSE(snaps_->Exists("a-active"));
  WithMount(snaps_->View("a-view", "a"), [](const std::string& root) {
    EXPECT_EQ(Read(root + "/etc/hostname"), "base\n");
    EXPECT_NE(::mkdir((root + "/x").c_str(), 0755), 0);  // read-only
  });
  snaps_->Remove("a-view");
}

TEST_P(SnapshotterConformance, ChildChangesBecomeALayer) {
  WithMount(snaps_->Prepare("p-active", ""), [](const std::string& root) {
    fs::create_directories(root + "/dir/sub");
    Write(root + "/dir/sub/old", "old");
    Write(root + "/gone", "gone");
    Write(root + "/same", "same");
    Write(root + "/changed", "v1");
  });
  snaps_->Commit("p", "p-active");
  WithMount(snaps_->Prepare("c-active", "p"), [](const std::string& root) {
    EXPECT_EQ(Read(root + "/same"), "same");  // the parent shows through
    fs::remove(root + "/gone");
    Write(root + "/changed", "v2 longer");
    Write(root + "/new", "new");
    fs::remove_all(root + "/dir");
    fs::create_directories(root + "/dir");
    Write(root + "/dir/fresh", "fresh");
  });
  snaps_->Commit("c", "c-active");
  // The change, written as a layer and unpacked on the parent's files, gives the child's files.
  std::string changes = snaps_->Changes("c");
  layers::ContentStore store(dir_ + "/oci", dir_ + "/tmp");
  layers::LayerResult layer = layers::WriteLayer(changes, {}, store);
  std::string rootfs = dir_ + "/rootfs";
  fs::create_directories(rootfs);
  WithMount(snaps_->View("p-view", "p"), [&](const std::string& root) {
    fs::copy(root, rootfs, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  });
  layers::ApplyOptions plain;
  plain.overlay_format = false;
  layers::ApplyLayer(store.BlobPath(layer.blob.digest), rootfs, plain);
  EXPECT_FALSE(fs::exists(rootfs + "/gone"));
  EXPECT_EQ(Read(rootfs + "/changed"), "v2 longer");
  EXPECT_EQ(Read(rootfs + "/new"), "new");
  EXPECT_EQ(Read(rootfs + "/same"), "same");
  EXPECT_FALSE(fs::exists(rootfs + "/dir/sub"));  // rm -rf + mkdir: nothing of the old dir
  EXPECT_EQ(Read(rootfs + "/dir/fresh"), "fresh");
  // And the merged view of the child says the same.
  WithMount(snaps_->View("c-view", "c"), [](const std::string& root) {
    EXPECT_FALSE(fs::exists(root + "/gone"));
    EXPECT_FALSE(fs::exists(root + "/dir/sub"));
    EXPECT_EQ(Read(root + "/changed"), "v2 longer");
  });
}

TEST_P(SnapshotterConformance, ApplyLayers) {
  std::string tar = dir_ + "/layer.tar";
  std::optional<layers::Digest> diff_id;
  {
    layers::ContentStore store(dir_ + "/oci", dir_ + "/tmp");
    fs::create_directories(dir_ + "/src/bin");
    Write(dir_ + "/src/bin/tool", "tool");
    layers::LayerResult l = layers::WriteLayer(dir_ + "/src", {}, store);
    fs::copy_file(store.BlobPath(l.blob.digest), tar);
    diff_id = l.diff_id;
  }
  snaps_->Prepare("l1-active", "");
  EXPECT_THROW(snaps_->Apply("l1-active", tar, layers::Digest::Parse("sha256:" + std::string(64, '0'))), layers::HostileLayerError);
  snaps_->Remove("l1-active");
  snaps_->Prepare("l1-active", "");
  snaps_->Apply("l1-active", tar, *diff_id);
  snaps_->Commit("l1", "l1-active");
  WithMount(snaps_->View("l1-view", "l1"), [](const std::string& root) { EXPECT_EQ(Read(root + "/bin/tool"), "tool"); });
}

TEST_P(SnapshotterConformance, Errors) {
  EXPECT_THROW(snaps_->Prepare("x", "missing"), SnapshotError);
  snaps_->Prepare("active", "");
  EXPECT_THROW(snaps_->Prepare("child", "active"), SnapshotError);  // parents must be committed
  EXPECT_THROW(snaps_->Prepare("active", ""), SnapshotError);       // keys are unique
  EXPECT_THROW(snaps_->Prepare("../escape", ""), SnapshotError);
  EXPECT_THROW(snaps_->Commit("c", "missing"), SnapshotError);
  snaps_->Commit("base", "active");
  snaps_->Prepare("on-base", "");
  snaps_->Remove("on-base");
  snaps_->Prepare("kid", "base");
  EXPECT_THROW(snaps_->Remove("base"), SnapshotError);  // still in use
  snaps_->Remove("kid");
  snaps_->Remove("base");
  EXPECT_FALSE(snaps_->Exists("base"));
}

TEST_P(SnapshotterConformance, CommitOfAnExistingNameKeepsTheFirst) {
  WithMount(snaps_->Prepare("one", ""), [](const std::string& root) { Write(root + "/f", "1"); });
  WithMount(snaps_->Prepare("two", ""), [](const std::string& root) { Write(root + "/f", "2"); });
  EXPECT_TRUE(snaps_->Commit("shared", "one"));
  EXPECT_FALSE(snaps_->Commit("shared", "two"));  // a concurrent build got there first
  ASSERT_TRUE(snaps_->Exists("two"));             // ours is still active: commit it elsewhere
  EXPECT_TRUE(snaps_->Commit("mine", "two"));
  WithMount(snaps_->View("v2", "mine"), [](const std::string& root) { EXPECT_EQ(Read(root + "/f"), "2"); });
  WithMount(snaps_->View("v", "shared"), [](const std::string& root) { EXPECT_EQ(Read(root + "/f"), "1"); });
}

TEST_P(SnapshotterConformance, DeepChains) {
  // 120 layers whose paths make the overlay mount options far longer than a page.
  std::string parent;
  for (int i = 0; i < 120; ++i) {
    std::string key = "layer-with-a-rather-long-name-to-make-paths-long-" + std::to_string(i);
    WithMount(snaps_->Prepare(key + "-active", parent),
              [&](const std::string& root) { Write(root + "/f" + std::to_string(i), std::to_string(i)); });
    snaps_->Commit(key, key + "-active");
    parent = key;
  }
  WithMount(snaps_->View("deep-view", parent), [](const std::string& root) {
    EXPECT_EQ(Read(root + "/f0"), "0");
    EXPECT_EQ(Read(root + "/f119"), "119");
  });
  WithMount(snaps_->Prepare("deep-active", parent), [](const std::string& root) {
    EXPECT_EQ(Read(root + "/f60"), "60");
    Write(root + "/top", "top");
  });
  EXPECT_TRUE(std::filesystem::exists(snaps_->Changes("deep-active") + "/top"));
}

TEST_P(SnapshotterConformance, StatAndTheSnapshotOfAChangesDirectory) {
  WithMount(snaps_->Prepare("a-active", ""), [](const std::string& root) { Write(root + "/f", "f"); });
  snaps_->Commit("a", "a-active");
  snaps_->Prepare("b-active", "a");
  std::optional<Snapshotter::Info> a = snaps_->Stat("a"), b = snaps_->Stat("b-active");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->kind, "committed");
  EXPECT_EQ(a->parent, "");
  EXPECT_EQ(b->kind, "active");
  EXPECT_EQ(b->parent, "a");
  EXPECT_FALSE(snaps_->Stat("none"));
  std::optional<std::string> key = snaps_->KeyOfChanges(snaps_->Changes("a"));
  if (snaps_->kind() == "overlay") {
    EXPECT_EQ(key, "a");
  } else {
    EXPECT_FALSE(key);  // its changes are made on demand, not a snapshot's own directory
  }
  EXPECT_FALSE(snaps_->KeyOfChanges(dir_ + "/snapshots/../snapshots/a/fs"));
  EXPECT_FALSE(snaps_->KeyOfChanges("/etc"));
  EXPECT_FALSE(snaps_->KeyOfChanges(dir_ + "/snapshots/none/fs"));
}

// Overlay only: an active overlay is volatile (its unmount does not flush the host's filesystem; the step
// flushes its upper while it hashes the layer), and its commit leaves no work directory, so a
// snapshot stacked on it mounts again.
using OverlayOnlyTest = SnapshotterConformance;
TEST_P(OverlayOnlyTest, ActiveMountsAreVolatileAndCommitsMountAgain) {
  WithMount(snaps_->Prepare("base-active", ""), [](const std::string& root) { Write(root + "/a", "a"); });
  snaps_->Commit("base", "base-active");
  for (const char* key : {"one", "two"}) {
    std::string parent = std::string(key) == "one" ? "base" : "one";
    WithMount(snaps_->Prepare(std::string(key) + "-active", parent), [&](const std::string& root) {
      std::string mounts = Read("/proc/self/mountinfo");
      size_t at = mounts.find(" " + root + " ");
      ASSERT_NE(at, std::string::npos) << root;
      std::string line = mounts.substr(at, mounts.find('\n', at) - at);
      EXPECT_NE(line.find("volatile"), std::string::npos) << line;
      Write(root + "/" + key, key);
    });
    ASSERT_TRUE(snaps_->Commit(key, std::string(key) + "-active"));
    EXPECT_FALSE(fs::exists(dir_ + "/snapshots/" + key + "/work"));
  }
  WithMount(snaps_->View("v", "two"), [](const std::string& root) {
    EXPECT_EQ(Read(root + "/a") + Read(root + "/one") + Read(root + "/two"), "aonetwo");
  });
  snaps_->Remove("v");
}
// Directories overlay copied up only because something was created and removed inside them
// (the sandbox's mount stubs, e.g. /run/secrets/X) leave the upper at the commit, at any depth
// (removing one must not change its parent's times); changed ones, and files, stay.
TEST_P(OverlayOnlyTest, CommitRemovesDirectoriesCopiedUpForNothing) {
  WithMount(snaps_->Prepare("base-active", ""), [](const std::string& root) {
    fs::create_directories(root + "/a/b/c");
    fs::create_directories(root + "/m/n");
    fs::create_directories(root + "/k");
  });
  snaps_->Commit("base", "base-active");
  WithMount(snaps_->Prepare("top-active", "base"), [](const std::string& root) {
    struct stat was;
    ASSERT_EQ(::stat((root + "/a/b/c").c_str(), &was), 0);
    Write(root + "/a/b/c/stub", "");
    fs::remove(root + "/a/b/c/stub");
    struct timespec times[2] = {was.st_atim, was.st_mtim};  // as the stubs' remover restores them
    ASSERT_EQ(::utimensat(AT_FDCWD, (root + "/a/b/c").c_str(), times, 0), 0);
    fs::permissions(root + "/m/n", fs::perms::owner_all);  // a metadata change
    Write(root + "/k/file", "kept");
  });
  snaps_->Commit("top", "top-active");
  const std::string upper = snaps_->Changes("top");
  EXPECT_FALSE(fs::exists(upper + "/a"));
  EXPECT_TRUE(fs::is_directory(upper + "/m/n"));
  EXPECT_EQ(Read(upper + "/k/file"), "kept");
}
// A stacked snapshot's layer is its change with its parent's, down to the first parent that is
// not stacked; the copy snapshotter cannot stack.
TEST_P(OverlayOnlyTest, StackedSnapshotsCountTheirParentsChange) {
  WithMount(snaps_->Prepare("base-active", ""), [](const std::string& root) { Write(root + "/a", "a"); });
  snaps_->Commit("base", "base-active");
  WithMount(snaps_->Prepare("one-active", "base"), [](const std::string& root) { Write(root + "/b", "b"); });
  snaps_->Commit("one", "one-active");
  WithMount(snaps_->PrepareStacked("two-active", "one"), [](const std::string& root) {
    EXPECT_EQ(Read(root + "/a") + Read(root + "/b"), "ab");
    Write(root + "/b", "B");
  });
  snaps_->Commit("two", "two-active");
  EXPECT_TRUE(snaps_->Stat("two")->stacked);
  EXPECT_FALSE(snaps_->Stat("one")->stacked);
  EXPECT_EQ(snaps_->LayerDirs("two"), (std::vector<std::string>{snaps_->Changes("two"), snaps_->Changes("one")}));
  EXPECT_EQ(snaps_->LayerDirs("one"), (std::vector<std::string>{snaps_->Changes("one")}));
  EXPECT_THROW(snaps_->Remove("one"), SnapshotError);  // "two" is based on it
  auto copy = NewCopySnapshotter(dir_ + "/copy");
  EXPECT_THROW(copy->PrepareStacked("x", "y"), SnapshotError);
}
INSTANTIATE_TEST_SUITE_P(Overlay, OverlayOnlyTest, ::testing::Values(Impl{"overlay", NewOverlaySnapshotter}),
                         [](const ::testing::TestParamInfo<Impl>& p) { return std::string(p.param.name); });

INSTANTIATE_TEST_SUITE_P(All, SnapshotterConformance,
                         ::testing::Values(Impl{"overlay", NewOverlaySnapshotter}, Impl{"copy", NewCopySnapshotter}),
                         [](const ::testing::TestParamInfo<Impl>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace imgbuild::builder
