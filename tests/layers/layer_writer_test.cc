#include "layers/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "layers/applier.h"
#include "layers/tar_names.h"

#include "../support/temp_dir.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;

struct TarEntry {
  std::string path;
  mode_t mode;
  int64_t uid, gid, size, mtime;
  std::string link, hardlink, data;
  std::map<std::string, std::string> xattrs;
  bool has_atime, has_ctime;
};

std::vector<TarEntry> ReadTar(const std::string& bytes) {
  TarNames names(TarNames::Mode::kRead);
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_all(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
  std::vector<TarEntry> out;
  archive_entry* e;
  while (HeaderUsable(archive_read_next_header(a, &e))) {
    TarEntry t{archive_entry_pathname(e), archive_entry_mode(e), archive_entry_uid(e), archive_entry_gid(e),
               archive_entry_size(e), archive_entry_mtime(e),
               archive_entry_symlink(e) ? archive_entry_symlink(e) : "",
               archive_entry_hardlink(e) ? archive_entry_hardlink(e) : "", "", {},
               archive_entry_atime_is_set(e) != 0, archive_entry_ctime_is_set(e) != 0};
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      t.xattrs[name] = std::string(static_cast<const char*>(value), size);
    }
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) t.data.append(buf, static_cast<size_t>(n));
    out.push_back(t);
  }
  archive_read_free(a);
  return out;
}

class LayerWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    snap_ = root_ + "/snap";
    fs::create_directories(snap_ + "/b/sub");
    fs::create_directories(snap_ + "/a");
    std::ofstream(snap_ + "/a/file.txt") << "hello";
    std::ofstream(snap_ + "/b/sub/z") << "z";
    ::chmod((snap_ + "/a/file.txt").c_str(), 0640);
    ::symlink("../a/file.txt", (snap_ + "/b/link").c_str());
    ::link((snap_ + "/a/file.txt").c_str(), (snap_ + "/b/hard").c_str());
    ::setxattr((snap_ + "/b/sub/z").c_str(), "user.note", "v", 1, 0);
  }

  ContentStore Store() { return ContentStore(root_ + "/oci", root_ + "/tmp"); }
  testing::TempDir tmp_{"imgbuild-lw"};
  std::string root_ = tmp_.path();
  std::string snap_;
};

TEST_F(LayerWriterTest, DeterministicSortedTar) {
  ContentStore cs = Store();
  LayerResult r = WriteLayer(snap_, {}, cs);
  EXPECT_EQ(r.blob.media_type, media_type::kLayer);
  EXPECT_EQ(r.blob.digest, r.diff_id);  // uncompressed: the blob is the tar
  std::vector<TarEntry> entries = ReadTar(cs.ReadBlob(r.blob.digest));
  std::vector<std::string> paths;
  for (const auto& e : entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a/", "a/file.txt", "b/", "b/hard", "b/link", "b/sub/", "b/sub/z"}));
  EXPECT_EQ(entries[1].mode & 07777, 0640u);
  EXPECT_EQ(entries[1].data, "hello");
  EXPECT_EQ(entries[3].hardlink, "a/file.txt");
  EXPECT_EQ(entries[4].link, "../a/file.txt");
  EXPECT_EQ(entries[6].xattrs.at("user.note"), "v");
  for (const auto& e : entries) {
    EXPECT_FALSE(e.has_atime) << e.path;
    EXPECT_FALSE(e.has_ctime) << e.path;
  }
  // The same tree gives the same digest, whatever the order files were created in.
  LayerResult again = WriteLayer(snap_, {}, cs);
  EXPECT_EQ(again.diff_id, r.diff_id);
}

TEST_F(LayerWriterTest, SourceDateEpochClampsMtimes) {
  ContentStore cs = Store();
  LayerOptions o;
  o.source_date_epoch = 1000;
  LayerResult r = WriteLayer(snap_, o, cs);
  for (const auto& e : ReadTar(cs.ReadBlob(r.blob.digest))) EXPECT_EQ(e.mtime, 1000) << e.path;
}

TEST_F(LayerWriterTest, CompressedBlobsHoldTheSameTar) {
  ContentStore cs = Store();
  LayerResult plain = WriteLayer(snap_, {}, cs);
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    LayerOptions o;
    o.compression = c;
    LayerResult r = WriteLayer(snap_, o, cs);
    EXPECT_EQ(r.diff_id, plain.diff_id);
    EXPECT_NE(r.blob.digest, plain.blob.digest);
    EXPECT_EQ(r.blob.media_type, c == Compression::kGzip ? media_type::kLayerGzip : media_type::kLayerZstd);
    EXPECT_EQ(ReadTar(cs.ReadBlob(r.blob.digest)).size(), 7u);
  }
}

TEST_F(LayerWriterTest, ParallelGzipIsValidAndDeterministic) {
  // Several 128 KiB blocks, some compressible, some not.
  std::string big;
  for (int i = 0; i < 40000; ++i) big += "line " + std::to_string(i * 7919 % 1000) + " of text\n";
  std::ofstream(snap_ + "/a/big.txt") << big;
  std::string noise(700000, '\0');
  uint32_t x = 12345;
  for (char& c : noise) c = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
  std::ofstream(snap_ + "/a/noise.bin") << noise;
  ContentStore cs = Store();
  LayerOptions o;
  o.compression = Compression::kGzip;
  LayerResult r = WriteLayer(snap_, o, cs);
  LayerResult plain = WriteLayer(snap_, {}, cs);
  EXPECT_EQ(r.diff_id, plain.diff_id);
  // gzip itself checks the stream, its CRC and its length, and gives back the tar.
  std::string out = cs.BlobPath(r.blob.digest);
  EXPECT_EQ(std::system(("gzip -t < " + out).c_str()), 0);
  EXPECT_EQ(std::system(("gzip -dc < " + out + " | cmp -s - " + cs.BlobPath(plain.blob.digest)).c_str()), 0);
  EXPECT_EQ(WriteLayer(snap_, o, cs).blob.digest, r.blob.digest);
}

TEST_F(LayerWriterTest, OverlayWhiteoutsAndOpaqueDirs) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create whiteout devices and trusted.* xattrs";
  ASSERT_EQ(::mknod((snap_ + "/a/gone").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
  ASSERT_EQ(::setxattr((snap_ + "/b/sub").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ContentStore cs = Store();
  LayerResult r = WriteLayer(snap_, {}, cs);
  std::vector<std::string> paths;
  for (const auto& e : ReadTar(cs.ReadBlob(r.blob.digest))) {
    paths.push_back(e.path);
    EXPECT_EQ(e.xattrs.count("trusted.overlay.opaque"), 0u) << e.path;
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"a/", "a/file.txt", "a/.wh.gone", "b/", "b/hard", "b/link",
                                             "b/sub/", "b/sub/.wh..wh..opq", "b/sub/z"}));
}

// Names are bytes: UTF-8 names go into PAX records as they are (as Go's tar writes them), a name
// that is not UTF-8 is marked hdrcharset=BINARY, and the applier gives every name back byte for
// byte (an NFD name is not folded into its NFC twin).
TEST_F(LayerWriterTest, NamesAreBytesThroughWriterAndApplier) {
  const std::string nfc = "\xc3\xa9", nfd = "e\xcc\x81", latin1 = "lat\xf5n", dir = "d\xe9";
  fs::remove_all(snap_);
  fs::create_directories(snap_ + "/" + dir);
  for (const std::string& n : {nfc, nfd, latin1}) std::ofstream(snap_ + "/" + n) << n;
  ::symlink(latin1.c_str(), (snap_ + "/" + dir + "/" + nfd).c_str());
  ::link((snap_ + "/" + latin1).c_str(), (snap_ + "/" + dir + "/" + nfc).c_str());
  ContentStore cs = Store();
  LayerResult r = WriteLayer(snap_, {}, cs);
  std::string tar = cs.ReadBlob(r.blob.digest);
  std::set<std::string> paths;
  for (const auto& e : ReadTar(tar)) {
    paths.insert(e.path);
    if (e.path == dir + "/" + nfd) {
      EXPECT_EQ(e.link, latin1);
    }
    if (e.path == latin1) {
      EXPECT_EQ(e.hardlink, dir + "/" + nfc);  // the first one written is the file
    }
  }
  EXPECT_EQ(paths, (std::set<std::string>{nfc, nfd, latin1, dir + "/", dir + "/" + nfc, dir + "/" + nfd}));
  EXPECT_NE(tar.find("path=" + nfd + "\n"), std::string::npos);
  EXPECT_NE(tar.find("hdrcharset=BINARY"), std::string::npos);

  std::string out = root_ + "/applied";
  fs::create_directories(out);
  ApplyLayer(cs.BlobPath(r.blob.digest), out);
  for (const std::string& n : {nfc, nfd, latin1}) {
    std::ifstream in(out + "/" + n);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, n);
  }
  EXPECT_EQ(fs::read_symlink(out + "/" + dir + "/" + nfd).string(), latin1);
  struct stat st;
  ASSERT_EQ(::stat((out + "/" + dir + "/" + nfc).c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  // The round trip gives the same layer.
  EXPECT_EQ(WriteLayer(out, {}, cs).diff_id, r.diff_id);
}

// Only names that are not UTF-8 are marked binary: a tree of UTF-8 names writes no hdrcharset.
TEST_F(LayerWriterTest, Utf8NamesNeedNoHeaderCharset) {
  std::ofstream(snap_ + "/a/F\xc5\x91") << "x";
  ContentStore cs = Store();
  std::string tar = cs.ReadBlob(WriteLayer(snap_, {}, cs).blob.digest);
  EXPECT_NE(tar.find("path=a/F\xc5\x91\n"), std::string::npos);
  EXPECT_EQ(tar.find("hdrcharset"), std::string::npos);
}

// A store on a full disk: the layer fails with "No space left on device" (it once crashed on a
// NULL libarchive error string), and no partial blob is left in the store.
TEST_F(LayerWriterTest, DiskFullIsAClearError) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  std::string full = root_ + "/full";
  fs::create_directories(full);
  ASSERT_EQ(::system(("mount -t tmpfs -o size=256k tmpfs " + full).c_str()), 0);
  ASSERT_EQ(::system(("head -c 2M /dev/urandom > " + snap_ + "/big").c_str()), 0);  // incompressible
  for (Compression c : {Compression::kUncompressed, Compression::kGzip, Compression::kZstd}) {
    LayerOptions o;
    o.compression = c;
    ContentStore store(full + "/oci", full + "/tmp");
    try {
      WriteLayer(snap_, o, store);
      ADD_FAILURE() << "a 2 MiB layer fit in 256 KiB";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_empty(full + "/oci/blobs/sha256")) << "partial blob left";
  }
  ::umount2(full.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace imgbuild::layers
