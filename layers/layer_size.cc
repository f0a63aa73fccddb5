#include "layers/layer_size.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "layers/sys_error.h"

namespace imgbuild::layers {
namespace {

struct ReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

int64_t Count(const std::string& path, const Digest& digest) {
  std::unique_ptr<struct archive, ReadDeleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* e;
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &e) != ARCHIVE_OK) {
    const char* why = archive_error_string(a.get());
    throw std::runtime_error("layer " + digest.str() + ": " + (why ? why : "unreadable"));
  }
  std::vector<char> buf(1 << 20);
  int64_t total = 0;
  la_ssize_t n;
  while ((n = archive_read_data(a.get(), buf.data(), buf.size())) > 0) total += n;
  if (n < 0) {
    const char* why = archive_error_string(a.get());
    throw std::runtime_error("layer " + digest.str() + ": " + (why ? why : "bad compressed data"));
  }
  return total;
}

}  // namespace

int64_t UncompressedSize(ContentStore& store, const Descriptor& compressed, const std::string& memo_dir) {
  if (compressed.media_type == media_type::kLayer) return compressed.size;
  const std::string memo = memo_dir + "/" + std::string(compressed.digest.hex()) + ".size";
  try {
    return std::stoll(ReadFile(memo));
  } catch (const std::exception&) {
    // not counted yet (or a record a crash cut short): count below
  }
  int64_t size = Count(store.BlobPath(compressed.digest), compressed.digest);
  MakeDirs(memo_dir);
  WriteFileAtomic(memo, std::to_string(size), 0644, false);
  return size;
}

}  // namespace imgbuild::layers
