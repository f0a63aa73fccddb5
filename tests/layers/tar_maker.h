// Writes small tar files entry by entry (libarchive), for layer and hostile-layer tests.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <string>

namespace imgbuild::testing {

class TarMaker {
 public:
  explicit TarMaker(const std::string& path, bool gzip = false) {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    if (gzip) archive_write_add_filter_gzip(a_);
    archive_write_open_filename(a_, path.c_str());
  }
  ~TarMaker() { Close(); }
  void Close() {
    if (!a_) return;
    archive_write_close(a_);
    archive_write_free(a_);
    a_ = nullptr;
  }
  TarMaker& File(const std::string& name, const std::string& data, mode_t mode = 0644) {
    archive_entry* e = Entry(name, S_IFREG | mode);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a_, e);
    archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  TarMaker& Dir(const std::string& name, mode_t mode = 0755) { return Header(Entry(name, S_IFDIR | mode)); }
  TarMaker& Symlink(const std::string& name, const std::string& target) {
    archive_entry* e = Entry(name, S_IFLNK | 0777);
    archive_entry_set_symlink(e, target.c_str());
    return Header(e);
  }
  TarMaker& Hardlink(const std::string& name, const std::string& target) {
    archive_entry* e = Entry(name, S_IFREG | 0644);
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    return Header(e);
  }
  TarMaker& Device(const std::string& name, int major, int minor) {
    archive_entry* e = Entry(name, S_IFCHR | 0600);
    archive_entry_set_rdevmajor(e, major);
    archive_entry_set_rdevminor(e, minor);
    return Header(e);
  }

 private:
  archive_entry* Entry(const std::string& name, mode_t mode) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_mode(e, mode);
    archive_entry_set_mtime(e, 1000, 0);
    return e;
  }
  TarMaker& Header(archive_entry* e) {
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  struct archive* a_;
};

}  // namespace imgbuild::testing
