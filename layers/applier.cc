#include "layers/applier.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "layers/root_dir.h"
#include "layers/sys_error.h"
#include "layers/tar_names.h"

namespace imgbuild::layers {
namespace {

// libarchive's message, or a generic one where it has none (it may return NULL).
std::string ArchiveError(struct archive* a) {
  const char* why = archive_error_string(a);
  return why ? why : "unreadable archive";
}

struct ReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};


// The decompressed stream of a blob, handed to the tar reader block by block and hashed.
struct Stream {
  struct archive* raw = nullptr;
  Sha256 hash;
  bool done = false, failed = false;
  std::vector<char> buf = std::vector<char>(1 << 20);

  static la_ssize_t Read(struct archive* reader, void* data, const void** out) {
    auto* s = static_cast<Stream*>(data);
    *out = s->buf.data();
    if (s->done) return 0;
    la_ssize_t n = archive_read_data(s->raw, s->buf.data(), s->buf.size());
    if (n < 0) {
      s->failed = true;
      s->done = true;
      archive_set_error(reader, EIO, "%s", ArchiveError(s->raw).c_str());
      return ARCHIVE_FATAL;
    }
    if (n == 0) s->done = true;
    s->hash.Update(std::string_view(s->buf.data(), static_cast<size_t>(n)));
    return n;
  }
};

class Applier {
 public:
  Applier(const std::string& target, const ApplyOptions& options) : target_(target), options_(options) {}

  ApplyStats Run(const std::string& blob_path) {
    TarNames names(TarNames::Mode::kRead);
    // Two readers in one pass: the first only decompresses (raw format, any filter), the second
    // reads tar from what the first hands it, so the uncompressed bytes can be hashed on the way.
    std::unique_ptr<struct archive, ReadDeleter> raw(archive_read_new());
    archive_read_support_format_raw(raw.get());
    archive_read_support_filter_all(raw.get());
    if (archive_read_open_filename(raw.get(), blob_path.c_str(), 1 << 20) != ARCHIVE_OK) {
      throw std::runtime_error("layer " + blob_path + ": " + ArchiveError(raw.get()));
    }
    archive_entry* e;
    Stream stream;
    stream.raw = raw.get();
    int rc = archive_read_next_header(raw.get(), &e);
    if (rc == ARCHIVE_EOF) {
      stream.done = true;  // an empty file: no entries
    } else if (rc != ARCHIVE_OK) {
      throw HostileLayerError("layer " + blob_path + ": " + ArchiveError(raw.get()));
    }
    std::unique_ptr<struct archive, ReadDeleter> a(archive_read_new());
    archive_read_support_format_tar(a.get());
    if (archive_read_open(a.get(), &stream, nullptr, &Stream::Read, nullptr) != ARCHIVE_OK) {
      if (!stream.done || options_.diff_id) throw HostileLayerError("layer " + blob_path + ": " + ArchiveError(a.get()));
      return stats_;
    }
    while (HeaderUsable(rc = archive_read_next_header(a.get(), &e))) Entry(a.get(), e);
    if (rc != ARCHIVE_EOF) throw HostileLayerError("layer " + blob_path + ": " + ArchiveError(a.get()));
    if (options_.diff_id) {
      // What follows the end-of-archive blocks is part of the stream the diff_id covers.
      const void* buf;
      while (!stream.done && Stream::Read(a.get(), &stream, &buf) > 0) {
      }
      if (stream.failed) throw HostileLayerError("layer " + blob_path + ": " + ArchiveError(raw.get()));
      Digest got = stream.hash.Finish();
      if (got != *options_.diff_id) {
        throw HostileLayerError("layer " + blob_path + " does not match the diff_id its image claims: it is " +
                                got.str() + ", the config says " + options_.diff_id->str());
      }
    }
    return stats_;
  }

 private:
  [[noreturn]] void Refuse(const std::string& name, const std::string& why) {
    throw HostileLayerError("refusing layer entry \"" + name + "\": " + why);
  }

  // The entry's path inside the target, checked: relative, no "..", no symlink on the way.
  std::string CheckedPath(const std::string& name, std::vector<std::string>* parts_out = nullptr) {
    if (!name.empty() && name[0] == '/') Refuse(name, "absolute path");
    std::vector<std::string> parts = PathComponents(name);
    for (const std::string& p : parts) {
      if (p == "..") Refuse(name, "path leaves the layer root (..)");
    }
    if (parts.empty()) return "";
    if (options_.resolve_in_root && parts.size() > 1) {
      std::string parent;
      for (size_t i = 0; i + 1 < parts.size(); ++i) parent += (parent.empty() ? "" : "/") + parts[i];
      std::string last = parts.back();
      parts = PathComponents(RootDir(target_).Resolve(parent, /*follow_last=*/true));
      parts.push_back(last);
    }
    std::string cur;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      cur += (cur.empty() ? "" : "/") + parts[i];
      struct stat st;
      std::string full = target_ + "/" + cur;
      if (::lstat(full.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) Refuse(name, "path goes through the symlink " + cur);
        if (!S_ISDIR(st.st_mode)) Refuse(name, "parent " + cur + " is not a directory");
      } else {
        // Implicit parent directory (tars need not list parents first).
        if (::mkdir(full.c_str(), 0755) != 0) throw SysError("mkdir", full);
      }
    }
    if (parts_out) *parts_out = parts;
    std::string rel;
    for (const std::string& p : parts) rel += (rel.empty() ? "" : "/") + p;
    return rel;
  }

  void Entry(struct archive* a, archive_entry* e) {
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    std::vector<std::string> parts;
    std::string rel = CheckedPath(name, &parts);
    if (rel.empty()) return;  // "./" itself
    const bool whiteout = options_.whiteouts && parts.back().rfind(".wh.", 0) == 0;
    if (!seen_.insert(rel).second && !whiteout) Refuse(name, "duplicate entry");
    ++stats_.entries;
    const std::string base = parts.back();
    std::string dir_rel = rel.substr(0, rel.size() - base.size());
    if (!dir_rel.empty()) dir_rel.pop_back();
    if (whiteout && base == ".wh..wh..opq") {
      std::string dir = dir_rel.empty() ? target_ : target_ + "/" + dir_rel;
      if (!options_.overlay_format) {
        // Opaque: what earlier layers put in this directory disappears.
        std::error_code ec;
        for (const auto& child : std::filesystem::directory_iterator(dir, ec)) {
          std::string child_rel = (dir_rel.empty() ? "" : dir_rel + "/") + child.path().filename().string();
          if (!seen_.count(child_rel)) RemoveExisting(child.path().string());
        }
        return;
      }
      if (::lsetxattr(dir.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) throw SysError("setxattr", dir);
      return;
    }
    if (whiteout) {
      std::string hidden = base.substr(4);
      if (hidden.empty() || hidden == "." || hidden == ".." || hidden.find('/') != std::string::npos) {
        Refuse(name, "whiteout of \"" + hidden + "\"");
      }
      std::string path = target_ + "/" + (dir_rel.empty() ? "" : dir_rel + "/") + hidden;
      RemoveExisting(path);
      if (!options_.overlay_format) return;
      if (::mknod(path.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) throw SysError("mknod whiteout", path);
      return;
    }
    std::string path = target_ + "/" + rel;
    mode_t mode = archive_entry_mode(e);
    int64_t size = archive_entry_size(e);
    if (size > options_.max_entry_size) Refuse(name, "entry is larger than the limit");
    const char* hardlink = archive_entry_hardlink(e);
    struct stat existing;
    bool exists = ::lstat(path.c_str(), &existing) == 0;
    if (exists && !(S_ISDIR(existing.st_mode) && S_ISDIR(mode))) {
      RemoveExisting(path);  // a directory entry replaces a file (and a file a directory)
      exists = false;
    }
    if (hardlink) {
      std::string link_rel = CheckedPath(hardlink);
      if (link_rel.empty() || !seen_.count(link_rel)) Refuse(name, "hardlink to \"" + std::string(hardlink) + "\", which is not in this layer");
      std::string link_path = target_ + "/" + link_rel;
      struct stat lst;
      if (::lstat(link_path.c_str(), &lst) != 0 || S_ISDIR(lst.st_mode)) Refuse(name, "hardlink to a missing file or a directory");
      if (::link(link_path.c_str(), path.c_str()) != 0) throw SysError("link", path);
      return;
    }
    switch (mode & S_IFMT) {
      case S_IFDIR:
        if (!exists && ::mkdir(path.c_str(), 0700) != 0) throw SysError("mkdir", path);
        break;
      case S_IFREG: {
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) throw SysError("create", path);
        const void* buf;
        size_t len;
        la_int64_t offset;
        int64_t written = 0;
        int rc;
        while ((rc = archive_read_data_block(a, &buf, &len, &offset)) == ARCHIVE_OK) {
          if (::lseek(fd.get(), offset, SEEK_SET) < 0) throw SysError("seek", path);
          WriteAll(fd.get(), buf, len, path);
          written = offset + static_cast<int64_t>(len);
        }
        if (rc != ARCHIVE_EOF) throw HostileLayerError("layer entry \"" + name + "\": " + ArchiveError(a));
        if (written < size && ::ftruncate(fd.get(), size) != 0) throw SysError("truncate", path);
        stats_.bytes += size;
        break;
      }
      case S_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target) Refuse(name, "symlink without a target");
        if (::symlink(target, path.c_str()) != 0) throw SysError("symlink", path);
        break;
      }
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
        if ((mode & S_IFMT) != S_IFIFO && (!options_.allow_devices || ::geteuid() != 0)) {
          Refuse(name, "device nodes need root");
        }
        if (::mknod(path.c_str(), mode & (S_IFMT | 07777),
                    makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e))) != 0) {
          throw SysError("mknod", path);
        }
        break;
      default:
        Refuse(name, "unsupported entry type");
    }
    // Ownership, xattrs, mode and times, never following a symlink.
    uid_t uid = options_.owner ? options_.owner->first : static_cast<uid_t>(archive_entry_uid(e));
    gid_t gid = options_.owner ? options_.owner->second : static_cast<gid_t>(archive_entry_gid(e));
    if (::geteuid() == 0 && ::lchown(path.c_str(), uid, gid) != 0) {
      throw SysError("chown", path);
    }
    const char* xname;
    const void* xvalue;
    size_t xsize;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
      std::string n = xname;
      if (n.rfind("trusted.overlay.", 0) == 0) continue;  // never from a layer
      ::lsetxattr(path.c_str(), xname, xvalue, xsize, 0);
    }
    if (!S_ISLNK(mode) && ::chmod(path.c_str(), mode & 07777) != 0) throw SysError("chmod", path);
    struct timespec times[2] = {{archive_entry_mtime(e), 0}, {archive_entry_mtime(e), 0}};
    ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }

  void RemoveExisting(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
      if (ec) throw std::runtime_error("remove " + path + ": " + ec.message());
    } else if (::unlink(path.c_str()) != 0) {
      throw SysError("unlink", path);
    }
  }

  std::string target_;
  const ApplyOptions& options_;
  std::set<std::string> seen_;
  ApplyStats stats_;
};

}  // namespace

bool LooksLikeTar(const std::string& path) {
  TarNames names(TarNames::Mode::kRead);
  std::unique_ptr<struct archive, ReadDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) return false;
  archive_entry* e;
  return HeaderUsable(archive_read_next_header(a.get(), &e));
}

ApplyStats ApplyLayer(const std::string& blob_path, const std::string& target, const ApplyOptions& options) {
  return Applier(target, options).Run(blob_path);
}

}  // namespace imgbuild::layers
