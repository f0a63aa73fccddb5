// libarchive, loaded on first use. imgbuild links no libarchive: these definitions of the
// libarchive functions it calls load libarchive.so.13 with dlopen the first time one is called
// and forward to it. libarchive pulls in nine shared libraries (libxml2 and ICU among them)
// whose loading was a third of every command's start-up, and a no-op build reads no tar.
// (The list is the functions layers/ calls; a new one is added here, or the link fails.)
#include <archive.h>
#include <archive_entry.h>

#include <cstdarg>
#include <cstdio>
#include <string>

#include "layers/lazy_library.h"

namespace {

imgbuild::layers::LazyLibrary& Archive() {
  static imgbuild::layers::LazyLibrary library("libarchive.so.13", "libarchive13");
  return library;
}

// Each forwarder looks its function up once.
#define IMGBUILD_ARCHIVE(name) static const auto real = Archive().Symbol<decltype(&::name)>(#name)

}  // namespace

extern "C" {

void archive_entry_free(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_free);
  real(p0);
}
la_int64_t archive_entry_gid(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_gid);
  return real(p0);
}
const char * archive_entry_hardlink(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_hardlink);
  return real(p0);
}
__LA_MODE_T archive_entry_mode(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_mode);
  return real(p0);
}
time_t archive_entry_mtime(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_mtime);
  return real(p0);
}
struct archive_entry * archive_entry_new() {
  IMGBUILD_ARCHIVE(archive_entry_new);
  return real();
}
const char * archive_entry_pathname(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_pathname);
  return real(p0);
}
dev_t archive_entry_rdevmajor(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_rdevmajor);
  return real(p0);
}
dev_t archive_entry_rdevminor(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_rdevminor);
  return real(p0);
}
void archive_entry_set_gid(struct archive_entry * p0, la_int64_t p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_gid);
  real(p0, p1);
}
void archive_entry_set_hardlink(struct archive_entry * p0, const char * p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_hardlink);
  real(p0, p1);
}
void archive_entry_set_mode(struct archive_entry * p0, __LA_MODE_T p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_mode);
  real(p0, p1);
}
void archive_entry_set_mtime(struct archive_entry * p0, time_t p1, long p2) {
  IMGBUILD_ARCHIVE(archive_entry_set_mtime);
  real(p0, p1, p2);
}
void archive_entry_set_pathname(struct archive_entry * p0, const char * p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_pathname);
  real(p0, p1);
}
void archive_entry_set_rdevmajor(struct archive_entry * p0, dev_t p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_rdevmajor);
  real(p0, p1);
}
void archive_entry_set_rdevminor(struct archive_entry * p0, dev_t p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_rdevminor);
  real(p0, p1);
}
void archive_entry_set_size(struct archive_entry * p0, la_int64_t p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_size);
  real(p0, p1);
}
void archive_entry_set_symlink(struct archive_entry * p0, const char * p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_symlink);
  real(p0, p1);
}
void archive_entry_set_uid(struct archive_entry * p0, la_int64_t p1) {
  IMGBUILD_ARCHIVE(archive_entry_set_uid);
  real(p0, p1);
}
la_int64_t archive_entry_size(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_size);
  return real(p0);
}
const char * archive_entry_symlink(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_symlink);
  return real(p0);
}
la_int64_t archive_entry_uid(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_uid);
  return real(p0);
}
void archive_entry_xattr_add_entry(struct archive_entry * p0, const char * p1, const void * p2, size_t p3) {
  IMGBUILD_ARCHIVE(archive_entry_xattr_add_entry);
  real(p0, p1, p2, p3);
}
int archive_entry_xattr_next(struct archive_entry * p0, const char ** p1, const void ** p2, size_t * p3) {
  IMGBUILD_ARCHIVE(archive_entry_xattr_next);
  return real(p0, p1, p2, p3);
}
int archive_entry_xattr_reset(struct archive_entry * p0) {
  IMGBUILD_ARCHIVE(archive_entry_xattr_reset);
  return real(p0);
}
const char * archive_error_string(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_error_string);
  return real(p0);
}
la_ssize_t archive_read_data(struct archive * p0, void * p1, size_t p2) {
  IMGBUILD_ARCHIVE(archive_read_data);
  return real(p0, p1, p2);
}
int archive_read_data_block(struct archive * p0, const void ** p1, size_t * p2, la_int64_t * p3) {
  IMGBUILD_ARCHIVE(archive_read_data_block);
  return real(p0, p1, p2, p3);
}
int archive_read_free(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_read_free);
  return real(p0);
}
struct archive * archive_read_new() {
  IMGBUILD_ARCHIVE(archive_read_new);
  return real();
}
int archive_read_next_header(struct archive * p0, struct archive_entry ** p1) {
  IMGBUILD_ARCHIVE(archive_read_next_header);
  return real(p0, p1);
}
int archive_read_open(struct archive * p0, void * p1, archive_open_callback * p2, archive_read_callback * p3, archive_close_callback * p4) {
  IMGBUILD_ARCHIVE(archive_read_open);
  return real(p0, p1, p2, p3, p4);
}
int archive_read_open_filename(struct archive * p0, const char * p1, size_t p2) {
  IMGBUILD_ARCHIVE(archive_read_open_filename);
  return real(p0, p1, p2);
}
int archive_read_support_filter_all(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_read_support_filter_all);
  return real(p0);
}
int archive_read_support_format_raw(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_read_support_format_raw);
  return real(p0);
}
int archive_read_support_format_tar(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_read_support_format_tar);
  return real(p0);
}
int archive_write_add_filter_none(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_write_add_filter_none);
  return real(p0);
}
int archive_write_close(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_write_close);
  return real(p0);
}
la_ssize_t archive_write_data(struct archive * p0, const void * p1, size_t p2) {
  IMGBUILD_ARCHIVE(archive_write_data);
  return real(p0, p1, p2);
}
int archive_write_free(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_write_free);
  return real(p0);
}
int archive_write_header(struct archive * p0, struct archive_entry * p1) {
  IMGBUILD_ARCHIVE(archive_write_header);
  return real(p0, p1);
}
struct archive * archive_write_new() {
  IMGBUILD_ARCHIVE(archive_write_new);
  return real();
}
int archive_write_open(struct archive * p0, void * p1, archive_open_callback * p2, archive_write_callback * p3, archive_close_callback * p4) {
  IMGBUILD_ARCHIVE(archive_write_open);
  return real(p0, p1, p2, p3, p4);
}
int archive_write_open_filename(struct archive * p0, const char * p1) {
  IMGBUILD_ARCHIVE(archive_write_open_filename);
  return real(p0, p1);
}
int archive_write_set_bytes_per_block(struct archive * p0, int p1) {
  IMGBUILD_ARCHIVE(archive_write_set_bytes_per_block);
  return real(p0, p1);
}
int archive_write_finish_entry(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_write_finish_entry);
  return real(p0);
}
int archive_write_set_bytes_in_last_block(struct archive * p0, int p1) {
  IMGBUILD_ARCHIVE(archive_write_set_bytes_in_last_block);
  return real(p0, p1);
}
int archive_write_set_format_pax_restricted(struct archive * p0) {
  IMGBUILD_ARCHIVE(archive_write_set_format_pax_restricted);
  return real(p0);
}

// The one variadic function: formatted here, passed on as "%s".
void archive_set_error(struct archive* a, int err, const char* fmt, ...) {
  IMGBUILD_ARCHIVE(archive_set_error);
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  real(a, err, "%s", text);
}

}  // extern "C"
