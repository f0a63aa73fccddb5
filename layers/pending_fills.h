// PendingFills: big files a step created at their final size, owner, mode and times but without
// their bytes, which are copied while the step's layer is hashed. The copy and the diff_id's read
// of a big file are then one pass: the source is read once, each chunk is hashed and written to
// the snapshot around the page cache (O_DIRECT where the filesystem has it), so the bytes are
// neither copied through fresh page cache nor read back. The layer writer takes each file when
// its walk reaches it (Take); FillRest copies whatever it did not reach. A file is only left
// for later when nothing in its header changes with its bytes: no extended attributes, no
// set-id bits (a write clears both).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "layers/sys_error.h"

namespace imgbuild::layers {

class PendingFills {
 public:
  static constexpr int64_t kMinSize = 16 << 20;  // smaller files are copied at once
  static constexpr size_t kMaxFiles = 256;       // source descriptors held open at most

  struct File {
    UniqueFd src;              // the source, open for reading
    struct stat src_st;        // its stat when it was opened: it must not change before it is read
    ino_t dst_ino = 0;         // the destination's inode (an overlay shows its upper's)
    struct timespec mtime{};  // the destination's, set again after its bytes are written
    std::string shown;         // the source, as errors name it
  };

  // Whether a file `src` (open, with stat `st`), copied with mode `dest_mode`, may be left for
  // later.
  bool Wants(int src, const struct stat& st, mode_t dest_mode);
  // Records that `rel` (relative to the snapshot's root) was created empty with `st.st_size`
  // bytes to come. Takes the source descriptor.
  void Add(const std::string& rel, File file);
  bool empty();
  void Clear();

  // For the layer writer, on reaching the regular file `rel` of `root` (a snapshot directory)
  // with stat `st`: when it is pending (same inode and size), writes its bytes from its source
  // into it, hands each chunk to `out` as it goes, and returns true. Throws when the source
  // changed since it was opened or cannot be read, or the destination cannot be written.
  bool Take(const std::string& root, const std::string& rel, const struct stat& st,
            const std::function<void(const char*, size_t)>& out);
  // Writes the files not taken into `root`; returns how many there were.
  size_t FillRest(const std::string& root);

 private:
  void Write(const std::string& root, const std::string& rel, File& f,
             const std::function<void(const char*, size_t)>& out);

  std::mutex mu_;
  std::map<std::string, File> pending_;
};

}  // namespace imgbuild::layers
