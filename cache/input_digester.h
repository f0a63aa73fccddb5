// The content digest of a step's input files as a build asks for it: a selection whose stat
// fingerprint was seen before costs nothing more (its digest and file list are kept under
// INDEX_DIR/inputs/FINGERPRINT); otherwise its files are hashed (cache/input_digest.h) with the
// file-digest memo (INDEX_DIR/file-digests), and the result kept for next time.
#pragma once

#include <string>
#include <vector>

#include "cache/file_digest_memo.h"
#include "cache/input_digest.h"

namespace imgbuild::cache {

class InputDigester {
 public:
  explicit InputDigester(std::string index_dir) : dir_(std::move(index_dir)), memo_(dir_ + "/file-digests") {}
  InputDigest Digest(std::vector<InputFile> files, unsigned threads);
  // Saves the memo (what was hashed this build).
  void Flush() { memo_.Flush(); }

 private:
  std::string dir_;
  FileDigestMemo memo_;
};

}  // namespace imgbuild::cache
