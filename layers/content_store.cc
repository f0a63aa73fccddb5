#include "layers/content_store.h"

#include <fcntl.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <random>
#include <vector>

namespace imgbuild::layers {

ContentStore::ContentStore(std::string layout_dir, std::string tmp_dir)
    : layout_dir_(std::move(layout_dir)), tmp_dir_(std::move(tmp_dir)) {
  MakeDirs(layout_dir_ + "/blobs/sha256");
  MakeDirs(tmp_dir_);
}

std::string ContentStore::FilePath(const Digest& d) const {
  return layout_dir_ + "/blobs/sha256/" + std::string(d.hex());
}

bool ContentStore::Stored(const Digest& d) const {
  struct stat st;
  return ::stat(FilePath(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool ContentStore::Has(const Digest& d) const { return Stored(d) || DeferredSource(d).has_value(); }

std::string ContentStore::BlobPath(const Digest& d) const {
  std::string path = FilePath(d);
  if (deferring() && !Stored(d)) {
    if (std::optional<Recipe> r = ReadRecipe(d)) Make(d, *r);
  }
  return path;
}

std::optional<int64_t> ContentStore::Size(const Digest& d) const {
  struct stat st;
  if (::stat(FilePath(d).c_str(), &st) == 0 && S_ISREG(st.st_mode)) return static_cast<int64_t>(st.st_size);
  if (std::optional<Recipe> r = ReadRecipe(d)) return r->size;
  return std::nullopt;
}

int64_t ContentStore::DiskBytes(const Digest& d) const {
  struct stat st;
  return ::stat(FilePath(d).c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

std::string ContentStore::ReadBlob(const Digest& d) const { return ReadFile(BlobPath(d)); }

Descriptor ContentStore::Put(const std::string& media_type, std::string_view bytes) {
  Digest d = Digest::OfBytes(bytes);
  if (Has(d)) {
    Descriptor desc;
    desc.media_type = media_type;
    desc.digest = d;
    desc.size = static_cast<int64_t>(bytes.size());
    return desc;
  }
  Writer w = Ingest();
  w.Write(bytes);
  return w.Commit(media_type, d);
}

ContentStore::Writer ContentStore::Ingest() const {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string tmp = tmp_dir_ + "/ingest-" + std::to_string(rng());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) throw SysError("create", tmp);
  if (::flock(fd.get(), LOCK_EX) != 0) throw SysError("lock", tmp);  // marks the file as in use
  return Writer(this, tmp, std::move(fd));
}

void ContentStore::ReapAbandoned() const {
  DIR* d = ::opendir(tmp_dir_.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("ingest-", 0) == 0) names.push_back(n);
  }
  ::closedir(d);
  for (const std::string& n : names) {
    std::string path = tmp_dir_ + "/" + n;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) ::unlink(path.c_str());
  }
}

ContentStore::Writer::Writer(const ContentStore* store, std::string tmp_path, UniqueFd fd)
    : store_(store), tmp_path_(std::move(tmp_path)), fd_(std::move(fd)), hash_(std::make_unique<Sha256>()) {}

ContentStore::Writer::~Writer() {
  if (!committed_ && !tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void ContentStore::Writer::Write(std::string_view bytes) {
  WriteAll(fd_.get(), bytes.data(), bytes.size(), tmp_path_);
  if (hash_) hash_->Update(bytes);
  size_ += static_cast<int64_t>(bytes.size());
}

Descriptor ContentStore::Writer::Commit(const std::string& media_type, const std::optional<Digest>& expected,
                                        std::optional<int64_t> expected_size) {
  if (!hash_ && !expected) throw std::logic_error("content store: a writer hashed by its caller commits with its digest");
  Digest actual = hash_ ? hash_->Finish() : *expected;
  if (expected && actual != *expected) {
    throw std::runtime_error("content store: digest mismatch: expected " + expected->str() + ", got " + actual.str());
  }
  if (expected_size && *expected_size != size_) {
    throw std::runtime_error("content store: size mismatch for " + actual.str() + ": expected " +
                             std::to_string(*expected_size) + ", got " + std::to_string(size_));
  }
  if (::fchmod(fd_.get(), 0444) != 0) throw SysError("chmod", tmp_path_);
  if (::fsync(fd_.get()) != 0) throw SysError("fsync", tmp_path_);
  fd_.Reset();
  std::string final_path = store_->FilePath(actual);
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) throw SysError("rename", tmp_path_);
  committed_ = true;
  SyncDir(store_->layout_dir() + "/blobs/sha256");
  Descriptor d;
  d.media_type = media_type;
  d.digest = actual;
  d.size = size_;
  return d;
}

std::vector<Digest> ContentStore::List() const {
  std::vector<Digest> out;
  std::string dir = layout_dir_ + "/blobs/sha256";
  std::vector<std::string> names;
  try {
    names = ListDir(dir);
  } catch (const SysError&) {
    return out;
  }
  if (deferring()) {
    try {
      for (std::string& n : ListDir(recipes_dir_)) names.push_back(std::move(n));
    } catch (const SysError&) {
      // no recipes yet
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
  }
  for (const std::string& n : names) {
    try {
      out.push_back(Digest::Parse("sha256:" + n));
    } catch (const std::invalid_argument&) {
      // not a blob (a stray file or a recipe being written): left alone
    }
  }
  return out;
}

void ContentStore::Remove(const Digest& d) const {
  if (::unlink(FilePath(d).c_str()) != 0 && errno != ENOENT) throw SysError("unlink", FilePath(d));
  if (deferring()) {
    std::string recipe = recipes_dir_ + "/" + std::string(d.hex());
    if (::unlink(recipe.c_str()) != 0 && errno != ENOENT) throw SysError("unlink", recipe);
  }
}

}  // namespace imgbuild::layers
