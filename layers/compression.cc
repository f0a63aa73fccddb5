// The codec names and levels the CLI accepts for layers (declared in layer_writer.h).
#include <zstd.h>

#include <stdexcept>
#include <string>

#include "layers/layer_writer.h"

namespace imgbuild::layers {

Compression ParseCompression(const std::string& name) {
  if (name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  if (name == "uncompressed") return Compression::kUncompressed;
  throw std::invalid_argument("unknown compression \"" + name + "\" (use gzip, zstd or uncompressed)");
}

void CheckLevel(Compression compression, int level) {
  if (level == -1 || compression == Compression::kUncompressed) return;
  if (compression == Compression::kGzip && (level < 0 || level > 9))
    throw std::invalid_argument("gzip levels are 0-9, not " + std::to_string(level));
  if (compression == Compression::kZstd && (level < 1 || level > ZSTD_maxCLevel()))
    throw std::invalid_argument("zstd levels are 1-" + std::to_string(ZSTD_maxCLevel()) + ", not " + std::to_string(level));
}

}  // namespace imgbuild::layers
