#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include <memory>
#include <thread>

#include "builder/snapshot/dir_snapshotter.h"

namespace imgbuild::builder {
namespace {

using namespace detail;  // NOLINT: the shared snapshotter pieces

std::string JoinColon(const std::vector<std::string>& dirs) {
  std::string out;
  for (const std::string& d : dirs) out += (out.empty() ? "" : ":") + d;
  return out;
}

// Extended attributes of a path, without overlayfs's own (trusted.overlay.*).
std::map<std::string, std::string> UserXattrs(const std::string& path) {
  std::map<std::string, std::string> out = layers::ListXattrs(path);
  for (auto it = out.begin(); it != out.end();) {
    it = it->first.rfind("trusted.overlay.", 0) == 0 ? out.erase(it) : std::next(it);
  }
  return out;
}

bool IsOpaque(const std::string& path) {
  char v[2] = {};
  return ::lgetxattr(path.c_str(), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

// The stat of `rel` as the stack of lower directories (top first) shows it, if it is there.
std::optional<struct stat> LowerStat(const std::vector<std::string>& lowers, const std::string& rel, std::string* where) {
  for (const std::string& lower : lowers) {
    struct stat st;
    if (::lstat((lower + "/" + rel).c_str(), &st) == 0) {
      if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return std::nullopt;  // a whiteout
      *where = lower + "/" + rel;
      return st;
    }
    // Not here: the layers below count only if no parent in this one hides them.
    for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
      std::string parent = lower + "/" + rel.substr(0, slash);
      if (::lstat(parent.c_str(), &st) != 0) break;
      if (!S_ISDIR(st.st_mode) || IsOpaque(parent)) return std::nullopt;
    }
  }
  return std::nullopt;
}

// Overlay copies a directory up when anything inside it is created, even if that is removed
// again (the sandbox's mount stubs). An upper directory that is empty, not opaque, and has the
// lower one's metadata changes nothing: it is removed so it does not reach the layer.
// Only directories are looked at (by the entry type readdir gives): a COPY of 20,000 files
// stats 2,000 directories, not every file.
void PruneCopiedUpDirs(const std::string& upper, const std::string& rel, const std::vector<std::string>& lowers) {
  std::string path = rel.empty() ? upper : upper + "/" + rel;
  std::vector<std::string> subdirs;
  size_t left = 0;
  {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
    DIR* d = dir.get();
    if (!d) throw SysError("opendir", path);
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      ++left;
      struct stat st;
      if (e->d_type == DT_DIR ||
          (e->d_type == DT_UNKNOWN && ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))) {
        subdirs.push_back(std::move(n));
      }
    }
  }
  struct stat self;
  if (::lstat(path.c_str(), &self) != 0) throw SysError("lstat", path);
  const size_t before = left;
  for (const std::string& n : subdirs) {
    std::string child_rel = rel.empty() ? n : rel + "/" + n;
    PruneCopiedUpDirs(upper, child_rel, lowers);
    struct stat st;
    if (::lstat((upper + "/" + child_rel).c_str(), &st) != 0) --left;
  }
  if (left != before) {
    // Removing a child changed this directory's times: they are put back, so that it can be
    // compared with its lower one (and pruned in turn when that was all it held).
    struct timespec times[2] = {self.st_atim, self.st_mtim};
    ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }
  if (rel.empty() || left > 0 || IsOpaque(path)) return;
  struct stat up;
  std::string lower_path;
  std::optional<struct stat> low = LowerStat(lowers, rel, &lower_path);
  if (!low || ::lstat(path.c_str(), &up) != 0 || !S_ISDIR(low->st_mode)) return;
  if (up.st_mode != low->st_mode || up.st_uid != low->st_uid || up.st_gid != low->st_gid ||
      up.st_mtim.tv_sec != low->st_mtim.tv_sec || up.st_mtim.tv_nsec != low->st_mtim.tv_nsec) {
    return;
  }
  if (UserXattrs(path) != UserXattrs(lower_path)) return;
  ::rmdir(path.c_str());
}

class OverlaySnapshotter : public DirSnapshotter {
 public:
  using DirSnapshotter::DirSnapshotter;
  std::string kind() const override { return "overlay"; }
  std::optional<std::string> KeyOfChanges(const std::string& dir) const override {
    const std::string prefix = dir_ + "/", suffix = "/fs";
    if (dir.size() <= prefix.size() + suffix.size() || dir.rfind(prefix, 0) != 0 ||
        dir.compare(dir.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return std::nullopt;
    }
    std::string key = dir.substr(prefix.size(), dir.size() - prefix.size() - suffix.size());
    if (key.find('/') != std::string::npos || key.rfind(".removing-", 0) == 0 || !Exists(key)) return std::nullopt;
    return key;
  }

  bool Commit(const std::string& name, const std::string& key) override {
    Meta m = ReadMeta(key);
    if (m.kind == "active" && !m.parent.empty()) {
      std::vector<std::string> lowers;
      for (std::string p = m.parent; !p.empty(); p = ReadMeta(p).parent) lowers.push_back(Fs(p));
      PruneCopiedUpDirs(Fs(key), "", lowers);
    }
    return DirSnapshotter::Commit(name, key);
  }

  void Remove(const std::string& key) override {
    DirSnapshotter::Remove(key);
    ::unlink(LinkPath(key).c_str());
  }

  std::vector<Mount> Prepare(const std::string& key, const std::string& parent) override {
    return PrepareOn(key, parent, false);
  }

  std::vector<Mount> PrepareStacked(const std::string& key, const std::string& parent) override {
    if (parent.empty()) throw SnapshotError("snapshot " + key + ": a stacked snapshot needs a parent");
    return PrepareOn(key, parent, true);
  }

  std::vector<std::string> LayerDirs(const std::string& key) override {
    std::vector<std::string> dirs{Changes(key)};
    for (Meta m = ReadMeta(key); m.stacked; m = ReadMeta(m.parent)) dirs.push_back(Fs(m.parent));
    return dirs;
  }

  std::vector<Mount> View(const std::string& key, const std::string& parent) override {
    std::vector<std::string> chain = Short(Create(key, parent, "view"));
    if (chain.empty()) return {{"bind", Fs(key), {"rbind", "ro"}}};
    if (chain.size() == 1) return {{"bind", chain[0], {"rbind", "ro"}}};
    return {{"overlay", "overlay", {"lowerdir=" + JoinColon(chain), "ro"}}};
  }

  void Apply(const std::string& key, const std::string& blob, const layers::Digest& diff_id) override {
    if (ReadMeta(key).kind != "active") throw SnapshotError("cannot apply a layer to " + key + ": not active");
    layers::ApplyOptions o;  // overlay format: whiteouts stay whiteouts
    o.diff_id = diff_id;
    layers::ApplyLayer(blob, Fs(key), o);
  }

  std::string Changes(const std::string& key) override {
    ReadMeta(key);
    return Fs(key);
  }

 private:
  // An active snapshot on `parent` (stacked on it when `stacked`), mounted as an overlay.
  std::vector<Mount> PrepareOn(const std::string& key, const std::string& parent, bool stacked) {
    std::vector<std::string> chain = Short(Create(key, parent, "active", stacked));
    if (chain.empty()) return {{"bind", Fs(key), {"rbind", "rw"}}};
    layers::MakeDirs(Path(key) + "/work");
    // index/redirect_dir/metacopy off: the upper directory alone must describe the change.
    // volatile: the unmount does not flush the whole host filesystem; the step makes the upper
    // durable itself, while it hashes the layer, before anything records it (LayerStep).
    return {{"overlay", "overlay",
             {"lowerdir=" + JoinColon(chain), "upperdir=" + Fs(key), "workdir=" + Path(key) + "/work", "index=off",
              "redirect_dir=off", "metacopy=off", "volatile"}}};
  }

  // DIR/l/<16 hex of the key's hash>: a short name for a snapshot's fs directory, as docker's
  // overlay2 keeps, so that deep stacks fit in one page of mount options (see MountGuard).
  std::string LinkPath(const std::string& key) const {
    return dir_ + "/l/" + std::string(layers::Digest::OfBytes(key).hex().substr(0, 16));
  }

  std::vector<std::string> Short(const std::vector<std::string>& chain) {
    size_t total = 0;
    for (const std::string& c : chain) total += c.size() + 1;
    if (total < 3000) return chain;
    layers::MakeDirs(dir_ + "/l");
    std::vector<std::string> out;
    for (const std::string& fs_dir : chain) {
      std::string key = fs_dir.substr(dir_.size() + 1, fs_dir.size() - dir_.size() - 4);  // DIR/KEY/fs
      std::string link = LinkPath(key);
      if (::symlink(("../" + key + "/fs").c_str(), link.c_str()) != 0 && errno != EEXIST) {
        throw SysError("symlink", link);
      }
      out.push_back(link);
    }
    return out;
  }
};


}  // namespace

std::unique_ptr<Snapshotter> NewOverlaySnapshotter(const std::string& dir) {
  return std::make_unique<OverlaySnapshotter>(dir);
}

bool detail::OverlayWorks(const std::string& scratch) {
  std::string probe = scratch + "/overlay-probe";
  for (const char* sub : {"/l", "/u", "/w", "/m"}) layers::MakeDirs(probe + sub);
  std::string options = "lowerdir=" + probe + "/l,upperdir=" + probe + "/u,workdir=" + probe +
                        "/w,index=off,redirect_dir=off,metacopy=off";
  bool ok = ::mount("overlay", (probe + "/m").c_str(), "overlay", 0, options.c_str()) == 0;
  if (ok) ::umount2((probe + "/m").c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(probe, ec);
  return ok;
}


}  // namespace imgbuild::builder
