// What a COPY records of each regular file it writes, so that the next run of the same step can
// keep the files whose source has not changed (builder/ops/copy_reuse), and the file operations
// the copier uses (data copy, ownership).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "layers/pending_fills.h"

namespace imgbuild::builder {

// A source file's stat data as the file-digest memo trusts it (cache/file_digest_memo.h: any
// change of bytes or extended attributes changes the ctime), plus what the copy takes from it.
struct FileStamp {
  uint64_t dev = 0, ino = 0;
  int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  static FileStamp Of(const struct stat& st);
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

// A regular file the copy wrote: its source (relative to the source root, canonical), its
// destination (relative to the root filesystem) and the source's stamp when it was read.
struct CopiedFile {
  std::string src, dst;
  FileStamp stamp;
};

// A file already in place at its destination (linked from the previous result of the step):
// the copy leaves it when its source is still `src` with this stamp.
struct InPlaceFile {
  std::string src;
  FileStamp stamp;
};

// Ownership is set as root only (as the applier does): without root, files keep the caller's.
// False when the call failed.
bool ChownAt(int dir, const std::string& name, uid_t uid, gid_t gid);
bool FChown(int fd, uid_t uid, gid_t gid);

// What a copied file gets besides its bytes.
struct FileMeta {
  uid_t uid;
  gid_t gid;
  mode_t mode;
  struct timespec atime, mtime;
};

// Creates `dname` in `ddir` (which must not hold it) with the bytes and extended attributes of
// `sname` in `sdir` (sdir < 0: an empty file), then `meta`. Throws layers::SysError naming
// `src_shown` (reads) or `shown` (writes). With `later`, a file it wants gets its size and `meta`
// now and its bytes while the layer is hashed, where the step's root-relative path `rel` names it.
void WriteFileCopy(int sdir, const std::string& sname, int ddir, const std::string& dname, const FileMeta& meta,
                   const std::string& src_shown, const std::string& shown, off_t size = 0,
                   layers::PendingFills* later = nullptr, const std::string& rel = "");

// Gives the directory `dst` the owner, mode and times of `meta` and the extended attributes of
// the directory `src`; writes nothing when it has them already and neither has extended
// attributes (a directory seen through an overlay is then not copied up). Throws
// layers::SysError naming `shown`.
void SetDirMeta(int src, int dst, const FileMeta& meta, const std::string& shown);

// Creates `name` in `dir` (which must not hold it) holding `content`, owned and with the mode of
// `meta` (its times are not set). Throws layers::SysError naming `shown`.
void WriteNewFile(int dir, const std::string& name, const std::string& content, const FileMeta& meta,
                  const std::string& shown);

// Copies `size` bytes from `in` to `out` in the kernel (copy_file_range, else sendfile).
// Throws layers::SysError naming `shown`.
void CopyFileData(int in, int out, off_t size, const std::string& shown);

}  // namespace imgbuild::builder
