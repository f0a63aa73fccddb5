#include <sys/sysmacros.h>

#include "builder/snapshot/dir_snapshotter.h"

namespace imgbuild::builder {
namespace {

using namespace detail;  // NOLINT: the shared snapshotter pieces

// --- copy-based fallback ---

void CopyXattrs(const std::string& from, const std::string& to) {
  ssize_t len = ::llistxattr(from.c_str(), nullptr, 0);
  if (len <= 0) return;
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(from.c_str(), names.data(), names.size());
  for (size_t i = 0; len > 0 && i < static_cast<size_t>(len);) {
    std::string n(names.c_str() + i);
    i += n.size() + 1;
    ssize_t vlen = ::lgetxattr(from.c_str(), n.c_str(), nullptr, 0);
    if (vlen < 0) continue;
    std::string v(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(from.c_str(), n.c_str(), v.data(), v.size());
    if (vlen >= 0) ::lsetxattr(to.c_str(), n.c_str(), v.data(), static_cast<size_t>(vlen), 0);
  }
}

void CopyEntry(const std::string& from, const std::string& to, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(to.c_str(), 0700) != 0 && errno != EEXIST) throw SysError("mkdir", to);
  } else if (S_ISLNK(st.st_mode)) {
    if (::symlink(layers::ReadLink(from).c_str(), to.c_str()) != 0) throw SysError("symlink", to);
  } else if (S_ISREG(st.st_mode)) {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!in || !out) throw SysError("copy", from);
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
      if (n <= 0) throw SysError("copy_file_range", from);
      left -= n;
    }
  } else if (::mknod(to.c_str(), st.st_mode, st.st_rdev) != 0) {
    throw SysError("mknod", to);
  }
  ::lchown(to.c_str(), st.st_uid, st.st_gid);
  CopyXattrs(from, to);
  if (!S_ISLNK(st.st_mode)) ::chmod(to.c_str(), st.st_mode & 07777);
}

void SetTimes(const std::string& path, const struct stat& st) {
  struct timespec t[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

void CopyTree(const std::string& from, const std::string& to) {
  for (const std::string& n : layers::ListDir(from)) {
    struct stat st;
    std::string f = from + "/" + n, t = to + "/" + n;
    if (::lstat(f.c_str(), &st) != 0) throw SysError("lstat", f);
    CopyEntry(f, t, st);
    if (S_ISDIR(st.st_mode)) CopyTree(f, t);
    SetTimes(t, st);
  }
}

bool SameEntry(const struct stat& a, const struct stat& b) {
  return (a.st_mode == b.st_mode) && a.st_uid == b.st_uid && a.st_gid == b.st_gid &&
         (S_ISDIR(a.st_mode) || (a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
                                 a.st_mtim.tv_nsec == b.st_mtim.tv_nsec)) &&
         a.st_rdev == b.st_rdev;
}

bool SameDirMeta(const struct stat& a, const struct stat& b) {
  return a.st_mode == b.st_mode && a.st_uid == b.st_uid && a.st_gid == b.st_gid &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// Writes into `out` (overlay format) what differs between `lower` and `upper`. Returns whether
// anything below this directory changed.
bool Diff(const std::string& lower, const std::string& upper, const std::string& out) {
  bool changed = false;
  std::vector<std::string> old_names = layers::ListDir(lower), new_names = layers::ListDir(upper);
  for (const std::string& n : old_names) {
    if (!std::binary_search(new_names.begin(), new_names.end(), n)) {
      if (::mknod((out + "/" + n).c_str(), S_IFCHR, makedev(0, 0)) != 0) throw SysError("mknod whiteout", out + "/" + n);
      changed = true;
    }
  }
  for (const std::string& n : new_names) {
    std::string u = upper + "/" + n, l = lower + "/" + n, o = out + "/" + n;
    struct stat us, ls;
    if (::lstat(u.c_str(), &us) != 0) throw SysError("lstat", u);
    bool in_lower = ::lstat(l.c_str(), &ls) == 0;
    if (in_lower && S_ISDIR(us.st_mode) && S_ISDIR(ls.st_mode)) {
      CopyEntry(u, o, us);
      bool inner = Diff(l, u, o);
      if (!inner && SameDirMeta(us, ls)) {
        ::rmdir(o.c_str());
        continue;
      }
      SetTimes(o, us);
      changed = true;
      continue;
    }
    if (in_lower && SameEntry(us, ls)) continue;
    if (in_lower && S_ISDIR(ls.st_mode) && !S_ISDIR(us.st_mode)) {
      // a directory became something else: the new entry replaces it whole
    }
    CopyEntry(u, o, us);
    if (S_ISDIR(us.st_mode)) {
      CopyTree(u, o);
      if (in_lower) ::lsetxattr(o.c_str(), "trusted.overlay.opaque", "y", 1, 0);
    }
    SetTimes(o, us);
    changed = true;
  }
  return changed;
}

class CopySnapshotter : public DirSnapshotter {
 public:
  std::string kind() const override { return "copy"; }
  std::optional<std::string> KeyOfChanges(const std::string&) const override { return std::nullopt; }
  using DirSnapshotter::DirSnapshotter;

  std::vector<Mount> Prepare(const std::string& key, const std::string& parent) override {
    std::vector<std::string> chain = Create(key, parent, "active");
    if (!chain.empty()) CopyTree(chain.front(), Fs(key));  // each snapshot is a full tree
    return {{"bind", Fs(key), {"rbind", "rw"}}};
  }

  std::vector<Mount> View(const std::string& key, const std::string& parent) override {
    std::vector<std::string> chain = Create(key, parent, "view");
    return {{"bind", chain.empty() ? Fs(key) : chain.front(), {"rbind", "ro"}}};
  }

  void Apply(const std::string& key, const std::string& blob, const layers::Digest& diff_id) override {
    if (ReadMeta(key).kind != "active") throw SnapshotError("cannot apply a layer to " + key + ": not active");
    layers::ApplyOptions o;
    o.overlay_format = false;  // a full tree: whiteouts delete
    o.diff_id = diff_id;
    layers::ApplyLayer(blob, Fs(key), o);
  }

  std::string Changes(const std::string& key) override {
    Meta m = ReadMeta(key);
    std::string out = Path(key) + "/changes";
    struct stat st;
    if (::stat(out.c_str(), &st) == 0) return out;
    std::string tmp = out + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    layers::MakeDirs(tmp);
    std::string lower = m.parent.empty() ? Path(key) + "/.empty" : Fs(m.parent);
    if (m.parent.empty()) layers::MakeDirs(lower);
    Diff(lower, Fs(key), tmp);
    if (::rename(tmp.c_str(), out.c_str()) != 0) throw SysError("rename", tmp);
    return out;
  }
};


}  // namespace

std::unique_ptr<Snapshotter> NewCopySnapshotter(const std::string& dir) {
  return std::make_unique<CopySnapshotter>(dir);
}

}  // namespace imgbuild::builder
