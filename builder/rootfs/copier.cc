#include "builder/rootfs/copier.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "builder/rootfs/file_owner.h"
#include "builder/rootfs/rootfs_path.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

// Ownership is set as root only (as the applier does): without root, files keep the caller's.
bool Chown(const std::string& path, uid_t uid, gid_t gid) {
  return ::geteuid() != 0 || ::lchown(path.c_str(), uid, gid) == 0;
}
bool FChown(int fd, uid_t uid, gid_t gid) { return ::geteuid() != 0 || ::fchown(fd, uid, gid) == 0; }

using layers::SysError;
using layers::UniqueFd;

bool HasGlob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string Parent(const std::string& rel) {
  size_t slash = rel.find_last_of('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

std::string Base(const std::string& rel) {
  size_t slash = rel.find_last_of('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

std::string JoinRel(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "/" + b;
}

class Copier {
 public:
  explicit Copier(const CopyRequest& r) : r_(r) {
    if (!r.excludes.empty()) {
      std::vector<std::string> patterns;
      for (const std::string& e : r.excludes) patterns.push_back(frontend::CleanSlashPath(e));
      excludes_ = frontend::IgnoreMatcher(patterns);
    }
  }

  // The source paths (relative to src_root) the patterns select.
  std::vector<std::string> Items() {
    std::vector<std::string> items;
    for (const std::string& pattern : r_.sources) {
      std::string clean = CleanRelative(pattern);
      std::vector<std::string> matched;
      if (HasGlob(clean)) {
        Glob(SplitPath(clean), 0, "", matched);
        if (matched.empty()) throw CopyError("no source files match \"" + pattern + "\"");
      } else {
        struct stat st;
        if (::lstat(Src(clean).c_str(), &st) != 0 || Ignored(clean)) {
          throw CopyError("\"" + pattern + "\" not found in the " +
                          std::string(r_.ignore ? "build context" : "source stage") +
                          (Ignored(clean) ? " (it is excluded by .dockerignore)" : ""));
        }
        matched.push_back(clean);
      }
      items.insert(items.end(), matched.begin(), matched.end());
    }
    return items;
  }

  // A top-level source that is a symlink is followed, inside the source root only.
  std::string Followed(const std::string& named) {
    struct stat lst;
    if (::lstat(Src(named).c_str(), &lst) != 0 || !S_ISLNK(lst.st_mode)) return named;
    std::string item = ResolveInRoot(r_.src_root, named);
    struct stat tst;
    if (item.empty() || ::lstat(Src(item).c_str(), &tst) != 0) {
      throw CopyError("\"" + named + "\" is a symlink to something outside or missing from the source");
    }
    return item;
  }

  std::vector<cache::InputFile> Select() {
    std::vector<cache::InputFile> out;
    for (const std::string& named : Items()) SelectTree(Followed(named), named, "", out);
    return out;
  }

  CopyStats Run() {
    // --chown names are looked up in the image being written (selecting inputs needs none).
    if (!r_.chown.empty()) {
      try {
        owner_ = ResolveOwner(r_.chown, r_.passwd_root.empty() ? r_.lower_root : r_.passwd_root);
      } catch (const OwnerError& e) {
        throw CopyError(e.what());
      }
    }
    std::vector<std::string> items = Items();
    const size_t count = items.size() + r_.heredocs.size();
    std::string dest = r_.dest;
    if (dest.empty() || dest[0] != '/') dest = r_.workdir + "/" + dest;
    const bool dest_slash = !r_.dest.empty() && (r_.dest.back() == '/' || r_.dest == "." ||
                                                 (r_.dest.size() >= 2 && r_.dest.compare(r_.dest.size() - 2, 2, "/.") == 0));
    std::string dest_rel = ResolveInRoot(r_.lower_root, dest);
    bool dest_is_dir = dest_slash || count > 1 || IsDirInLower(dest_rel) || dest_rel.empty();
    if (count == 1 && items.size() == 1 && !r_.parents && IsDir(Src(items[0]))) dest_is_dir = true;
    if (count > 1 && !dest_slash && !IsDirInLower(dest_rel)) {
      throw CopyError("when copying several sources the destination must be a directory and end with a /: \"" +
                      r_.dest + "\"");
    }
    for (const std::string& named : items) {
      // What a symlink source points at is copied under the link's name.
      std::string item = Followed(named);
      std::string target;
      if (r_.parents) {
        target = JoinRel(dest_rel, named);
      } else if (dest_is_dir && IsDir(Src(item))) {
        target = dest_rel;  // a directory's contents go into the destination
      } else {
        target = dest_is_dir ? JoinRel(dest_rel, Base(named)) : dest_rel;
      }
      EnsureParents(target == dest_rel && IsDir(Src(item)) ? target : Parent(target));
      CopyTree(item, target, /*top=*/true);
    }
    if (count == 0) EnsureParents(dest_rel);  // WORKDIR: just the directory
    for (const auto& [name, content] : r_.heredocs) {
      std::string target = dest_is_dir ? JoinRel(dest_rel, name) : dest_rel;
      EnsureParents(Parent(target));
      WriteHeredoc(target, content);
    }
    return stats_;
  }

 private:
  std::string Src(const std::string& rel) const { return rel.empty() ? r_.src_root : r_.src_root + "/" + rel; }
  std::string Up(const std::string& rel) const { return rel.empty() ? r_.upper : r_.upper + "/" + rel; }
  bool Ignored(const std::string& rel) const { return r_.ignore && !rel.empty() && r_.ignore->Excluded(rel); }

  static bool IsDir(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  bool IsDirInLower(const std::string& rel) const {
    struct stat st;
    return ::stat((r_.lower_root + "/" + rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  void Glob(const std::vector<std::string>& parts, size_t i, const std::string& base, std::vector<std::string>& out) {
    if (i == parts.size()) {
      if (!Ignored(base)) out.push_back(base);
      return;
    }
    if (!HasGlob(parts[i])) {
      std::string next = JoinRel(base, parts[i]);
      struct stat st;
      if (::lstat(Src(next).c_str(), &st) == 0) Glob(parts, i + 1, next, out);
      return;
    }
    DIR* d = ::opendir(Src(base).c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != ".." && ::fnmatch(parts[i].c_str(), n.c_str(), 0) == 0) names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) Glob(parts, i + 1, JoinRel(base, n), out);
  }

  // Creates the directories of `rel` in the upper dir: ones the image already has keep its
  // metadata (as an overlay copy-up would), new ones are 0755 root:root.
  void EnsureParents(const std::string& rel) {
    std::string cur;
    for (const std::string& part : SplitPath(rel)) {
      cur = JoinRel(cur, part);
      struct stat st;
      if (::lstat(Up(cur).c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw CopyError("cannot copy into /" + cur + ": it is not a directory");
        continue;
      }
      struct stat lower;
      if (::lstat((r_.lower_root + "/" + cur).c_str(), &lower) == 0) {
        if (!S_ISDIR(lower.st_mode)) throw CopyError("cannot copy into /" + cur + ": it is not a directory in the image");
        MakeDir(cur, lower.st_mode & 07777, lower.st_uid, lower.st_gid);
      } else {
        MakeDir(cur, 0755, 0, 0);
      }
    }
  }

  void MakeDir(const std::string& rel, mode_t mode, uid_t uid, gid_t gid) {
    std::string p = Up(rel);
    if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) throw SysError("mkdir", p);
    if (!Chown(p, uid, gid)) throw SysError("chown", p);
    if (::chmod(p.c_str(), mode) != 0) throw SysError("chmod", p);
  }

  // A file below a copied directory that .dockerignore or --exclude leaves out.
  bool Skipped(const std::string& child_src, const std::string& child_item) const {
    if (Ignored(child_src) && !(r_.ignore->HasExceptions() && IsDir(Src(child_src)))) return true;
    return Excluded(child_item);
  }

  // The files CopyTree would read for `src_rel`, named `name` (+ their path below it).
  void SelectTree(const std::string& src_rel, const std::string& name, const std::string& item_rel,
                  std::vector<cache::InputFile>& out) {
    cache::InputFile f;
    f.path = name;
    f.source = Src(src_rel);
    if (::lstat(f.source.c_str(), &f.st) != 0) throw SysError("lstat", f.source);
    if (S_ISDIR(f.st.st_mode)) {
      SelectChildren(f.source, src_rel, name, item_rel, out);
    }
    out.push_back(std::move(f));
  }

  // A directory's entries, each one stat relative to the open directory (the hot path of a
  // no-op rebuild: one fstatat per file).
  void SelectChildren(const std::string& dir, const std::string& src_rel, const std::string& name,
                      const std::string& item_rel, std::vector<cache::InputFile>& out) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw SysError("open", dir);
    DIR* d = ::fdopendir(::dup(fd.get()));
    if (!d) throw SysError("opendir", dir);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    }
    ::closedir(d);
    const bool filtering = (r_.ignore && !r_.ignore->empty()) || excludes_;
    for (const std::string& n : names) {
      std::string child_src = JoinRel(src_rel, n);
      if (filtering && Skipped(child_src, JoinRel(item_rel, n))) continue;
      cache::InputFile c;
      c.path = name + "/" + n;
      c.source = dir + "/" + n;
      if (::fstatat(fd.get(), n.c_str(), &c.st, AT_SYMLINK_NOFOLLOW) != 0) throw SysError("lstat", c.source);
      if (S_ISDIR(c.st.st_mode)) SelectChildren(c.source, child_src, c.path, JoinRel(item_rel, n), out);
      out.push_back(std::move(c));
    }
  }

  bool Excluded(const std::string& item_rel) const {
    return excludes_ && !item_rel.empty() && excludes_->Excluded(item_rel);
  }

  void CopyTree(const std::string& src_rel, const std::string& dst_rel, bool top, const std::string& item_rel = "") {
    std::string src = Src(src_rel), dst = Up(dst_rel);
    struct stat st;
    if (::lstat(src.c_str(), &st) != 0) throw SysError("lstat", src);
    uid_t uid = owner_ ? owner_->uid : 0;
    gid_t gid = owner_ ? owner_->gid : 0;
    mode_t mode = st.st_mode;
    if (!r_.chmod.empty()) {
      try {
        mode = ApplyChmod(r_.chmod, mode);
      } catch (const OwnerError& e) {
        throw CopyError(e.what());
      }
    }
    if (S_ISDIR(st.st_mode)) {
      struct stat existing;
      bool is_root_of_contents = top && dst_rel.empty();
      const bool existed = ::lstat(dst.c_str(), &existing) == 0;
      if (!existed) MakeDir(dst_rel, 0700, uid, gid);
      for (const std::string& n : layers::ListDir(src)) {
        std::string child_src = JoinRel(src_rel, n);
        std::string child_item = JoinRel(item_rel, n);
        if (Skipped(child_src, child_item)) continue;
        CopyTree(child_src, JoinRel(dst_rel, n), false, child_item);
      }
      // A directory whose contents were copied into an existing destination keeps the
      // destination's metadata; a directory copied as itself takes the source's.
      bool keep_existing = top && existed && !r_.parents;
      if (!is_root_of_contents && !keep_existing) {
        if (!Chown(dst, uid, gid)) throw SysError("chown", dst);
        if (::chmod(dst.c_str(), mode & 07777) != 0) throw SysError("chmod", dst);
        SetTimes(dst, st);
      }
      ++stats_.dirs;
      return;
    }
    struct stat existing;
    if (::lstat(dst.c_str(), &existing) == 0) {
      if (S_ISDIR(existing.st_mode)) throw CopyError("cannot overwrite directory /" + dst_rel + " with a file");
      ::unlink(dst.c_str());
    }
    if (S_ISLNK(st.st_mode)) {
      if (::symlink(layers::ReadLink(src).c_str(), dst.c_str()) != 0) throw SysError("symlink", dst);
      if (!Chown(dst, uid, gid)) throw SysError("chown", dst);
      SetTimes(dst, st);
      ++stats_.symlinks;
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      if (::mknod(dst.c_str(), mode, st.st_rdev) != 0) throw SysError("mknod", dst);
      if (!Chown(dst, uid, gid)) throw SysError("chown", dst);
      return;
    }
    if (st.st_nlink > 1) {
      // Files hardlinked together in the source stay linked in the copy.
      auto [it, first] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), dst);
      if (!first) {
        if (::link(it->second.c_str(), dst.c_str()) != 0) throw SysError("link", dst);
        ++stats_.files;
        return;
      }
    }
    UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!in) throw SysError("open", src);
    UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out) throw SysError("create", dst);
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
        n = ::sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SysError("copy", src);
      }
      if (n == 0) break;
      left -= n;
    }
    if (!FChown(out.get(), uid, gid)) throw SysError("chown", dst);
    if (::fchmod(out.get(), mode & 07777) != 0) throw SysError("chmod", dst);
    out.Reset();
    SetTimes(dst, st);
    ++stats_.files;
    stats_.bytes += st.st_size;
  }

  void WriteHeredoc(const std::string& rel, const std::string& content) {
    std::string dst = Up(rel);
    ::unlink(dst.c_str());
    UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out) throw SysError("create", dst);
    layers::WriteAll(out.get(), content.data(), content.size(), dst);
    stats_.bytes += static_cast<int64_t>(content.size());
    mode_t mode = S_IFREG | 0644;
    if (!r_.chmod.empty()) mode = ApplyChmod(r_.chmod, mode);
    if (!FChown(out.get(), owner_ ? owner_->uid : 0, owner_ ? owner_->gid : 0)) throw SysError("chown", dst);
    if (::fchmod(out.get(), mode & 07777) != 0) throw SysError("chmod", dst);
    ++stats_.files;
  }

  static void SetTimes(const std::string& path, const struct stat& st) {
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }

  const CopyRequest& r_;
  std::optional<Owner> owner_;
  std::optional<frontend::IgnoreMatcher> excludes_;
  CopyStats stats_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // source inode -> first copy
};

}  // namespace

CopyStats Copy(const CopyRequest& request) { return Copier(request).Run(); }

std::vector<cache::InputFile> SelectCopyInputs(const CopyRequest& request) { return Copier(request).Select(); }

}  // namespace imgbuild::builder
