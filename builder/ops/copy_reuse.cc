#include "builder/ops/copy_reuse.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <sstream>

#include "builder/rootfs/rootfs_path.h"
#include "cache/file_digest_memo.h"
#include "layers/digest.h"
#include "layers/layer_walk.h"
#include "layers/parallel.h"
#include "layers/root_dir.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

constexpr const char* kHeader = "imgbuild copy manifest v1";

// Names may hold any byte but NUL: tabs, newlines and backslashes are escaped.
std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::optional<std::string> Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    if (s[i] == '\\') out += '\\';
    else if (s[i] == 't') out += '\t';
    else if (s[i] == 'n') out += '\n';
    else return std::nullopt;
  }
  return out;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The directory `rel` of `upper`, made (with the metadata of the same directory of `previous`)
// where missing. Every component is opened without following symlinks: both trees are
// imgbuild's own snapshots, and a component that is not a plain directory stops the link.
// Opens (making it where missing) the directory parts[0..n) below `upper`, made like the same
// directory of the previous result (the first of `previous` that has it: stacked changes, top
// first); the directories made are added to `made`.
layers::UniqueFd MakeDirLike(int upper, const std::vector<int>& previous, const std::vector<std::string>& parts,
                             size_t n, std::vector<std::string>& made, std::mutex& made_mu) {
  layers::UniqueFd up(::dup(upper));
  std::vector<layers::UniqueFd> prev;
  for (int fd : previous) prev.emplace_back(::dup(fd));
  for (size_t i = 0; i < n; ++i) {
    const char* name = parts[i].c_str();
    std::vector<layers::UniqueFd> next;
    int like = -1;  // the top-most previous directory of this name
    for (layers::UniqueFd& p : prev) {
      next.emplace_back(p ? ::openat(p.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1);
      if (like < 0 && next.back()) like = next.back().get();
    }
    if (like < 0) return layers::UniqueFd();
    int fd = ::openat(up.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && ::mkdirat(up.get(), name, 0700) != 0 && errno == EEXIST) {
      fd = ::openat(up.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);  // made by another thread
      if (fd < 0) return layers::UniqueFd();
    } else if (fd < 0) {
      if (::fstat(like, &st) != 0) return layers::UniqueFd();
      fd = ::openat(up.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return layers::UniqueFd();
      layers::UniqueFd dir(fd);
      if (::fchown(dir.get(), st.st_uid, st.st_gid) != 0 || ::fchmod(dir.get(), st.st_mode & 07777) != 0) {
        return layers::UniqueFd();
      }
      layers::CopyXattrs(like, dir.get(), parts[i]);
      char opaque[2] = {};
      if (::fgetxattr(like, "trusted.overlay.opaque", opaque, sizeof opaque) == 1) {
        ::fsetxattr(dir.get(), "trusted.overlay.opaque", opaque, 1, 0);
      }
      std::string rel;
      for (size_t k = 0; k <= i; ++k) rel += (k ? "/" : "") + parts[k];
      std::lock_guard<std::mutex> lock(made_mu);
      made.push_back(std::move(rel));
      fd = dir.Release();
    }
    up = layers::UniqueFd(fd);
    prev = std::move(next);
  }
  return up;
}

}  // namespace

std::optional<std::string> CopyLineage(const std::string& parent_snapshot, const frontend::PlannedStep& step,
                                       const frontend::CopyStep& c) {
  if (c.add || !c.from.empty() || c.link || parent_snapshot.empty()) return std::nullopt;
  std::ostringstream text;
  text << "imgbuild/copy-lineage/v1\nparent " << parent_snapshot << "\nworkdir " << step.workdir << "\nchown "
       << c.chown << "\nchmod " << c.chmod << "\nparents " << c.parents << "\n";
  for (const std::string& w : step.words) text << "word " << Escape(w) << "\n";
  for (const std::string& e : c.excludes) text << "exclude " << Escape(e) << "\n";
  for (const auto& [name, body] : c.heredocs) text << "heredoc " << Escape(name) << " " << Escape(body) << "\n";
  return std::string(layers::Digest::OfBytes(text.str()).hex());
}

std::optional<CopyManifest> CopyManifests::Load(const std::string& lineage) const {
  std::string text;
  try {
    text = layers::ReadFile(dir_ + "/" + lineage);
  } catch (const layers::SysError&) {
    return std::nullopt;
  }
  std::istringstream in(text);
  std::string line;
  CopyManifest m;
  if (!std::getline(in, line) || line != kHeader) return std::nullopt;
  if (!std::getline(in, line) || line.rfind("snapshot ", 0) != 0) return std::nullopt;
  m.snapshot = line.substr(9);
  while (std::getline(in, line)) {
    size_t t1 = line.find('\t'), t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos) return std::nullopt;  // torn
    std::optional<std::string> src = Unescape(std::string_view(line).substr(0, t1));
    std::optional<std::string> dst = Unescape(std::string_view(line).substr(t1 + 1, t2 - t1 - 1));
    CopiedFile f;
    std::istringstream nums(line.substr(t2 + 1));
    if (!src || !dst || !(nums >> f.stamp.dev >> f.stamp.ino >> f.stamp.size >> f.stamp.mtime_ns >> f.stamp.ctime_ns >>
                          f.stamp.mode >> f.stamp.uid >> f.stamp.gid)) {
      return std::nullopt;
    }
    // Destinations are canonical paths below the snapshot's root: anything else is not ours.
    if (dst->empty() || (*dst)[0] == '/' || CleanRelative(*dst) != *dst) return std::nullopt;
    f.src = std::move(*src);
    f.dst = std::move(*dst);
    m.files.push_back(std::move(f));
  }
  return m;
}

void CopyManifests::Save(const std::string& lineage, const std::string& snapshot,
                         const std::vector<CopiedFile>& files) const {
  const int64_t now = NowNs();
  std::string out = std::string(kHeader) + "\nsnapshot " + snapshot + "\n";
  for (const CopiedFile& f : files) {
    if (!S_ISREG(f.stamp.mode)) continue;
    cache::FileIdentity id{f.stamp.dev, f.stamp.ino, f.stamp.size, f.stamp.mtime_ns, f.stamp.ctime_ns};
    if (f.stamp.ctime_ns > now - cache::SettleNs(id, 2'000'000'000)) continue;
    const FileStamp& s = f.stamp;
    out += Escape(f.src) + "\t" + Escape(f.dst) + "\t" + std::to_string(s.dev) + " " + std::to_string(s.ino) + " " +
           std::to_string(s.size) + " " + std::to_string(s.mtime_ns) + " " + std::to_string(s.ctime_ns) + " " +
           std::to_string(s.mode) + " " + std::to_string(s.uid) + " " + std::to_string(s.gid) + "\n";
  }
  layers::MakeDirs(dir_);
  layers::WriteFileAtomic(dir_ + "/" + lineage, out, 0600, /*durable=*/false);  // a speed-up only
}

LinkedPrevious LinkPrevious(const CopyManifest& previous, const std::vector<std::string>& previous_dirs,
                            const std::string& upper) {
  layers::UniqueFd up(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::vector<layers::UniqueFd> prev_roots;
  std::vector<int> prev_fds;
  for (const std::string& d : previous_dirs) {
    prev_roots.emplace_back(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!prev_roots.back()) return {};
    prev_fds.push_back(prev_roots.back().get());
  }
  if (!up || prev_fds.empty()) return {};
  std::vector<const CopiedFile*> files;  // regular files (a manifest holds nothing else)
  for (const CopiedFile& f : previous.files) {
    if (S_ISREG(f.stamp.mode)) files.push_back(&f);
  }
  // Runs of files in one directory (the manifest is in copy order) are linked on every core.
  std::vector<std::pair<size_t, size_t>> runs;
  for (size_t i = 0; i < files.size();) {
    const std::string parent = files[i]->dst.substr(0, files[i]->dst.rfind('/') + 1);
    size_t j = i + 1;
    while (j < files.size() && files[j]->dst.compare(0, parent.size(), parent) == 0 &&
           files[j]->dst.find('/', parent.size()) == std::string::npos) {
      ++j;
    }
    runs.emplace_back(i, j);
    i = j;
  }
  std::vector<char> linked(files.size(), 0);
  LinkedPrevious out;
  std::mutex made_mu;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  layers::ForEach(runs.size(), cores, [&](size_t k) {
    auto [from, to] = runs[k];
    std::vector<std::string> parts = SplitPath(files[from]->dst);
    if (parts.empty()) return;
    layers::UniqueFd up_dir = MakeDirLike(up.get(), prev_fds, parts, parts.size() - 1, out.made_dirs, made_mu);
    if (!up_dir) return;
    // The directory in each previous change (stacked, top first); -1 where it is not.
    std::vector<layers::UniqueFd> prev_dirs;
    for (int root : prev_fds) {
      layers::UniqueFd d(::dup(root));
      for (size_t i = 0; d && i + 1 < parts.size(); ++i) {
        d = layers::UniqueFd(::openat(d.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      }
      prev_dirs.push_back(std::move(d));
    }
    for (size_t i = from; i < to; ++i) {
      const std::string& dst = files[i]->dst;
      const char* name = dst.c_str() + dst.rfind('/') + 1;
      for (const layers::UniqueFd& dir : prev_dirs) {  // the top-most entry of the name is the file
        struct stat was;
        if (!dir || ::fstatat(dir.get(), name, &was, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISREG(was.st_mode) && ::linkat(dir.get(), name, up_dir.get(), name, 0) == 0) linked[i] = 1;
        break;
      }
    }
  });
  for (size_t i = 0; i < files.size(); ++i) {
    if (linked[i]) out.files.emplace(files[i]->dst, InPlaceFile{files[i]->src, files[i]->stamp});
  }
  return out;
}

void RemoveUnreached(const LinkedPrevious& linked, const std::vector<CopiedFile>& copied, const std::string& upper) {
  std::set<std::string> reached;
  for (const CopiedFile& f : copied) reached.insert(f.dst);
  layers::RootDir root(upper);
  for (const auto& [dst, file] : linked.files) {
    if (reached.count(dst)) continue;
    layers::RootDir::Entry e = root.Parent(dst);
    if (::unlinkat(e.dir.get(), e.name.c_str(), 0) != 0 && errno != ENOENT) throw layers::SysError("unlink", upper + "/" + dst);
  }
  std::vector<std::string> dirs = linked.made_dirs;  // deepest first
  auto depth = [](const std::string& d) { return std::count(d.begin(), d.end(), '/'); };
  std::sort(dirs.begin(), dirs.end(), [&](const std::string& a, const std::string& b) { return depth(a) > depth(b); });
  for (const std::string& d : dirs) {
    if (reached.count(d)) continue;
    layers::RootDir::Entry e = root.Parent(d);
    if (::unlinkat(e.dir.get(), e.name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOTEMPTY && errno != EEXIST &&
        errno != ENOENT) {
      throw layers::SysError("rmdir", upper + "/" + d);
    }
  }
}

std::map<std::string, InPlaceFile> InPlace(const CopyManifest& previous) {
  std::map<std::string, InPlaceFile> out;
  for (const CopiedFile& f : previous.files) {
    if (S_ISREG(f.stamp.mode)) out.emplace(f.dst, InPlaceFile{f.src, f.stamp});
  }
  return out;
}

bool ReachedAll(const std::vector<std::string>& previous_dirs, const std::vector<CopiedFile>& copied) {
  std::set<std::string> reached;
  for (const CopiedFile& f : copied) reached.insert(f.dst);
  for (const layers::WalkEntry& e : layers::WalkMerged(previous_dirs)) {
    if (!reached.count(e.rel)) return false;
  }
  return true;
}

}  // namespace imgbuild::builder
