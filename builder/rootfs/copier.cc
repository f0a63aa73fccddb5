#include "builder/rootfs/copier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "builder/rootfs/file_owner.h"
#include "builder/rootfs/rootfs_path.h"
#include "builder/rootfs/source_glob.h"
#include "layers/parallel.h"
#include "layers/root_dir.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

using layers::RootDir;
using layers::SysError;
using layers::UniqueFd;

class Copier {
 public:
  explicit Copier(const CopyRequest& r)
      : r_(r), src_(r.src_root), dst_(r.upper.empty() ? r.src_root : r.upper),
        lower_(r.lower_root.empty() ? dst_.path() : r.lower_root) {
    if (!r.excludes.empty()) {
      std::vector<std::string> patterns;
      for (const std::string& e : r.excludes) patterns.push_back(frontend::CleanSlashPath(e));
      excludes_ = frontend::IgnoreMatcher(patterns);
    }
  }

  // The source paths (relative to src_root, as named) the patterns select.
  std::vector<std::string> Items() {
    std::vector<std::string> items;
    for (const std::string& pattern : r_.sources) {
      std::string clean = CleanRelative(pattern);
      std::vector<std::string> matched;
      if (HasGlob(clean)) {
        // A pattern that matches nothing copies nothing (BuildKit's AllowEmptyWildcard).
        GlobInRoot(src_, SplitPath(clean), [this](const std::string& rel) { return !Ignored(rel); }, matched);
        std::sort(matched.begin(), matched.end());
        matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
      } else {
        struct stat st;
        // The directories on the way are followed inside the source; what they lead to is what
        // .dockerignore is asked about.
        std::string resolved = src_.Resolve(clean, false);
        bool ignored = Ignored(clean) || Ignored(resolved);
        if (ignored && r_.ignore->HasExceptions()) {
          struct stat dst;
          if (src_.Stat(resolved, &dst, /*follow_last=*/true) && S_ISDIR(dst.st_mode)) {
            ignored = !IncludesBelow(src_.Resolve(clean, true));
          }
        }
        if (!src_.Stat(clean, &st) || ignored) {
          throw CopyError("\"" + pattern + "\" not found in the " +
                          std::string(r_.ignore ? "build context" : "source stage") +
                          (ignored ? " (it is excluded by .dockerignore)" : ""));
        }
        matched.push_back(clean);
      }
      if (r_.parents) {
        for (const std::string& m : matched) kept_[m] = KeptAfterPivot(pattern, m);
      }
      items.insert(items.end(), matched.begin(), matched.end());
    }
    return items;
  }

  // Where a named source really is: its directories resolved inside the source root and, when it
  // is a symlink itself, what it points at (inside the source root only). A file excluded by
  // .dockerignore is not there, whatever name leads to it.
  std::string Followed(const std::string& named) {
    std::string item = src_.Resolve(named, true);
    struct stat st;
    if (Ignored(item) && !(r_.ignore->HasExceptions() && SrcIsDir(item) && IncludesBelow(item))) {
      throw CopyError("\"" + named + "\" leads to /" + item + ", which .dockerignore excludes");
    }
    if (!src_.Stat(item, &st)) {
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
        owner_ = ResolveOwner(r_.chown, r_.passwd_root.empty() ? lower_.path() : r_.passwd_root);
      } catch (const OwnerError& e) {
        throw CopyError(e.what());
      }
    }
    std::vector<std::string> items = Items();
    one_tree_ = items.size() == 1 && r_.heredocs.empty();
    // Source arguments count, not what their patterns match (BuildKit): several arguments need a
    // directory; one pattern's matches are each copied to the destination, as BuildKit does.
    const size_t args = r_.sources.size() + r_.heredocs.size();
    std::string dest = r_.dest;
    if (dest.empty() || dest[0] != '/') dest = r_.workdir + "/" + dest;
    const bool dest_slash = NamesDirectory(r_.dest);
    // Cleaned as text first (`/link/..` is `/`, as BuildKit's path.Join), then resolved.
    std::string dest_rel = lower_.Resolve(frontend::CleanSlashPath(dest));
    if (args > 1 && !dest_slash && !IsDirInLower(dest_rel)) {
      throw CopyError("when copying several sources the destination must be a directory and end with a /: \"" +
                      r_.dest + "\"");
    }
    const bool dest_is_dir = dest_slash || args > 1 || dest_rel.empty();
    for (const std::string& named : items) {
      // What a symlink source points at is copied under the link's name.
      std::string item = Followed(named);
      std::string target;
      const bool is_dir = SrcIsDir(item);
      // A directory's contents go into the destination; a file goes into it when it is a
      // directory by its slash or already one (an earlier match may have made it a file).
      const bool into = dest_is_dir || IsDirInLower(dest_rel);
      if (r_.parents) {
        target = JoinRel(dest_rel, kept_.count(named) ? kept_[named] : named);
      } else if (is_dir) {
        target = dest_rel;
      } else {
        target = into ? JoinRel(dest_rel, Base(named)) : dest_rel;
      }
      // A directory's contents go into the destination, which --chmod leaves as it makes it
      // (0755, as Docker's BuildKit); the parents above it take the mode (testCopyChmod).
      if (target == dest_rel && is_dir) {
        EnsureParents(target, /*chmod_last=*/false);
      } else {
        EnsureParents(Parent(target));
      }
      CopyTree(item, target, /*top=*/true);
    }
    if (args == 0) EnsureParents(dest_rel);  // WORKDIR: just the directory
    for (const auto& [name, content] : r_.heredocs) {
      std::string target = dest_is_dir || IsDirInLower(dest_rel) ? JoinRel(dest_rel, name) : dest_rel;
      EnsureParents(Parent(target));
      WriteHeredoc(target, content);
    }
    return {stats_.files, stats_.dirs, stats_.symlinks, stats_.bytes, stats_.kept};
  }

 private:
  std::string Src(const std::string& rel) const { return rel.empty() ? src_.path() : src_.path() + "/" + rel; }
  bool Ignored(const std::string& rel) const { return r_.ignore && !rel.empty() && r_.ignore->Excluded(rel); }

  static bool IsDir(const RootDir& root, const std::string& rel, bool follow_last) {
    struct stat st;
    return root.Stat(rel, &st, follow_last) && S_ISDIR(st.st_mode);
  }
  bool SrcIsDir(const std::string& rel) const { return IsDir(src_, rel, false); }
  bool IsDirInLower(const std::string& rel) const { return IsDir(lower_, rel, true); }

  // Creates the directories of `rel` in the upper dir: ones the image already has keep its
  // metadata (as an overlay copy-up would), new ones are 0755 and owned by --chown's user
  // (BuildKit creates the destination path as that user), else root. `rel` is canonical.
  void EnsureParents(const std::string& rel, bool chmod_last = true) {
    std::string cur;
    const std::vector<std::string> parts = SplitPath(rel);
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& part = parts[i];
      cur = JoinRel(cur, part);
      Reached("", cur);
      struct stat st;
      if (dst_.Stat(cur, &st)) {
        if (!S_ISDIR(st.st_mode)) throw CopyError("cannot copy into /" + cur + ": it is not a directory");
        continue;
      }
      struct stat lower;
      RootDir::Entry at = dst_.Parent(cur);
      if (lower_.Stat(cur, &lower)) {
        if (!S_ISDIR(lower.st_mode)) throw CopyError("cannot copy into /" + cur + ": it is not a directory in the image");
        MakeDirAt(at.dir.get(), at.name, cur, lower.st_mode & 07777, lower.st_uid, lower.st_gid);
      } else {
        // --chmod applies to the directories the copy creates too (BuildKit's testCopyChmod).
        const bool chmod = !r_.chmod.empty() && (chmod_last || i + 1 < parts.size());
        mode_t mode = chmod ? ApplyChmod(r_.chmod, S_IFDIR | 0755) & 07777 : 0755;
        MakeDirAt(at.dir.get(), at.name, cur, mode, owner_ ? owner_->uid : 0, owner_ ? owner_->gid : 0);
      }
    }
  }

  void MakeDirAt(int dir, const std::string& name, const std::string& rel, mode_t mode, uid_t uid, gid_t gid) {
    if (::mkdirat(dir, name.c_str(), 0700) != 0 && errno != EEXIST) throw SysError("mkdir", "/" + rel);
    UniqueFd d(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) throw SysError("open", "/" + rel);
    if (!FChown(d.get(), uid, gid)) throw SysError("chown", "/" + rel);
    if (::fchmod(d.get(), mode) != 0) throw SysError("chmod", "/" + rel);
  }

  // A file below a copied directory that .dockerignore or --exclude leaves out.
  // An excluded directory is still sent when an exception re-includes something below it, with
  // just that (fsutil sends the parents of an included file); otherwise it is not created at all.
  bool Skipped(const std::string& child_src, const std::string& child_item, bool is_dir) {
    if (Ignored(child_src) && !(is_dir && r_.ignore->HasExceptions() && IncludesBelow(child_src))) return true;
    return Excluded(child_item);
  }

  // Whether .dockerignore lets anything below the directory `rel` (canonical) through.
  bool IncludesBelow(const std::string& rel) {
    {
      std::lock_guard<std::mutex> lock(includes_mu_);  // the walk runs on several threads
      auto memo = includes_below_.find(rel);
      if (memo != includes_below_.end()) return memo->second;
    }
    bool any = false;
    int fd = src_.TryOpen(rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd >= 0) {
      UniqueFd dir(fd);
      for (const std::string& n : layers::ListDirAt(dir.get(), Src(rel))) {
        std::string child = JoinRel(rel, n);
        struct stat st;
        if (::fstatat(dir.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!Ignored(child) || (S_ISDIR(st.st_mode) && IncludesBelow(child))) {
          any = true;
          break;
        }
      }
    }
    std::lock_guard<std::mutex> lock(includes_mu_);
    includes_below_[rel] = any;
    return any;
  }

  // The files CopyTree would read for `src_rel` (canonical), named `name` (+ their path below it).
  void SelectTree(const std::string& src_rel, const std::string& name, const std::string& item_rel,
                  std::vector<cache::InputFile>& out) {
    cache::InputFile f;
    f.path = name;
    f.source = Src(src_rel);
    if (!src_.Stat(src_rel, &f.st)) throw SysError("lstat", f.source, ENOENT);
    out.push_back(f);  // before its children: the list stays in path order (no sort later)
    if (S_ISDIR(f.st.st_mode)) {
      UniqueFd fd = src_.Open(src_rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      SelectChildren(fd.get(), f.source, src_rel, name, item_rel, out);
    }
  }

  // A directory's entries, each one stat relative to the open directory (the hot path of a
  // no-op rebuild: one fstatat per file), in pre-order, mostly path order (sorting then costs one
  // pass); the subdirectories of the top one are walked on every core.
  void SelectChildren(int fd, const std::string& dir, const std::string& src_rel, const std::string& name,
                      const std::string& item_rel, std::vector<cache::InputFile>& out, bool top = true) {
    const bool filtering = (r_.ignore && !r_.ignore->empty()) || excludes_;
    std::vector<std::pair<std::string, cache::InputFile>> entries;  // (name, entry)
    std::vector<size_t> subdirs;                                     // indexes into `entries`
    const std::vector<std::string> names = layers::ListDirAt(fd, dir);
    entries.reserve(names.size());
    out.reserve(out.size() + names.size());
    for (const std::string& n : names) {
      cache::InputFile c;
      c.path = name + "/" + n;
      c.source = dir + "/" + n;
      if (::fstatat(fd, n.c_str(), &c.st, AT_SYMLINK_NOFOLLOW) != 0) throw SysError("lstat", c.source);
      if (filtering && Skipped(JoinRel(src_rel, n), JoinRel(item_rel, n), S_ISDIR(c.st.st_mode))) continue;
      if (S_ISDIR(c.st.st_mode)) subdirs.push_back(entries.size());
      entries.emplace_back(n, std::move(c));
    }
    const bool parallel = top && subdirs.size() > 1;
    std::vector<std::vector<cache::InputFile>> below(parallel ? subdirs.size() : 0);
    auto walk = [&](size_t k, std::vector<cache::InputFile>& into) {
      const auto& [n, self] = entries[subdirs[k]];
      UniqueFd child(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child) throw SysError("open", self.source);
      SelectChildren(child.get(), self.source, JoinRel(src_rel, n), self.path, JoinRel(item_rel, n), into, false);
    };
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (parallel) layers::ForEach(subdirs.size(), cores, [&](size_t k) { walk(k, below[k]); });
    for (size_t i = 0, k = 0; i < entries.size(); ++i) {
      if (k == subdirs.size() || subdirs[k] != i) {
        out.push_back(std::move(entries[i].second));
        continue;
      }
      out.push_back(entries[i].second);  // a copy: the walk reads it
      if (parallel) std::move(below[k].begin(), below[k].end(), std::back_inserter(out));
      if (!parallel) walk(k, out);
      ++k;
    }
  }

  bool Excluded(const std::string& item_rel) const {
    return excludes_ && !item_rel.empty() && excludes_->Excluded(item_rel);
  }

  void CopyTree(const std::string& src_rel, const std::string& dst_rel, bool top) {
    RootDir::Entry s = src_.Parent(src_rel);
    RootDir::Entry d = dst_.Parent(dst_rel);
    CopyAt(s.dir.get(), s.name, src_rel, d.dir.get(), d.name, dst_rel, top, "");
  }

  // Copies the entry `sname` of the source directory `sdir` to the entry `dname` of the
  // destination directory `ddir`: every call is relative to those two, and no symlink on
  // either side is ever followed. In a `fresh` directory (one this copy made) nothing exists yet.
  void CopyAt(int sdir, const std::string& sname, const std::string& src_rel, int ddir, const std::string& dname,
              const std::string& dst_rel, bool top, const std::string& item_rel, bool fresh = false) {
    const std::string shown = "/" + dst_rel;
    struct stat st;
    if (::fstatat(sdir, sname.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw SysError("lstat", Src(src_rel));
    uid_t uid = owner_ ? owner_->uid : r_.keep_owner ? st.st_uid : 0;
    gid_t gid = owner_ ? owner_->gid : r_.keep_owner ? st.st_gid : 0;
    mode_t mode = st.st_mode;
    if (!r_.chmod.empty()) {
      try {
        mode = ApplyChmod(r_.chmod, mode);
      } catch (const OwnerError& e) {
        throw CopyError(e.what());
      }
    }
    // One source tree over its previous result: a file kept in place needs no look at its
    // destination (the previous result has it there, and nothing else of this copy writes it).
    if (one_tree_ && S_ISREG(st.st_mode) && KeptInPlace(st, src_rel, dst_rel)) return;
    struct stat existing;
    const bool existed = !fresh && ::fstatat(ddir, dname.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR(st.st_mode)) {
      // BuildKit's rule: a directory is never merged into a symlink (or any non-directory).
      if (existed && !S_ISDIR(existing.st_mode)) throw CopyError("cannot copy to non-directory: " + shown);
      if (!existed && ::mkdirat(ddir, dname.c_str(), 0700) != 0) throw SysError("mkdir", shown);
      UniqueFd in(::openat(sdir, sname.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!in) throw SysError("open", Src(src_rel));
      UniqueFd out(::openat(ddir, dname.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!out) throw SysError("open", shown);
      const bool filtering = (r_.ignore && !r_.ignore->empty()) || excludes_;
      auto child = [&](const std::string& n, std::optional<bool> is_dir) {
        std::string child_src = JoinRel(src_rel, n), child_item = JoinRel(item_rel, n);
        struct stat cst;
        if (filtering && !is_dir) is_dir = ::fstatat(in.get(), n.c_str(), &cst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(cst.st_mode);
        if (filtering && Skipped(child_src, child_item, *is_dir)) return;
        CopyAt(in.get(), n, child_src, out.get(), n, JoinRel(dst_rel, n), false, child_item, !existed);
      };
      // The top directory's subdirectories are copied on every core: creating files in
      // different directories runs in parallel in the kernel.
      std::vector<std::string> subdirs;
      for (const std::string& n : layers::ListDirAt(in.get(), Src(src_rel))) {
        struct stat cst;
        const bool dir = top && ::fstatat(in.get(), n.c_str(), &cst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(cst.st_mode);
        dir ? subdirs.push_back(n) : child(n, top ? std::optional<bool>(false) : std::nullopt);
      }
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      layers::ForEach(subdirs.size(), cores, [&](size_t i) { child(subdirs[i], true); });
      // A directory whose contents were copied into an existing destination keeps the
      // destination's metadata; a directory copied as itself takes the source's.
      const bool is_root_of_contents = top && dst_rel.empty();
      const bool keep_existing = top && existed && !r_.parents;
      if (!is_root_of_contents && !keep_existing) SetDirMeta(in.get(), out.get(), {uid, gid, mode, st.st_atim, st.st_mtim}, shown);
      ++stats_.dirs;
      Copied({src_rel, dst_rel, FileStamp::Of(st)});  // reached (a manifest keeps regular files only)
      return;
    }
    if (!one_tree_ && existed && S_ISREG(st.st_mode) && S_ISREG(existing.st_mode) && KeptInPlace(st, src_rel, dst_rel)) return;
    if (existed) {
      if (S_ISDIR(existing.st_mode)) throw CopyError("cannot overwrite directory " + shown + " with a file");
      if (::unlinkat(ddir, dname.c_str(), 0) != 0) throw SysError("unlink", shown);
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (S_ISLNK(st.st_mode)) {
      std::string target = layers::ReadLinkAt(sdir, sname, Src(src_rel));
      if (::symlinkat(target.c_str(), ddir, dname.c_str()) != 0) throw SysError("symlink", shown);
      if (!ChownAt(ddir, dname, uid, gid)) throw SysError("chown", shown);
      ::utimensat(ddir, dname.c_str(), times, AT_SYMLINK_NOFOLLOW);
      ++stats_.symlinks;
      Reached(src_rel, dst_rel);
      return;
    }
    if (S_ISSOCK(st.st_mode)) {
      // A unix socket (a dev server's, left in the context) becomes an empty file, as in BuildKit.
      WriteFileCopy(-1, "", ddir, dname, {uid, gid, mode, st.st_atim, st.st_mtim}, Src(src_rel), shown);
      ++stats_.files;
      Reached(src_rel, dst_rel);
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      if (::mknodat(ddir, dname.c_str(), mode, st.st_rdev) != 0) throw SysError("mknod", shown);
      if (!ChownAt(ddir, dname, uid, gid)) throw SysError("chown", shown);
      Reached(src_rel, dst_rel);
      return;
    }
    std::unique_lock<std::mutex> linking;  // held while the first copy of a linked file is made
    if (st.st_nlink > 1) {
      // Files hardlinked together in the source stay linked in the copy.
      linking = std::unique_lock<std::mutex>(links_mu_);
      auto [it, first] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), dst_rel);
      if (!first) {
        RootDir::Entry old = dst_.Parent(it->second);
        if (::linkat(old.dir.get(), old.name.c_str(), ddir, dname.c_str(), 0) != 0) throw SysError("link", shown);
        ++stats_.files;
        Reached(src_rel, dst_rel);
        return;
      }
    }
    layers::PendingFills* later = st.st_nlink == 1 && st.st_size >= layers::PendingFills::kMinSize ? r_.fills : nullptr;
    WriteFileCopy(sdir, sname, ddir, dname, {uid, gid, mode, st.st_atim, st.st_mtim}, Src(src_rel), shown, st.st_size,
                  later, later ? dst_.Resolve(dst_rel, false) : "");
    ++stats_.files;
    stats_.bytes += st.st_size;
    st.st_nlink == 1 ? Copied({src_rel, dst_rel, FileStamp::Of(st)}) : Reached(src_rel, dst_rel);
  }

  // Any other entry written at `dst_rel`: reached (a linked previous file there stays), no stamp.
  void Reached(const std::string& src_rel, const std::string& dst_rel) { Copied({src_rel, dst_rel, FileStamp{}}); }

  void Copied(CopiedFile f) {
    std::lock_guard<std::mutex> lock(copied_mu_);
    if (r_.in_place) seen_.insert(f.dst);
    if (r_.copied) r_.copied->push_back(std::move(f));
  }

  // A file the previous result of this step left in place (linked there before the copy), kept
  // when its source is the same file, unchanged, that it was copied from.
  bool KeptInPlace(const struct stat& st, const std::string& src_rel, const std::string& dst_rel) {
    if (!r_.in_place || st.st_nlink != 1) return false;
    auto it = r_.in_place->find(dst_rel);
    if (it == r_.in_place->end() || it->second.src != src_rel || !(it->second.stamp == FileStamp::Of(st))) return false;
    if (std::lock_guard<std::mutex> lock(copied_mu_); seen_.count(dst_rel)) return false;  // an earlier source wrote it
    ++stats_.files, ++stats_.kept;
    stats_.bytes += st.st_size;
    Copied({src_rel, dst_rel, it->second.stamp});
    return true;
  }

  void WriteHeredoc(const std::string& rel, const std::string& content) {
    const std::string shown = "/" + rel;
    RootDir::Entry at = dst_.Parent(rel);
    struct stat existing;
    if (::fstatat(at.dir.get(), at.name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(existing.st_mode)) throw CopyError("cannot overwrite directory " + shown + " with a file");
      ::unlinkat(at.dir.get(), at.name.c_str(), 0);
    }
    const mode_t mode = r_.chmod.empty() ? S_IFREG | 0644 : ApplyChmod(r_.chmod, S_IFREG | 0644);
    WriteNewFile(at.dir.get(), at.name, content, {owner_ ? owner_->uid : 0, owner_ ? owner_->gid : 0, mode, {}, {}}, shown);
    stats_.bytes += static_cast<int64_t>(content.size());
    ++stats_.files;
    Reached("", rel);
  }

  const CopyRequest& r_;
  RootDir src_, dst_, lower_;
  std::optional<Owner> owner_;
  std::optional<frontend::IgnoreMatcher> excludes_;
  struct { std::atomic<int64_t> files{0}, dirs{0}, symlinks{0}, bytes{0}, kept{0}; } stats_;  // counted on several threads
  std::mutex links_mu_, copied_mu_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // source inode -> first copy (canonical)
  std::unordered_set<std::string> seen_;  // incremental: destinations written or kept so far
  bool one_tree_ = false;  // the copy has one source item (no two of its files share a destination)
  std::map<std::string, std::string> kept_;  // --parents: what of each item's path the copy keeps
  std::mutex includes_mu_;
  std::map<std::string, bool> includes_below_;  // memo of IncludesBelow
};

}  // namespace

CopyStats Copy(const CopyRequest& request) { return Copier(request).Run(); }

std::vector<cache::InputFile> SelectCopyInputs(const CopyRequest& request) { return Copier(request).Select(); }

std::vector<std::string> MatchSources(const CopyRequest& request) { return Copier(request).Items(); }

}  // namespace imgbuild::builder
