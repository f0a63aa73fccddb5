#include "layers/digest.h"
#include "layers/image.h"

#include <gtest/gtest.h>

namespace imgbuild::layers {
namespace {

TEST(Digest, KnownVectors) {
  EXPECT_EQ(Digest::OfBytes("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Digest::OfBytes("abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, IncrementalEqualsOneShot) {
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.Finish(), Digest::OfBytes("abc"));
}

TEST(Digest, ParseRejectsMalformed) {
  EXPECT_THROW(Digest::Parse("sha256:abc"), std::invalid_argument);
  EXPECT_THROW(Digest::Parse("md5:" + std::string(64, 'a')), std::invalid_argument);
  EXPECT_THROW(Digest::Parse("sha256:" + std::string(64, 'A')), std::invalid_argument);
  EXPECT_NO_THROW(Digest::Parse("sha256:" + std::string(64, 'a')));
}

}  // namespace
// OCI chain IDs: the first layer's diff_id, then sha256 of "parent diff_id" per layer.
TEST(DigestTest, ChainIds) {
  Digest a = Digest::OfBytes("a"), b = Digest::OfBytes("b");
  EXPECT_EQ(ChainId(nullptr, a), a);
  Digest ab = ChainId(&a, b);
  EXPECT_EQ(ab, Digest::OfBytes(a.str() + " " + b.str()));
  EXPECT_NE(ChainId(&b, a), ab);
}

// The Manifest type reads what ManifestJson writes, and refuses what is not a manifest.
TEST(DigestTest, ManifestRoundTrip) {
  Descriptor config, layer;
  config.media_type = media_type::kImageConfig;
  config.digest = Digest::OfBytes("config");
  config.size = 6;
  layer.media_type = media_type::kLayerGzip;
  layer.digest = Digest::OfBytes("layer");
  layer.size = 5;
  Manifest m = Manifest::Parse(ManifestJson(config, {layer}, {{"k", "v"}}).dump());
  EXPECT_EQ(m.config.digest, config.digest);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].media_type, media_type::kLayerGzip);
  EXPECT_EQ(m.annotations.at("k"), "v");
  EXPECT_EQ(m.Blobs().size(), 2u);
  EXPECT_THROW(Manifest::Parse("{\"layers\": []}"), std::invalid_argument);
  EXPECT_THROW(Manifest::Parse("not json"), std::invalid_argument);
}

}  // namespace imgbuild::layers
