#include "layers/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <vector>

#include "layers/error.h"
#include "layers/parallel_gzip.h"
#include "layers/layer_walk.h"
#include "layers/tar_names.h"
#include "layers/tar_xattrs.h"

namespace imgbuild::layers {
namespace {

// Bytes of the tar stream -> diff_id hash, then the codec, then the blob writer.
class LayerSink {
 public:
  using Output = std::function<void(std::string_view)>;
  LayerSink(const LayerOptions& options, Output out) : options_(options), out_(std::move(out)) {
    if (options.compression == Compression::kGzip) {
      gz_ = std::make_unique<ParallelGzip>(options.level < 0 ? 6 : options.level, out_);
    } else if (options.compression == Compression::kZstd) {
      zstd_ = ZSTD_createCCtx();
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, options.level < 0 ? 3 : options.level);
      long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
      if (cores > 1) ZSTD_CCtx_setParameter(zstd_, ZSTD_c_nbWorkers, static_cast<int>(cores));
    }
  }
  ~LayerSink() {
    if (zstd_) ZSTD_freeCCtx(zstd_);
  }

  void Write(const void* data, size_t size) {
    diff_.Update(std::string_view(static_cast<const char*>(data), size));
    Compress(data, size, false);
  }

  Digest Finish() {
    Compress(nullptr, 0, true);
    return diff_.Finish();
  }
  MarkedSha256& hash() { return diff_; }

 private:
  void Compress(const void* data, size_t size, bool finish) {
    if (options_.compression == Compression::kUncompressed) {
      if (size) out_(std::string_view(static_cast<const char*>(data), size));
      return;
    }
    if (gz_) {
      if (size) gz_->Write(static_cast<const char*>(data), size);
      if (finish) gz_->Finish();
      return;
    }
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer out{buf_, sizeof buf_, 0};
      size_t left = ZSTD_compressStream2(zstd_, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(left)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(left));
      out_(std::string_view(buf_, out.pos));
      if (finish ? left == 0 : in.pos == in.size) break;
    }
  }

  const LayerOptions& options_;
  Output out_;
  MarkedSha256 diff_;
  std::unique_ptr<ParallelGzip> gz_;
  ZSTD_CCtx* zstd_ = nullptr;
  char buf_[1 << 17];
};

// libarchive's write callback: an error (disk full) is handed back as libarchive's error, so the
// message says why ("No space left on device"), not just that a write failed.
la_ssize_t ArchiveWrite(struct archive* a, void* client, const void* buffer, size_t length) {
  try {
    static_cast<LayerSink*>(client)->Write(buffer, length);
    return static_cast<la_ssize_t>(length);
  } catch (const SysError& e) {
    archive_set_error(a, e.error(), "%s", e.what());
  } catch (const std::exception& e) {
    archive_set_error(a, EIO, "%s", e.what());
  } catch (...) {
    archive_set_error(a, EIO, "layer sink failed");
  }
  return -1;
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

bool IsOpaque(const std::string& path) {
  char v[2];
  ssize_t n = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

class TarBuilder {
 public:
  // `layer`: the tar is an image layer, where `.wh.` names mean deletions (a rootfs tar is not).
  // `fills`: files of the top directory (WalkEntry::dir 0) whose bytes are still to be written.
  // `unblocked`: every byte reaches the sink as soon as it is written (with FinishEntry, the stream
  // ends at an entry boundary between entries: where hash marks are taken); the same bytes.
  TarBuilder(LayerSink& sink, const LayerOptions& options, bool layer, PendingFills* fills = nullptr,
             bool unblocked = false)
      : options_(options), layer_(layer), fills_(fills) {
    a_.reset(archive_write_new());
    archive_write_set_format_pax_restricted(a_.get());
    archive_write_add_filter_none(a_.get());
    if (unblocked) archive_write_set_bytes_per_block(a_.get(), 0);
    archive_write_set_bytes_in_last_block(a_.get(), 1);
    if (archive_write_open(a_.get(), &sink, nullptr, ArchiveWrite, nullptr) != ARCHIVE_OK) Fail("open");
  }

  void Add(const std::string& root, const WalkEntry& entry) {
    const std::string& rel = entry.rel;
    const struct stat& st = entry.st;
    std::string path = root + "/" + rel;
    size_t slash = rel.find_last_of('/');
    std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);

    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      // An overlay whiteout becomes an empty .wh.<name> file.
      Header(parent + ".wh." + base, S_IFREG | 0644, st, 0, nullptr);
      return;
    }
    if (layer_ && base.rfind(".wh.", 0) == 0) {
      // A file really named .wh.X (from an archive, or made by RUN) would delete X, or empty its
      // directory, in every image built on this layer: OCI layers cannot hold such a name.
      std::string effect = base == ".wh..wh..opq" ? "empty /" + parent : "delete /" + parent + base.substr(4);
      throw Error("/" + rel + ": names starting with \".wh.\" are reserved for whiteouts in image layers "
                  "and cannot be stored (it would " + effect + " in the image)");
    }
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), S_ISDIR(st.st_mode) ? (rel + "/").c_str() : rel.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), Mtime(st), 0);
    AddXattrs(e.get(), path);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = links_.find(key);
      if (it != links_.end()) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        WriteHeader(e.get(), rel);
        return;
      }
      links_[key] = rel;
    }
    if (S_ISREG(st.st_mode)) {
      archive_entry_set_size(e.get(), st.st_size);
    } else if (S_ISLNK(st.st_mode)) {
      archive_entry_set_symlink(e.get(), ReadLink(path).c_str());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
      archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
    }
    WriteHeader(e.get(), rel);
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      // A big file the step left empty is filled now, its bytes hashed on their way in.
      auto data = [&](const char* d, size_t n) {
        if (archive_write_data(a_.get(), d, n) < 0) Fail("data of " + path);
      };
      if (!(fills_ && entry.dir == 0 && fills_->Take(root, rel, st, data))) CopyData(path, st.st_size);
    }
    if (S_ISDIR(st.st_mode) && IsOpaque(path)) {
      Header(rel + "/.wh..wh..opq", S_IFREG | 0644, st, 0, nullptr);
    }
    ++entries_;
  }

  void Close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) Fail("close");
  }
  // Writes the padding of the entry written last (else written with the next header).
  void FinishEntry() {
    if (archive_write_finish_entry(a_.get()) != ARCHIVE_OK) Fail("end of entry");
  }
  // An entry the stream already holds (resuming from a mark): only what later entries need of it.
  void Skip(const WalkEntry& entry) {
    if (S_ISREG(entry.st.st_mode) && entry.st.st_nlink > 1) {
      links_.emplace(std::make_pair(entry.st.st_dev, entry.st.st_ino), entry.rel);
    }
  }
  void SetEntries(int64_t n) { entries_ = n; }
  int64_t entries() const { return entries_; }

 private:
  int64_t Mtime(const struct stat& st) const {
    int64_t t = st.st_mtim.tv_sec;
    if (options_.source_date_epoch && t > *options_.source_date_epoch) t = *options_.source_date_epoch;
    return t;
  }

  void Header(const std::string& name, mode_t mode, const struct stat& st, int64_t size, const char*) {
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_mode(e.get(), mode);
    archive_entry_set_size(e.get(), size);
    archive_entry_set_mtime(e.get(), Mtime(st), 0);
    WriteHeader(e.get(), name);
    ++entries_;
  }

  void WriteHeader(archive_entry* e, const std::string& rel) {
    if (!HeaderUsable(archive_write_header(a_.get(), e))) Fail("header of " + rel);
  }

  void CopyData(const std::string& path, int64_t size) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) throw SysError("open", path);
    static thread_local std::vector<char> buf(1 << 20);
    int64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(fd.get(), buf.data(), static_cast<size_t>(std::min<int64_t>(left, buf.size())));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SysError("read", path);
      }
      if (n == 0) throw std::runtime_error("layer: " + path + " shrank while it was being written");
      if (archive_write_data(a_.get(), buf.data(), static_cast<size_t>(n)) < 0) Fail("data of " + path);
      left -= n;
    }
  }

  [[noreturn]] void Fail(const std::string& what) {
    const char* why = archive_error_string(a_.get());
    throw std::runtime_error("layer tar: " + what + ": " + (why ? why : "write failed"));
  }

  TarNames names_{TarNames::Mode::kWrite};
  const LayerOptions& options_;
  bool layer_;
  PendingFills* fills_;
  std::unique_ptr<struct archive, ArchiveDeleter> a_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  int64_t entries_ = 0;
};

// The layer tar of `dirs` (one change, or several stacked) into `out` (compressed as `options`
// says): its diff_id and entry count.
constexpr int64_t kMarkEvery = 4 << 20;

// Whether the directory `top` (an entry of dirs[0]) has the tar header of the same path in the
// directories below (the top-most that has it): mode, owner, mtime and kept extended attributes.
bool SameDirBelow(const std::vector<std::string>& dirs, const WalkEntry& top) {
  for (size_t k = 1; k < dirs.size(); ++k) {
    const std::string path = dirs[k] + "/" + top.rel;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    return S_ISDIR(st.st_mode) && st.st_mode == top.st.st_mode && st.st_uid == top.st.st_uid &&
           st.st_gid == top.st.st_gid && st.st_mtim.tv_sec == top.st.st_mtim.tv_sec && !IsOpaque(path) &&
           KeptXattrs(path) == KeptXattrs(dirs[0] + "/" + top.rel);
  }
  return false;
}

// Where the hash of `paths` can start from `marks.previous`: the entry after the last mark before
// the first entry of the top directory (everything before it comes from the directories below,
// the very files of the previous layer), with the sink and `tar` set up as they were there;
// 0 when it cannot (then nothing is changed).
size_t Resume(const std::vector<std::string>& dirs, const std::vector<WalkEntry>& paths, const LayerOptions& options,
              HashMarks& marks, LayerSink& sink, TarBuilder& tar) {
  if (!marks.previous || dirs.size() < 2 || options.compression != Compression::kUncompressed) return 0;
  const LayerMarks& prev = *marks.previous;
  if (prev.source_date_epoch != options.source_date_epoch) return 0;
  // A whiteout or an opaque directory on top could hide an earlier entry: not a prefix then.
  for (const WalkEntry& e : Walk(dirs.front())) {
    if (S_ISCHR(e.st.st_mode) || (S_ISDIR(e.st.st_mode) && IsOpaque(dirs.front() + "/" + e.rel))) return 0;
  }
  // The first entry of the top directory that is not a directory the change only passed through
  // (copied up by the overlay with the header it had below).
  size_t boundary = paths.size();
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i].dir == 0 && !(S_ISDIR(paths[i].st.st_mode) && SameDirBelow(dirs, paths[i]))) {
      boundary = i;
      break;
    }
  }
  const LayerMark* best = nullptr;
  for (const LayerMark& m : prev.marks) {
    const size_t entry = static_cast<size_t>(m.entry);
    if (entry <= boundary && paths[entry - 1].rel == m.rel && (!best || m.entry > best->entry)) best = &m;
  }
  if (!best || !sink.hash().Restore(best->state, best->offset)) return 0;
  for (size_t i = 0; i < static_cast<size_t>(best->entry); ++i) tar.Skip(paths[i]);
  tar.SetEntries(best->entries);
  for (const LayerMark& m : prev.marks) {  // the same prefix: its marks are the new layer's too
    if (m.entry <= best->entry) marks.recorded.marks.push_back(m);
  }
  marks.resumed_at = best->offset;
  return static_cast<size_t>(best->entry);
}

LayerResult MakeLayerTar(const std::vector<std::string>& dirs, const LayerOptions& options, const LayerSink::Output& out,
                         PendingFills* fills = nullptr, HashMarks* marks = nullptr) {
  std::vector<WalkEntry> paths = WalkMerged(dirs);
  LayerSink sink(options, out);
  TarBuilder tar(sink, options, true, fills, marks != nullptr);
  size_t start = 0;
  if (marks) {
    marks->recorded = LayerMarks{options.source_date_epoch, {}};
    marks->resumed_at = 0;
    start = Resume(dirs, paths, options, *marks, sink, tar);
  }
  int64_t marked = sink.hash().offset();
  for (size_t i = start; i < paths.size(); ++i) {
    tar.Add(dirs[paths[i].dir], paths[i]);
    if (!marks) continue;
    tar.FinishEntry();
    const int64_t at = sink.hash().offset();
    if (at - marked >= kMarkEvery && at % 512 == 0) {
      marks->recorded.marks.push_back(
          {static_cast<int64_t>(i + 1), paths[i].rel, at, tar.entries(), sink.hash().State()});
      marked = at;
    }
  }
  tar.Close();
  LayerResult result;
  result.blob.size = sink.hash().offset();  // the uncompressed tar's, before Finish
  result.diff_id = sink.Finish();
  result.entries = tar.entries();
  return result;
}

}  // namespace

LayerResult WriteLayer(const std::string& snapshot_dir, const LayerOptions& options, const ContentStore& store,
                       const std::optional<Digest>& expected) {
  return WriteLayer(std::vector<std::string>{snapshot_dir}, options, store, expected);
}

LayerResult WriteLayer(const std::vector<std::string>& dirs, const LayerOptions& options, const ContentStore& store,
                       const std::optional<Digest>& expected) {
  const std::string& snapshot_dir = dirs.front();
  ContentStore::Writer writer = store.Ingest();
  const bool plain = options.compression == Compression::kUncompressed;
  if (plain) writer.HashedByCaller();  // the blob is the tar: its digest is the diff_id, hashed once
  LayerResult result = MakeLayerTar(dirs, options, [&writer](std::string_view b) { writer.Write(b); });
  if (expected && result.diff_id != *expected) {  // the uncommitted writer removes its bytes
    throw std::runtime_error("layer of " + snapshot_dir + " is " + result.diff_id.str() + ", not the expected " +
                             expected->str());
  }
  const char* type = options.compression == Compression::kGzip   ? media_type::kLayerGzip
                     : options.compression == Compression::kZstd ? media_type::kLayerZstd
                                                                 : media_type::kLayer;
  result.blob = writer.Commit(type, plain ? std::optional<Digest>(result.diff_id) : std::nullopt);
  return result;
}

LayerResult HashLayer(const std::string& snapshot_dir, const LayerOptions& options) {
  return HashLayer(std::vector<std::string>{snapshot_dir}, options);
}

LayerResult HashLayer(const std::vector<std::string>& dirs, const LayerOptions& options, PendingFills* fills,
                      HashMarks* marks) {
  LayerOptions plain = options;
  plain.compression = Compression::kUncompressed;
  LayerResult result = MakeLayerTar(dirs, plain, [](std::string_view) {}, fills, marks);
  // A pending file the walk did not take was hashed as it stood (empty): written now, hashed again.
  if (fills && fills->FillRest(dirs.front()) > 0) return HashLayer(dirs, options, nullptr, marks);
  result.blob.media_type = media_type::kLayer;
  result.blob.digest = result.diff_id;
  return result;
}

namespace {

std::string MemoPath(const std::string& memo_dir, const Digest& uncompressed, Compression c, int level) {
  const char* codec = c == Compression::kGzip ? "gzip" : "zstd";
  return memo_dir + "/" + std::string(uncompressed.hex()) + "." + codec + "." + std::to_string(level);
}

struct RawReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

}  // namespace

Descriptor DecompressLayer(ContentStore& store, const Descriptor& compressed, const Digest& diff_id,
                           const std::string& memo_dir) {
  Descriptor out;
  out.media_type = media_type::kLayer;
  out.digest = diff_id;
  if (!store.Has(diff_id)) {
    std::unique_ptr<struct archive, RawReadDeleter> a(archive_read_new());
    archive_read_support_filter_all(a.get());
    archive_read_support_format_raw(a.get());
    std::string path = store.BlobPath(compressed.digest);
    archive_entry* e;
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK ||
        archive_read_next_header(a.get(), &e) != ARCHIVE_OK) {
      const char* why = archive_error_string(a.get());
      throw std::runtime_error("layer " + compressed.digest.str() + ": " + (why ? why : "unreadable"));
    }
    ContentStore::Writer w = store.Ingest();
    static thread_local std::vector<char> buf(1 << 20);
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf.data(), buf.size())) > 0) w.Write(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (n < 0) {
      const char* why = archive_error_string(a.get());
      throw std::runtime_error("layer " + compressed.digest.str() + ": " + (why ? why : "bad compressed data"));
    }
    try {
      out = w.Commit(media_type::kLayer, diff_id);
    } catch (const std::exception& ex) {
      throw std::runtime_error("layer " + compressed.digest.str() + " does not hold its diff_id " + diff_id.str() +
                               ": " + ex.what());
    }
  } else {
    out.size = store.Size(diff_id).value_or(0);
  }
  std::optional<Compression> codec;
  if (compressed.media_type == media_type::kLayerGzip || compressed.media_type == media_type::kDockerLayerGzip) {
    codec = Compression::kGzip;
  } else if (compressed.media_type == media_type::kLayerZstd) {
    codec = Compression::kZstd;
  }
  if (codec) {
    MakeDirs(memo_dir);
    Descriptor remembered = compressed;
    remembered.media_type = *codec == Compression::kGzip ? media_type::kLayerGzip : media_type::kLayerZstd;
    WriteFileAtomic(MemoPath(memo_dir, diff_id, *codec, -1), remembered.ToJson().dump());
  }
  return out;
}

Descriptor CompressLayer(ContentStore& store, const Descriptor& uncompressed, const LayerOptions& options,
                         const std::string& memo_dir) {
  if (options.compression == Compression::kUncompressed) return uncompressed;
  std::string memo = MemoPath(memo_dir, uncompressed.digest, options.compression, options.level);
  try {
    Descriptor d = Descriptor::FromJson(nlohmann::json::parse(ReadFile(memo)));
    if (store.Has(d.digest)) return d;
  } catch (const std::exception&) {
    // not compressed yet (or the memo is stale): compress below
  }
  ContentStore::Writer writer = store.Ingest();
  Digest check = Digest::OfBytes("");
  {
    LayerSink sink(options, [&writer](std::string_view b) { writer.Write(b); });
    ReadChunks(store.BlobPath(uncompressed.digest), [&sink](std::string_view b) { sink.Write(b.data(), b.size()); });
    check = sink.Finish();
  }
  if (check != uncompressed.digest) throw std::runtime_error("layer " + uncompressed.digest.str() + " is corrupt in the store");
  Descriptor d = writer.Commit(options.compression == Compression::kGzip ? media_type::kLayerGzip : media_type::kLayerZstd);
  MakeDirs(memo_dir);
  WriteFileAtomic(memo, d.ToJson().dump());
  return d;
}

Digest WriteTreeTar(const std::string& dir, const std::string& dest, const LayerOptions& options,
                    const std::string& tmp_path) {
  std::vector<WalkEntry> paths = Walk(dir);
  std::string tmp = tmp_path.empty() ? dest + ".tmp" : tmp_path;
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw SysError("create", tmp);
  LayerSink sink(options, [&](std::string_view b) { WriteAll(fd.get(), b.data(), b.size(), tmp); });
  TarBuilder tar(sink, options, false);
  for (const WalkEntry& p : paths) tar.Add(dir, p);
  tar.Close();
  Digest d = sink.Finish();
  if (::fsync(fd.get()) != 0) throw SysError("fsync", tmp);
  fd.Reset();
  if (::rename(tmp.c_str(), dest.c_str()) != 0) throw SysError("rename", tmp);
  return d;
}

}  // namespace imgbuild::layers
