// File names in tar streams are bytes, as in Go's archive/tar and so in BuildKit: libarchive,
// left to the process locale, would refuse or rewrite them. TarNames fixes the locale of the
// calling thread for the time libarchive works on names:
// - writing: C.UTF-8, so a UTF-8 name goes into the PAX `path` record as it is (what Go writes)
//   and a name that is not UTF-8 gets `hdrcharset=BINARY` (libarchive then answers ARCHIVE_WARN);
// - reading: C, so names come back byte for byte (libarchive's UTF-8 locale conversion would
//   fold NFD names into NFC, and two files into one); a name it cannot translate is answered
//   with ARCHIVE_WARN and the raw bytes, which is what we want.
// The user's LC_ALL/LANG never reach a tar, so they never change a digest.
#pragma once

#include <locale.h>

namespace imgbuild::layers {

class TarNames {
 public:
  enum class Mode { kWrite, kRead };
  explicit TarNames(Mode mode);
  ~TarNames();
  TarNames(const TarNames&) = delete;
  TarNames& operator=(const TarNames&) = delete;

 private:
  locale_t previous_ = nullptr;
};

// libarchive status of a header call that produced a usable entry (OK, or WARN for a name that
// could not be translated and was kept as bytes).
bool HeaderUsable(int archive_status);

}  // namespace imgbuild::layers
