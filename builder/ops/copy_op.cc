#include "builder/ops/copy_op.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/ops/copy_reuse.h"
#include "builder/ops/metadata_op.h"
#include "builder/rootfs/file_owner.h"
#include "builder/rootfs/rootfs_path.h"
#include "layers/applier.h"
#include "layers/root_dir.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {

using frontend::PlannedStep;

namespace {

// Thrown out of an incremental COPY whose copy failed: a source that became a file or a symlink
// where the previous result has a directory cannot be copied over it, so the step starts again
// from scratch (where a real error is then reported as usual).
struct FromScratch {};
// A copy stacked on its previous result left some of it unreached (deleted sources): made again
// with the previous files linked, where the unreached ones are removed.
struct Relink {};
// At most this many directories in one COPY snapshot's stack (each rebuild adds one; deeper stacks
// slow every later step's lookups): past it, the previous result is linked into a flat one.
constexpr size_t kMaxCopyStack = 8;

bool IsArchive(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return layers::LooksLikeTar(path);
}

}  // namespace

void CopyKeyFields(const PlannedStep& step, const frontend::CopyStep& c, const StepKeyInputs& in, StepKey& out) {
  KeyFields& f = out.fields;
  f.emplace_back("sources and destination", KeyJson(step.words));
  f.emplace_back("workdir", step.workdir);
  // The flags in the order (and with the names) keys have always had them.
  if (!c.checksum.empty()) f.emplace_back("--checksum", c.checksum);
  if (!c.chmod.empty()) f.emplace_back("--chmod", c.chmod);
  if (!c.chown.empty()) f.emplace_back("--chown", c.chown);
  if (!c.excludes.empty()) {
    std::string joined;
    for (const std::string& e : c.excludes) joined += (joined.empty() ? "" : "\n") + e;
    f.emplace_back("--exclude", joined);
  }
  if (!c.from.empty()) f.emplace_back("--from", FromKeyText(in, c.from));
  if (c.link) f.emplace_back("--link", "true");
  if (c.parents) f.emplace_back("--parents", "true");
  if (c.unpack) f.emplace_back("--unpack", *c.unpack ? "true" : "false");
  if (c.keep_git_dir) f.emplace_back("--keep-git-dir", "true");
  for (const auto& [source, resolved] : in.remote_inputs) f.emplace_back("source " + source, resolved);
  for (const auto& [name, content] : c.heredocs) f.emplace_back("heredoc " + name, content);
  if (in.copy_inputs) {
    f.emplace_back("content", in.copy_inputs->digest.str());
    out.files = in.copy_inputs->files;
    out.files_path = in.copy_inputs->files_path;
  }
}

KeyFields WorkdirKeyFields(const PlannedStep& step) {
  KeyFields f = {{"path", step.workdir}};
  if (!step.user.empty()) f.emplace_back("user", step.user);  // who owns what it creates
  return f;
}

CopyRequest LocalCopyRequest(const PlannedStep& step, const frontend::CopyStep& c, const std::string& src_root,
                             const frontend::IgnoreMatcher* ignore) {
  CopyRequest r;
  r.src_root = src_root;
  r.ignore = ignore;
  for (const std::string& src : c.sources) {
    // Remote sources are fetched apart (and count in keys by what they resolve to).
    if (ClassifySource(src) == SourceKind::kLocal) r.sources.push_back(src);
  }
  r.heredocs = c.heredocs;
  r.dest = c.dest;
  r.workdir = step.workdir;
  r.chown = c.chown;
  r.chmod = c.chmod;
  r.excludes = c.excludes;
  r.parents = c.parents;
  r.keep_owner = !c.from.empty();  // another stage's files keep their owner, as in BuildKit
  return r;
}

std::string CopyOp::Exec(const PlannedStep& step, const frontend::CopyStep& c, StageImage& img) {
  std::vector<std::string> remote;
  for (const std::string& src : c.sources) {
    if (ClassifySource(src) == SourceKind::kLocal) continue;
    if (!c.add) env_.Fail(step, "source can't be a URL or a Git repository for COPY (use ADD): " + src);
    remote.push_back(src);
  }
  Sources::Keep keep;
  CopyRequest r = c.from.empty() ? LocalCopyRequest(step, c, env_.req.context_dir, &ignore_)
                                 : LocalCopyRequest(step, c, sources_.Root(c.from, step.stage, keep), sources_.ContextIgnore(c.from));
  std::string detail;
  // Incremental COPY (copy_reuse.h): a cached step on overlay starts from its previous result.
  std::optional<std::string> lineage;
  if (remote.empty() && !img.commit_as.empty() && env_.snaps->kind() == "overlay") lineage = CopyLineage(img.snapshot, step, c);
  CopyManifests manifests(env_.state.copy_manifests());
  std::optional<CopyManifest> previous = lineage && img.reuse ? manifests.Load(*lineage) : std::nullopt;
  if (previous && !env_.snaps->Exists(previous->snapshot)) previous.reset();
  // Stacked on the previous result while that stack is shallow (only the change is written);
  // else, or when the stacked copy did not reach all of it, the previous files are linked.
  std::vector<std::string> previous_dirs;
  if (previous) previous_dirs = env_.snaps->LayerDirs(previous->snapshot);
  bool stacked = previous && previous_dirs.size() < kMaxCopyStack;
  LinkedPrevious linked;
  std::map<std::string, InPlaceFile> in_place;
  std::vector<CopiedFile> copied;
  if (lineage) r.copied = &copied;
  auto prepare = [&](const std::string& upper) {
    r.in_place = nullptr;
    if (!previous) return;
    if (stacked) {
      in_place = InPlace(*previous);
      r.in_place = &in_place;
      return;
    }
    linked = LinkPrevious(*previous, previous_dirs, upper);
    if (!linked.files.empty()) r.in_place = &linked.files;
  };
  auto finish = [&](const std::string& upper) {
    if (r.in_place && !stacked) RemoveUnreached(linked, copied, upper);
  };
  std::optional<SnapshotView> base_view;  // for --chown names under --link
  if (c.link && !r.chown.empty()) {
    base_view.emplace(env_, img.snapshot);
    r.passwd_root = base_view->path();
  }
  // Big files of the build context get their bytes as the layer is hashed (pending_fills.h).
  layers::PendingFills fills;
  auto fill = [&](const std::string& root) {
    r.lower_root = root;
    r.upper = root;
    fills.Clear();
    r.fills = c.from.empty() && !c.link && env_.snaps->kind() == "overlay" ? &fills : nullptr;
    for (const std::string& src : remote) AddRemote(step, c, src, r);
    if (!remote.empty() && r.sources.empty() && r.heredocs.empty()) {
      detail = std::to_string(remote.size()) + " remote source" + (remote.size() > 1 ? "s" : "");
      return;
    }
    if (c.add && c.unpack.value_or(true)) {
      // Local archives are unpacked (detected by content), everything else is copied.
      // The archive is found inside the source (symlinks followed there only) and read through
      // the descriptor that found it; an ignored file is left to the copy, which reports it.
      // A pattern's matches are looked at one by one (`ADD sub/* /sub/` unpacks the archives it
      // matches, as BuildKit); a pattern that matches no archive stays a pattern.
      std::vector<std::string> plain;
      layers::RootDir src_root(r.src_root);
      for (const std::string& src : r.sources) {
        std::vector<std::string> names{src};
        if (HasGlob(src)) {
          CopyRequest one = r;
          one.sources = {src};
          names = MatchSources(one);
        }
        std::vector<std::string> rest;
        for (const std::string& name : names) {
          std::string rel = src_root.Resolve(CleanRelative(name));
          int fd = (r.ignore && r.ignore->Excluded(rel)) ? -1 : src_root.TryOpen(rel, O_RDONLY | O_NONBLOCK);
          layers::UniqueFd archive(fd);
          if (archive && IsArchive(layers::RootDir::FdPath(archive.get()))) {
            AddArchive(step, layers::RootDir::FdPath(archive.get()), r, name);
          } else {
            rest.push_back(name);
          }
        }
        if (HasGlob(src) && rest.size() == names.size()) {
          plain.push_back(src);
        } else {
          plain.insert(plain.end(), rest.begin(), rest.end());
        }
      }
      r.sources = plain;
      if (r.sources.empty() && r.heredocs.empty()) {
        detail = "unpacked";
        return;
      }
    }
    try {
      CopyStats stats = Copy(r);
      detail = std::to_string(stats.files) + " files, " + std::to_string(stats.bytes) + " bytes";
      if (r.in_place) detail += ", " + std::to_string(stats.files - stats.kept) + " changed";
    } catch (const CopyError& e) {
      if (r.in_place) throw FromScratch();
      env_.Fail(step, e.what());
    }
    if (stacked && !ReachedAll(previous_dirs, copied)) throw Relink();
  };
  std::string created_by = step.keyword + (c.link ? " --link " : " ") + Join(step.words) + " # buildkit";
  if (c.link) {
    LinkedLayerStep(env_, img, created_by, fill);
  } else {
    for (;;) {
      try {
        LayerStep(env_, img, created_by, fill, prepare, finish, stacked ? previous->snapshot : "", &fills);
        break;
      } catch (const Relink&) {
        stacked = false;
      } catch (const FromScratch&) {
        stacked = false;
        previous.reset();
      }
      copied.clear();
    }
    if (lineage) manifests.Save(*lineage, img.snapshot, copied);
  }
  return detail;
}


RemoteOptions CopyOp::Remote() {
  RemoteOptions o;
  o.cache_dir = env_.state.remote();
  o.tmp_dir = env_.ws.NewDir("remote-");
  o.network = env_.req.network != "none";
  o.tls.verify = env_.req.tls_verify;
  return o;
}

// What each of ADD's remote sources resolves to now: the content digest of a URL (fetched, or
// found unchanged by a conditional request), the commit of a Git ref. Remembered for the build,
// so the step runs with exactly what its key covers.
std::vector<std::pair<std::string, std::string>> CopyOp::RemoteInputs(const PlannedStep& step,
                                                              const frontend::CopyStep& c) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string& checksum = c.checksum;
  for (const std::string& src : c.sources) {
    SourceKind kind = ClassifySource(src);
    if (kind == SourceKind::kLocal) continue;
    std::lock_guard<std::mutex> lock(remote_mu_);
    auto it = remote_.find(src + "\n" + checksum);
    if (it == remote_.end()) {
      Resolved res;
      try {
        if (kind == SourceKind::kHttp) {
          res.file = FetchHttp(src, checksum, Remote());
          res.id = res.file->digest.str();
        } else {
          res.git = ParseGitSource(src);
          res.commit = ResolveGit(*res.git, checksum, Remote());
          res.id = "commit " + res.commit;
        }
      } catch (const std::exception& e) {
        env_.Fail(step, e.what());
      }
      it = remote_.emplace(src + "\n" + checksum, std::move(res)).first;
    }
    out.emplace_back(src, it->second.id);
  }
  return out;
}

// One remote source into the step's snapshot, through the ordinary copy (so the destination,
// --chown and --chmod rules are COPY's): a URL as one file (mode 0600, mtime from
// Last-Modified; an archive unpacked only with --unpack), a Git commit as its tree.
void CopyOp::AddRemote(const PlannedStep& step, const frontend::CopyStep& c, const std::string& src,
                       const CopyRequest& base) {
  const bool unpack = c.unpack.value_or(false);
  Resolved res;
  {
    std::lock_guard<std::mutex> lock(remote_mu_);
    res = remote_.at(src + "\n" + c.checksum);
  }
  CopyRequest r = base;
  r.fills = nullptr;  // the scratch copy is gone before the layer is hashed
  r.ignore = nullptr;
  r.keep_owner = false;
  r.heredocs.clear();
  r.excludes.clear();
  std::string scratch = env_.ws.NewDir("remote-");
  try {
    if (res.file) {
      std::string staged = scratch + "/" + res.file->name;
      layers::UniqueFd in(::open(res.file->path.c_str(), O_RDONLY | O_CLOEXEC));
      layers::UniqueFd out(::open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!in || !out) throw layers::SysError("copy", res.file->path);
      layers::ReadChunks(res.file->path, [&](std::string_view b) { layers::WriteAll(out.get(), b.data(), b.size(), staged); });
      ::fchmod(out.get(), 0600);
      if (res.file->mtime) {
        struct timespec t[2] = {{*res.file->mtime, 0}, {*res.file->mtime, 0}};
        ::futimens(out.get(), t);
      }
      if (unpack && IsArchive(staged)) {
        AddArchive(step, staged, r, res.file->name);
        return;
      }
      r.src_root = scratch;
      r.sources = {res.file->name};
    } else {
      r.src_root = CheckoutGit(*res.git, res.commit, c.keep_git_dir, scratch, Remote());
      r.sources = {"."};
    }
    Copy(r);
  } catch (const CopyError& e) {
    env_.Fail(step, e.what());
  } catch (const RemoteError& e) {
    env_.Fail(step, e.what());
  }
}

void CopyOp::AddArchive(const PlannedStep& step, const std::string& archive, const CopyRequest& r,
                        const std::string& shown) {
  std::string dest = r.dest;
  if (dest.empty() || dest[0] != '/') dest = r.workdir + "/" + dest;
  dest = frontend::CleanSlashPath(dest);  // `/link/..` is `/` before any link is followed
  CopyRequest mk = r;
  mk.fills = nullptr;
  mk.sources.clear();
  mk.heredocs.clear();
  mk.dest = dest + "/";
  mk.src_root = r.upper;
  Copy(mk);  // creates the destination directory
  std::string rel = layers::RootDir(r.lower_root).Resolve(dest);
  layers::ApplyOptions plain;
  plain.overlay_format = false;
  plain.whiteouts = false;  // an archive's files are data: a .wh. entry deletes nothing
  plain.resolve_in_root = true;
  try {
    // --chown owns every unpacked entry (current BuildKit), looked up in the image.
    if (!r.chown.empty()) {
      Owner o = ResolveOwner(r.chown, r.passwd_root.empty() ? r.lower_root : r.passwd_root);
      plain.owner = std::make_pair(static_cast<uint32_t>(o.uid), static_cast<uint32_t>(o.gid));
    }
    layers::ApplyLayer(archive, r.upper + "/" + rel, plain);
  } catch (const std::exception& e) {
    env_.Fail(step, "unpacking " + (shown.empty() ? archive : shown) + ": " + e.what());
  }
}

// WORKDIR creates the directory when the image lacks it, as a layer of its own, owned by the USER.
std::string ExecWorkdir(BuildEnv& env_, const PlannedStep& step, StageImage& img) {
  {
    SnapshotView view(env_, img.snapshot);
    layers::RootDir root(view.path());
    struct stat st;
    if (root.Stat(step.workdir, &st, /*follow_last=*/true)) {
      img.History(env_.created, "WORKDIR " + step.workdir, true);
      return "exists";
    }
  }
  LayerStep(env_, img, "WORKDIR " + step.workdir, [&](const std::string& root) {
    CopyRequest r;
    r.src_root = root;
    r.lower_root = root;
    r.upper = root;
    // An empty copy into the path creates it and its missing parents, owned by the USER in
    // effect (BuildKit makes the directory as that user).
    r.dest = step.workdir + "/";
    r.chown = step.user;
    try {
      Copy(r);
    } catch (const CopyError& e) {
      env_.Fail(step, e.what());
    }
  });
  return "created";
}

}  // namespace imgbuild::builder
