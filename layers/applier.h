// Applier: unpacks an OCI or Docker layer (gzip, zstd or plain tar, detected by content) into a
// snapshot directory in overlay format (checking the stream against its diff_id when given): `.wh.x` becomes a 0/0 whiteout device, `.wh..wh..opq`
// the trusted.overlay.opaque=y xattr. It refuses hostile layers with a clear error and writes
// nothing outside the target: absolute paths and `..`, writes through symlinks, hardlinks to
// outside or missing targets, whiteouts of `.` or `..`, duplicate entries, oversized entries,
// and device nodes when not root.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include "layers/digest.h"
#include "layers/error.h"

namespace imgbuild::layers {

class HostileLayerError : public Error {
 public:
  using Error::Error;
};

struct ApplyOptions {
  int64_t max_entry_size = int64_t{64} << 30;  // 64 GiB
  bool allow_devices = true;                   // still refused when not root
  // true: whiteouts become overlay whiteouts (a snapshot); false: they delete what they name
  // (unpacking layers on top of each other into a plain root filesystem).
  bool overlay_format = true;
  // false: the tar is data (an ADDed archive, an image archive), not a layer: `.wh.` entries are
  // ordinary files and delete nothing.
  bool whiteouts = true;
  // The layer's diff_id from the image config: the uncompressed stream is hashed as it is
  // unpacked and a mismatch is a HostileLayerError (the caller then throws the target away).
  std::optional<Digest> diff_id;
  // Every entry gets this owner instead of the tar's (ADD --chown of a local archive, as BuildKit).
  std::optional<std::pair<uint32_t, uint32_t>> owner;
  // ADD's archives: an entry's directories may be symlinks the target or an earlier entry holds
  // (`var/run -> /run`, then `var/run/x`); they are followed inside the target, which acts as
  // the root, as BuildKit unpacks in a chroot of the destination. Layers never allow this.
  bool resolve_in_root = false;
};

struct ApplyStats {
  int64_t entries = 0;
  int64_t bytes = 0;
};

// Whether the file is a tar archive (plain or compressed with gzip, bzip2, xz or zstd).
bool LooksLikeTar(const std::string& path);

// `target` must exist and be empty (a fresh snapshot directory).
ApplyStats ApplyLayer(const std::string& blob_path, const std::string& target, const ApplyOptions& options = {});

}  // namespace imgbuild::layers
