// The content digest of a step's input files (what a COPY selects from the build context, what a
// RUN bind-mounts): path, type, mode, uid/gid, link target, extended attributes and bytes of each
// file, never its times. File contents come from the memo when the file is unchanged; the rest
// are read on every core at once.
#pragma once

#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "cache/file_digest_memo.h"
#include "layers/digest.h"

namespace imgbuild::cache {

struct InputFile {
  std::string path;    // its name in the digest ('/'-separated, relative)
  std::string source;  // where to read it
  struct stat st {};
};

struct InputDigest {
  layers::Digest digest = layers::Digest::OfBytes("");
  // Each file's own digest (hex, 16 characters), by path: what --explain-cache compares.
  std::vector<std::pair<std::string, std::string>> files;
  size_t hashed = 0;  // files whose bytes were read (not found in the memo)
  std::string files_path;  // when `files` was not loaded: where they are (one "digest path" a line)
};

// The file list of a digest that left it on disk (InputDigest::files_path).
std::vector<std::pair<std::string, std::string>> LoadInputFiles(const std::string& path);

// A fingerprint of a selection: the stat data (path, device, inode, size, mtime, ctime, mode,
// owner) of every file, except that files changed too recently for their stat data to be trusted
// (see FileDigestMemo) count by their contents instead (read now; "" when there are too many).
// Equal fingerprints mean the same files, so their digest can be reused without reading or
// looking anything else up.
std::string InputsFingerprint(const std::vector<InputFile>& files, int64_t settle_ns);

// `files` in any order; duplicates by path count once. Throws SysError when a file cannot be read.
InputDigest DigestInputs(std::vector<InputFile> files, FileDigestMemo& memo, unsigned threads);

}  // namespace imgbuild::cache
