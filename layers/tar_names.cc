#include "layers/tar_names.h"

#include <archive.h>

#include <stdexcept>

namespace imgbuild::layers {
namespace {

// Process-wide locale objects, made once (newlocale is not free) and never freed.
locale_t Locale(TarNames::Mode mode) {
  static const locale_t write = [] {
    locale_t l = ::newlocale(LC_ALL_MASK, "C.UTF-8", static_cast<locale_t>(0));
    if (!l) throw std::runtime_error("the C.UTF-8 locale is missing (glibc 2.35 or later has it built in)");
    return l;
  }();
  static const locale_t read = ::newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
  return mode == TarNames::Mode::kWrite ? write : read;
}

}  // namespace

TarNames::TarNames(Mode mode) { previous_ = ::uselocale(Locale(mode)); }

TarNames::~TarNames() { ::uselocale(previous_); }

bool HeaderUsable(int archive_status) { return archive_status == ARCHIVE_OK || archive_status == ARCHIVE_WARN; }

}  // namespace imgbuild::layers
