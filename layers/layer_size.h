// How large a layer is once decompressed, for listings (`images`, `history`, `inspect` show
// uncompressed sizes, as docker does) when the store holds only the compressed blob (a pulled or
// loaded image no build has unpacked yet).
#pragma once

#include <cstdint>
#include <string>

#include "layers/content_store.h"
#include "layers/descriptor.h"

namespace imgbuild::layers {

// The decompressed size of the layer blob `compressed` of the store: counted once by streaming
// it through its decompressor (nothing is kept but the count), then remembered in `memo_dir` as
// HEX.size. An uncompressed blob is its own size. Throws std::runtime_error on unreadable data.
int64_t UncompressedSize(ContentStore& store, const Descriptor& compressed, const std::string& memo_dir);

}  // namespace imgbuild::layers
