#include "builder/ops/remote_source.h"

#include "layers/registry/url.h"

#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "layers/applier.h"
#include "layers/subprocess.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The URL without its #fragment, and the fragment.
std::pair<std::string, std::string> SplitFragment(const std::string& source) {
  size_t hash = source.find('#');
  if (hash == std::string::npos) return {source, ""};
  return {source.substr(0, hash), source.substr(hash + 1)};
}

// The path of an http(s) URL (no query, no fragment), by libcurl's URL parser.
std::string UrlPath(const std::string& url) { return layers::registry::UrlPathOf(url); }

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

// A digest of the --checksum's algorithm, fed as the body arrives.
class ChecksumHasher {
 public:
  explicit ChecksumHasher(const std::string& checksum) : want_(checksum) {
    if (checksum.empty()) return;
    std::string algo = checksum.substr(0, checksum.find(':'));
    const EVP_MD* md = algo == "sha256" ? EVP_sha256() : algo == "sha384" ? EVP_sha384() : algo == "sha512" ? EVP_sha512() : nullptr;
    if (!md) throw RemoteError("unsupported --checksum algorithm \"" + algo + "\"");
    ctx_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx_, md, nullptr);
    algo_ = algo;
  }
  ~ChecksumHasher() {
    if (ctx_) EVP_MD_CTX_free(ctx_);
  }
  void Update(std::string_view b) {
    if (ctx_) EVP_DigestUpdate(ctx_, b.data(), b.size());
  }
  // "" when the checksum matches (or none was asked for), else the digest the bytes have.
  std::string Mismatch() {
    if (!ctx_) return "";
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    std::string got = algo_ + ":" + Hex(out, len);
    return got == want_ ? "" : got;
  }

 private:
  std::string want_, algo_;
  EVP_MD_CTX* ctx_ = nullptr;
};

// RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the form servers send.
std::optional<int64_t> ParseHttpDate(const std::string& text) {
  struct tm tm = {};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end) return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm));
}

// filename="x" or filename=x of a Content-Disposition header, without any directory part.
std::string DispositionName(const std::string& header) {
  size_t at = header.find("filename=");
  if (at == std::string::npos) return "";
  std::string v = header.substr(at + 9);
  if (!v.empty() && v[0] == '"') {
    size_t close = v.find('"', 1);
    v = v.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  } else {
    v = v.substr(0, v.find(';'));
  }
  size_t slash = v.find_last_of("/\\");
  if (slash != std::string::npos) v = v.substr(slash + 1);
  return v == "." || v == ".." ? "" : v;
}

std::string MemoDir(const std::string& cache_dir, const std::string& url) {
  return cache_dir + "/http/" + std::string(layers::Digest::OfBytes(url).hex());
}

void RequireNetwork(const RemoteOptions& options, const std::string& source) {
  if (!options.network) {
    throw RemoteError(source + ": remote sources need the network, and this build has none (--network=none)");
  }
}

std::string ShortOutput(const layers::ProgramResult& r) {
  std::string s = r.err.empty() ? r.out : r.err;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

// git ARGS; throws RemoteError naming `what` with git's own message.
std::string Git(const std::vector<std::string>& args, const std::string& what) {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  layers::ProgramResult r;
  try {
    // No prompts (a private repository fails instead of waiting for a password), no user or
    // system configuration that could change what a commit checks out as.
    r = layers::RunProgram(argv, "", {"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
                                      "GIT_ASKPASS=", "SSH_ASKPASS=", "LC_ALL=C"});
  } catch (const layers::SysError& e) {
    throw RemoteError(what + ": cannot run git (" + e.what() + "); install Debian's git package");
  }
  if (r.exit_code != 0) throw RemoteError(what + ": " + ShortOutput(r));
  return r.out;
}

bool IsHex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

int64_t g_commit_time = 0;  // for SetTimes (nftw has no user data); guarded by g_times_mu
std::mutex g_times_mu;

int SetTime(const char* path, const struct stat*, int, struct FTW*) {
  struct timespec times[2] = {{g_commit_time, 0}, {g_commit_time, 0}};
  ::utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
  return 0;
}

// Every file's mtime set to `t`, directories last (depth first), so a commit gives one layer.
void SetTimes(const std::string& dir, int64_t t) {
  std::lock_guard<std::mutex> lock(g_times_mu);
  g_commit_time = t;
  ::nftw(dir.c_str(), SetTime, 64, FTW_PHYS | FTW_DEPTH);
}

}  // namespace

SourceKind ClassifySource(const std::string& source) {
  auto [url, fragment] = SplitFragment(source);
  if (StartsWith(url, "git@") || StartsWith(url, "git://") || StartsWith(url, "ssh://")) return SourceKind::kGit;
  if (StartsWith(url, "http://") || StartsWith(url, "https://")) {
    std::string path = UrlPath(url);
    return path.size() > 4 && path.compare(path.size() - 4, 4, ".git") == 0 ? SourceKind::kGit : SourceKind::kHttp;
  }
  return SourceKind::kLocal;
}

GitSource ParseGitSource(const std::string& source) {
  if (ClassifySource(source) != SourceKind::kGit) throw std::invalid_argument(source + " is not a Git source");
  auto [url, fragment] = SplitFragment(source);
  GitSource g;
  g.remote = url;
  size_t colon = fragment.find(':');
  g.ref = fragment.substr(0, colon);
  if (colon != std::string::npos) g.subdir = fragment.substr(colon + 1);
  while (!g.subdir.empty() && g.subdir.back() == '/') g.subdir.pop_back();
  while (!g.subdir.empty() && g.subdir.front() == '/') g.subdir.erase(0, 1);
  for (size_t start = 0; start <= g.subdir.size();) {
    size_t slash = g.subdir.find('/', start);
    if (slash == std::string::npos) slash = g.subdir.size();
    if (g.subdir.compare(start, slash - start, "..") == 0 && slash - start == 2) {
      throw std::invalid_argument(source + ": the subdirectory may not contain ..");
    }
    start = slash + 1;
  }
  if (!g.ref.empty() && (g.ref[0] == '-' || g.ref.find("..") != std::string::npos)) {
    throw std::invalid_argument(source + ": invalid ref \"" + g.ref + "\"");
  }
  return g;
}

std::string UrlFileName(const std::string& url) {
  std::string path = UrlPath(url);
  while (!path.empty() && path.back() == '/') path.pop_back();
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base == "." || base == ".." ? "" : base;  // never a name that leaves its directory
}

FetchedFile FetchHttp(const std::string& url, const std::string& checksum, const RemoteOptions& options) {
  RequireNetwork(options, url);
  std::string dir = MemoDir(options.cache_dir, url);
  layers::MakeDirs(dir, 0700);
  nlohmann::json memo;
  try {
    memo = nlohmann::json::parse(layers::ReadFile(dir + "/meta.json"));
    if (memo.value("version", 0) != 1 || memo.value("url", "") != url) memo = nullptr;
  } catch (const std::exception&) {
    memo = nullptr;
  }
  FetchedFile f;
  std::optional<layers::Digest> known;
  if (memo.is_object()) {
    try {
      known = layers::Digest::Parse(memo.value("digest", ""));
      struct stat st;
      if (::stat((dir + "/" + std::string(known->hex())).c_str(), &st) != 0) known.reset();
    } catch (const std::exception&) {
      known.reset();
    }
  }
  layers::registry::HttpRequest req;
  req.url = url;
  if (known) {
    if (!memo.value("etag", "").empty()) req.headers.push_back("If-None-Match: " + memo.value("etag", ""));
    if (!memo.value("last_modified", "").empty()) {
      req.headers.push_back("If-Modified-Since: " + memo.value("last_modified", ""));
    }
  }
  std::string tmp = dir + "/.download-" + std::to_string(::getpid()) + "-" +
                    std::to_string(reinterpret_cast<uintptr_t>(&f));
  layers::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw layers::SysError("create", tmp);
  struct Cleanup {
    std::string path;
    ~Cleanup() { ::unlink(path.c_str()); }
  } cleanup{tmp};
  layers::Sha256 sha;
  ChecksumHasher check(checksum);
  int64_t size = 0;
  req.sink = [&](std::string_view b) {
    layers::WriteAll(fd.get(), b.data(), b.size(), tmp);
    sha.Update(b);
    check.Update(b);
    size += static_cast<int64_t>(b.size());
  };
  layers::registry::HttpResponse resp;
  try {
    resp = layers::registry::Perform(req, options.tls);
  } catch (const layers::registry::HttpError& e) {
    throw RemoteError(url + ": " + e.what());
  }
  if (resp.status == 304 && known) {
    f.digest = *known;
    f.size = memo.value("size", int64_t{0});
    f.path = dir + "/" + std::string(known->hex());
    if (!checksum.empty()) {
      ChecksumHasher again(checksum);
      layers::ReadChunks(f.path, [&](std::string_view b) { again.Update(b); });
      if (std::string got = again.Mismatch(); !got.empty()) {
        throw RemoteError(url + ": checksum mismatch: --checksum=" + checksum + ", the content has " + got);
      }
    }
  } else if (resp.status >= 200 && resp.status < 300) {
    if (std::string got = check.Mismatch(); !got.empty()) {
      throw RemoteError(url + ": checksum mismatch: --checksum=" + checksum + ", the content has " + got);
    }
    if (::fsync(fd.get()) != 0) throw layers::SysError("fsync", tmp);
    fd.Reset();
    f.digest = sha.Finish();
    f.size = size;
    f.path = dir + "/" + std::string(f.digest.hex());
    ::chmod(tmp.c_str(), 0400);
    if (::rename(tmp.c_str(), f.path.c_str()) != 0) throw layers::SysError("rename", tmp);
    f.downloaded = true;
    memo = {{"version", 1},
            {"url", url},
            {"digest", f.digest.str()},
            {"size", f.size},
            {"etag", resp.Header("etag")},
            {"last_modified", resp.Header("last-modified")},
            {"disposition", resp.Header("content-disposition")}};
    layers::WriteFileAtomic(dir + "/meta.json", memo.dump());
    // Earlier versions of this URL are not needed any more.
    for (const std::string& n : layers::ListDir(dir)) {
      if (n != "meta.json" && n != std::string(f.digest.hex()) && n[0] != '.') ::unlink((dir + "/" + n).c_str());
    }
  } else {
    std::string reason = resp.status == 404 ? " (not found)" : "";
    throw RemoteError(url + ": the server answered HTTP " + std::to_string(resp.status) + reason);
  }
  f.name = UrlFileName(url);
  if (f.name.empty()) f.name = DispositionName(memo.value("disposition", ""));
  if (f.name.empty()) f.name = "__unnamed__";
  if (auto t = ParseHttpDate(memo.value("last_modified", ""))) f.mtime = *t;
  return f;
}

std::string ResolveGit(const GitSource& source, const std::string& checksum, const RemoteOptions& options) {
  RequireNetwork(options, source.remote);
  std::string mirror = options.cache_dir + "/git/" + std::string(layers::Digest::OfBytes(source.remote).hex());
  struct stat st;
  if (::stat((mirror + "/HEAD").c_str(), &st) != 0) {
    layers::MakeDirs(options.cache_dir + "/git", 0700);
    std::string tmp = mirror + ".tmp-" + std::to_string(::getpid());
    Git({"init", "--quiet", "--bare", tmp}, "git init");
    if (::rename(tmp.c_str(), mirror.c_str()) != 0 && errno != ENOTEMPTY && errno != EEXIST) {
      throw layers::SysError("rename", tmp);
    }
  }
  // The ref as a branch or tag of the remote, else a commit fetched by its id.
  std::string want = source.ref.empty() ? "HEAD" : source.ref;
  std::string commit;
  std::string listed = Git({"ls-remote", "--", source.remote, want, "refs/tags/" + want + "^{}"}, "git ls-remote " + source.remote);
  std::string peeled, direct;
  for (size_t start = 0; start < listed.size();) {
    size_t nl = listed.find('\n', start);
    std::string line = listed.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? listed.size() : nl + 1;
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string id = line.substr(0, tab), name = line.substr(tab + 1);
    if (name.size() > 3 && name.compare(name.size() - 3, 3, "^{}") == 0) {
      peeled = id;
    } else if (direct.empty() && (name == want || name == "refs/heads/" + want || name == "refs/tags/" + want)) {
      direct = id;
    }
  }
  commit = !peeled.empty() ? peeled : direct;
  std::string fetch_ref = commit.empty() ? want : commit;
  bool have = false;
  if (!commit.empty()) {
    // Fetched by an earlier build: nothing to download.
    try {
      Git({"--git-dir", mirror, "cat-file", "-e", commit + "^{commit}"}, "git cat-file");
      have = true;
    } catch (const RemoteError&) {
    }
  }
  if (commit.empty() && !(IsHex(want) && want.size() >= 7)) {
    throw RemoteError(source.remote + ": no branch, tag or commit named \"" + want + "\"");
  }
  if (!have) {
    try {
      Git({"--git-dir", mirror, "fetch", "--quiet", "--depth", "1", "--no-tags", "--", source.remote, fetch_ref},
          "git fetch " + source.remote + " " + fetch_ref);
      commit = Git({"--git-dir", mirror, "rev-parse", "--verify", "FETCH_HEAD^{commit}"}, "git rev-parse");
    } catch (const RemoteError&) {
      // Servers that cannot fetch one commit shallowly (git's dumb HTTP, no fetching by id): all
      // branches and tags, then the ref among them.
      Git({"--git-dir", mirror, "fetch", "--quiet", "--", source.remote, "+refs/heads/*:refs/heads/*",
           "+refs/tags/*:refs/tags/*"},
          "git fetch " + source.remote);
      commit = Git({"--git-dir", mirror, "rev-parse", "--verify", (commit.empty() ? want : commit) + "^{commit}"},
                   source.remote + ": no branch, tag or commit named \"" + want + "\"");
    }
  }
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == ' ')) commit.pop_back();
  if (!checksum.empty() && commit.rfind(checksum, 0) != 0) {
    throw RemoteError(source.remote + "#" + want + ": checksum mismatch: the ref is commit " + commit +
                      ", --checksum=" + checksum);
  }
  // Keep the commit reachable in the mirror (a later fetch of another ref moves FETCH_HEAD).
  if (!have) Git({"--git-dir", mirror, "update-ref", "refs/imgbuild/" + commit, commit}, "git update-ref");
  return commit;
}

std::string CheckoutGit(const GitSource& source, const std::string& commit, bool keep_git_dir,
                        const std::string& scratch, const RemoteOptions& options) {
  std::string mirror = options.cache_dir + "/git/" + std::string(layers::Digest::OfBytes(source.remote).hex());
  std::string work = scratch + "/checkout";
  // A throwaway clone of the mirror, checked out at the commit. No hooks or filters run: the
  // clone's configuration is git's default one.
  Git({"clone", "--quiet", "--no-checkout", "--no-hardlinks", "--", mirror, work}, "git clone");
  Git({"-C", work, "-c", "advice.detachedHead=false", "checkout", "--quiet", commit}, "git checkout " + commit);
  std::string time_text = Git({"-C", work, "show", "-s", "--format=%ct", commit}, "git show");
  if (keep_git_dir) {
    Git({"-C", work, "remote", "set-url", "origin", source.remote}, "git remote");
  } else {
    std::filesystem::remove_all(work + "/.git");
  }
  SetTimes(work, std::atoll(time_text.c_str()));
  // The subdir, walked one real directory at a time: a symlink in the repository never leads out.
  std::string tree = work;
  for (size_t start = 0; start < source.subdir.size();) {
    size_t slash = source.subdir.find('/', start);
    if (slash == std::string::npos) slash = source.subdir.size();
    std::string part = source.subdir.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    tree += "/" + part;
    struct stat st;
    if (::lstat(tree.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw RemoteError(source.remote + "#" + source.ref + ":" + source.subdir + ": no directory " + source.subdir +
                        " in commit " + commit);
    }
  }
  return tree;
}

std::string FetchContext(const std::string& url, const std::string& scratch, const RemoteOptions& options) {
  SourceKind kind = ClassifySource(url);
  if (kind == SourceKind::kGit) {
    GitSource g = ParseGitSource(url);
    return CheckoutGit(g, ResolveGit(g, "", options), false, scratch, options);
  }
  if (kind != SourceKind::kHttp) throw RemoteError(url + ": not an http(s) or Git URL");
  FetchedFile f = FetchHttp(url, "", options);
  if (!layers::LooksLikeTar(f.path)) throw RemoteError(url + ": a remote build context must be a tar archive or a Git repository");
  std::string dir = scratch + "/context";
  layers::MakeDirs(dir);
  layers::ApplyOptions plain;
  plain.overlay_format = false;
  plain.whiteouts = false;
  try {
    layers::ApplyLayer(f.path, dir, plain);
  } catch (const std::exception& e) {
    throw RemoteError(url + ": " + e.what());
  }
  return dir;
}

}  // namespace imgbuild::builder
