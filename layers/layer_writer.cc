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
  Sha256 diff_;
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

bool KeepXattr(const std::string& name) {
  return name == "security.capability" || name.rfind("user.", 0) == 0;
}

void AddXattrs(archive_entry* entry, const std::string& path) {
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len <= 0) return;
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  if (len <= 0) return;
  std::vector<std::string> keep;
  for (size_t i = 0; i < static_cast<size_t>(len);) {
    std::string n(names.c_str() + i);
    i += n.size() + 1;
    if (KeepXattr(n)) keep.push_back(n);
  }
  std::sort(keep.begin(), keep.end());
  for (const std::string& n : keep) {
    ssize_t vlen = ::lgetxattr(path.c_str(), n.c_str(), nullptr, 0);
    if (vlen < 0) continue;
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(path.c_str(), n.c_str(), value.data(), value.size());
    if (vlen < 0) continue;
    archive_entry_xattr_add_entry(entry, n.c_str(), value.data(), static_cast<size_t>(vlen));
  }
}

bool IsOpaque(const std::string& path) {
  char v[2];
  ssize_t n = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

class TarBuilder {
 public:
  // `layer`: the tar is an image layer, where `.wh.` names mean deletions (a rootfs tar is not).
  // `fills`: files of the top directory (WalkEntry::dir 0) whose bytes are still to be written.
  TarBuilder(LayerSink& sink, const LayerOptions& options, bool layer, PendingFills* fills = nullptr)
      : options_(options), layer_(layer), fills_(fills) {
    a_.reset(archive_write_new());
    archive_write_set_format_pax_restricted(a_.get());
    archive_write_add_filter_none(a_.get());
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
LayerResult MakeLayerTar(const std::vector<std::string>& dirs, const LayerOptions& options, const LayerSink::Output& out,
                         PendingFills* fills = nullptr) {
  std::vector<WalkEntry> paths = WalkMerged(dirs);
  LayerSink sink(options, out);
  TarBuilder tar(sink, options, true, fills);
  for (const WalkEntry& p : paths) tar.Add(dirs[p.dir], p);
  tar.Close();
  LayerResult result;
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

LayerResult HashLayer(const std::vector<std::string>& dirs, const LayerOptions& options, PendingFills* fills) {
  LayerOptions plain = options;
  plain.compression = Compression::kUncompressed;
  int64_t size = 0;
  LayerResult result =
      MakeLayerTar(dirs, plain, [&size](std::string_view b) { size += static_cast<int64_t>(b.size()); }, fills);
  // A pending file the walk did not take was hashed as it stood (empty): written now, hashed again.
  if (fills && fills->FillRest(dirs.front()) > 0) return HashLayer(dirs, options);
  result.blob.media_type = media_type::kLayer;
  result.blob.digest = result.diff_id;
  result.blob.size = size;
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
