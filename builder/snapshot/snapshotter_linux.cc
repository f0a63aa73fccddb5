#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <nlohmann/json.hpp>

#include "builder/snapshot/snapshotter.h"
#include "layers/applier.h"
#include "layers/digest.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;
using layers::SysError;
using layers::UniqueFd;

void CheckKey(const std::string& key) {
  if (key.empty() || key == "." || key == ".." ||
      key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos) {
    throw SnapshotError("invalid snapshot key \"" + key + "\"");
  }
}

// Metadata and layout shared by both snapshotters: DIR/KEY/{fs,work,meta.json}.
class DirSnapshotter : public Snapshotter {
 public:
  explicit DirSnapshotter(std::string dir) : dir_(std::move(dir)) { layers::MakeDirs(dir_); }

  bool Exists(const std::string& key) const override {
    struct stat st;
    return ::stat((dir_ + "/" + key + "/meta.json").c_str(), &st) == 0;
  }

  bool Commit(const std::string& name, const std::string& key) override {
    CheckKey(name);
    Meta m = ReadMeta(key);
    if (m.kind != "active") throw SnapshotError("cannot commit " + key + ": it is not an active snapshot");
    if (Exists(name)) return false;
    m.kind = "committed";
    WriteMeta(key, m);
    if (::rename(Path(key).c_str(), Path(name).c_str()) != 0) {
      int err = errno;
      m.kind = "active";
      WriteMeta(key, m);
      if (err == EEXIST || err == ENOTEMPTY) return false;  // committed by another build meanwhile
      throw SysError("rename", Path(key), err);
    }
    std::error_code ec;
    fs::remove_all(Path(name) + "/work", ec);
    layers::SyncDir(dir_);
    return true;
  }

  std::vector<Info> List() const override {
    std::vector<Info> out;
    for (const std::string& name : layers::ListDir(dir_)) {
      if (name == "l" || name.rfind(".removing-", 0) == 0 || !Exists(name)) continue;
      try {
        Meta m = ReadMeta(name);
        out.push_back({name, m.parent, m.kind});
      } catch (const SnapshotError&) {
      }
    }
    return out;
  }

  void Remove(const std::string& key) override {
    if (!Exists(key)) throw SnapshotError("no snapshot " + key);
    for (const auto& e : fs::directory_iterator(dir_)) {
      std::string other = e.path().filename().string();
      if (other != key && Exists(other) && ReadMeta(other).parent == key) {
        throw SnapshotError("cannot remove " + key + ": snapshot " + other + " is based on it");
      }
    }
    // Rename first so a crash never leaves a half-removed snapshot under its key.
    std::string doomed = dir_ + "/.removing-" + key;
    if (::rename(Path(key).c_str(), doomed.c_str()) != 0) throw SysError("rename", Path(key));
    std::error_code ec;
    fs::remove_all(doomed, ec);
  }

 protected:
  struct Meta {
    std::string kind;  // active, view, committed
    std::string parent;
  };

  std::string Path(const std::string& key) const { return dir_ + "/" + key; }
  std::string Fs(const std::string& key) const { return Path(key) + "/fs"; }

  Meta ReadMeta(const std::string& key) const {
    CheckKey(key);
    try {
      auto j = nlohmann::json::parse(layers::ReadFile(Path(key) + "/meta.json"));
      return {j.at("kind").get<std::string>(), j.value("parent", "")};
    } catch (const SysError&) {
      throw SnapshotError("no snapshot " + key);
    } catch (const nlohmann::json::exception& e) {
      throw SnapshotError("snapshot " + key + " has corrupt metadata: " + e.what());
    }
  }
  void WriteMeta(const std::string& key, const Meta& m) {
    layers::WriteFileAtomic(Path(key) + "/meta.json", nlohmann::json{{"version", 1}, {"kind", m.kind}, {"parent", m.parent}}.dump());
  }

  // Creates KEY on PARENT (which must be committed); returns the parent's chain of fs dirs, top first.
  std::vector<std::string> Create(const std::string& key, const std::string& parent, const std::string& kind) {
    CheckKey(key);
    if (Exists(key)) throw SnapshotError("snapshot " + key + " already exists");
    std::vector<std::string> chain;
    for (std::string p = parent; !p.empty();) {
      Meta m = ReadMeta(p);
      if (m.kind != "committed") throw SnapshotError("parent " + p + " is not committed");
      chain.push_back(Fs(p));
      p = m.parent;
    }
    std::error_code ec;
    fs::remove_all(Path(key), ec);  // leftovers of a crash before the metadata was written
    layers::MakeDirs(Fs(key));
    WriteMeta(key, {kind, parent});
    return chain;
  }

  std::string dir_;
};

std::string JoinColon(const std::vector<std::string>& dirs) {
  std::string out;
  for (const std::string& d : dirs) out += (out.empty() ? "" : ":") + d;
  return out;
}

// Extended attributes of a path, without overlayfs's own (trusted.overlay.*).
std::map<std::string, std::string> UserXattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len <= 0) return out;
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  for (size_t i = 0; len > 0 && i < static_cast<size_t>(len);) {
    std::string n(names.c_str() + i);
    i += n.size() + 1;
    if (n.rfind("trusted.overlay.", 0) == 0) continue;
    ssize_t vlen = ::lgetxattr(path.c_str(), n.c_str(), nullptr, 0);
    std::string v(static_cast<size_t>(std::max<ssize_t>(vlen, 0)), '\0');
    if (vlen > 0) vlen = ::lgetxattr(path.c_str(), n.c_str(), v.data(), v.size());
    out[n] = v.substr(0, static_cast<size_t>(std::max<ssize_t>(vlen, 0)));
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
void PruneCopiedUpDirs(const std::string& upper, const std::string& rel, const std::vector<std::string>& lowers) {
  std::string path = rel.empty() ? upper : upper + "/" + rel;
  std::vector<std::string> names = layers::ListDir(path);
  size_t left = names.size();
  for (const std::string& n : names) {
    std::string child_rel = rel.empty() ? n : rel + "/" + n;
    struct stat st;
    if (::lstat((upper + "/" + child_rel).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    PruneCopiedUpDirs(upper, child_rel, lowers);
    if (::lstat((upper + "/" + child_rel).c_str(), &st) != 0) --left;
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
    std::vector<std::string> chain = Short(Create(key, parent, "active"));
    if (chain.empty()) return {{"bind", Fs(key), {"rbind", "rw"}}};
    layers::MakeDirs(Path(key) + "/work");
    // index/redirect_dir/metacopy off: the upper directory alone must describe the change.
    return {{"overlay", "overlay",
             {"lowerdir=" + JoinColon(chain), "upperdir=" + Fs(key), "workdir=" + Path(key) + "/work", "index=off",
              "redirect_dir=off", "metacopy=off"}}};
  }

  std::vector<Mount> View(const std::string& key, const std::string& parent) override {
    std::vector<std::string> chain = Short(Create(key, parent, "view"));
    if (chain.empty()) return {{"bind", Fs(key), {"rbind", "ro"}}};
    if (chain.size() == 1) return {{"bind", chain[0], {"rbind", "ro"}}};
    return {{"overlay", "overlay", {"lowerdir=" + JoinColon(chain), "ro"}}};
  }

  void Apply(const std::string& key, const std::string& blob) override {
    if (ReadMeta(key).kind != "active") throw SnapshotError("cannot apply a layer to " + key + ": not active");
    layers::ApplyLayer(blob, Fs(key));  // overlay format: whiteouts stay whiteouts
  }

  std::string Changes(const std::string& key) override {
    ReadMeta(key);
    return Fs(key);
  }

 private:
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

  void Apply(const std::string& key, const std::string& blob) override {
    if (ReadMeta(key).kind != "active") throw SnapshotError("cannot apply a layer to " + key + ": not active");
    layers::ApplyOptions o;
    o.overlay_format = false;  // a full tree: whiteouts delete
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

bool OverlayWorks(const std::string& scratch) {
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

}  // namespace

std::unique_ptr<Snapshotter> NewOverlaySnapshotter(const std::string& dir) {
  return std::make_unique<OverlaySnapshotter>(dir);
}

std::unique_ptr<Snapshotter> NewCopySnapshotter(const std::string& dir) {
  return std::make_unique<CopySnapshotter>(dir);
}

std::unique_ptr<Snapshotter> NewSnapshotter(const std::string& dir, const std::string& scratch) {
  layers::MakeDirs(dir);
  const char* forced = std::getenv("IMGBUILD_SNAPSHOTTER");
  if (forced && std::string(forced) == "copy") return NewCopySnapshotter(dir + "-copy");
  if (OverlayWorks(scratch)) return NewOverlaySnapshotter(dir);
  return NewCopySnapshotter(dir);
}

namespace {

// Mount data is limited to one page. Deep overlay stacks with long paths exceed it, so, as
// containerd does, the mount is made from the directory that holds the layers with relative
// paths. The working directory is per process, so this happens on a thread of its own that
// first unshares it (CLONE_FS) and leaves every other thread's directory alone.
int MountOverlayRelative(const std::string& target, unsigned long flags, const std::string& data) {
  // The longest common directory prefix of every absolute path in the options.
  std::vector<std::string> paths;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find_first_of(",:", pos);
    if (end == std::string::npos) end = data.size();
    std::string item = data.substr(pos, end - pos);
    size_t eq = item.find('=');
    std::string path = eq == std::string::npos ? item : item.substr(eq + 1);
    if (!path.empty() && path[0] == '/') paths.push_back(path);
    pos = end + 1;
  }
  if (paths.empty()) return EINVAL;
  std::string common = paths[0].substr(0, paths[0].find_last_of('/'));
  for (const std::string& p : paths) {
    while (!common.empty() && p.compare(0, common.size() + 1, common + "/") != 0) {
      common = common.substr(0, common.find_last_of('/'));
    }
  }
  if (common.empty()) return EINVAL;
  std::string relative;
  for (size_t i = 0; i < data.size();) {
    if (data.compare(i, common.size() + 1, common + "/") == 0 && (i == 0 || data[i - 1] == '=' || data[i - 1] == ':')) {
      i += common.size() + 1;
      continue;
    }
    relative += data[i++];
  }
  int result = 0;
  std::thread worker([&] {
    if (::unshare(CLONE_FS) != 0 || ::chdir(common.c_str()) != 0 ||
        ::mount("overlay", target.c_str(), "overlay", flags, relative.c_str()) != 0) {
      result = errno;
    }
  });
  worker.join();
  return result;
}

}  // namespace

MountGuard::MountGuard(const std::vector<Mount>& mounts, const std::string& target) : target_(target) {
  for (const Mount& m : mounts) {
    bool ro = std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
    if (m.type == "bind") {
      if (::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        throw SysError("bind mount " + m.source + " on", target);
      }
      mounted_ = true;
      if (ro && ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
        int err = errno;
        ::umount2(target.c_str(), MNT_DETACH);
        throw SysError("remount read-only", target, err);
      }
    } else {
      std::string data;
      for (const std::string& o : m.options) {
        if (o != "ro") data += (data.empty() ? "" : ",") + o;
      }
      unsigned long flags = ro ? MS_RDONLY : 0;
      if (data.size() > 3500 && m.type == "overlay") {
        int err = MountOverlayRelative(target, flags, data);
        if (err != 0) throw SysError("mount overlay (relative to the snapshot directory) on", target, err);
      } else if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, data.c_str()) != 0) {
        throw SysError("mount " + m.type + " on", target);
      }
      mounted_ = true;
    }
  }
}

MountGuard::~MountGuard() {
  if (mounted_) ::umount2(target_.c_str(), MNT_DETACH);
}

}  // namespace imgbuild::builder
