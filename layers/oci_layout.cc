#include "layers/oci_layout.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "layers/image.h"
#include "layers/registry/reference.h"
#include "layers/sys_error.h"

namespace imgbuild::layers {
namespace {

class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (!fd_) throw SysError("open", path);
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw SysError("flock", path);
    }
  }

 private:
  UniqueFd fd_;
};

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace

namespace {

std::string AddLatest(const std::string& ref) {
  if (ref.find('@') != std::string::npos) return ref;
  size_t slash = ref.find_last_of('/');
  size_t colon = ref.find(':', slash == std::string::npos ? 0 : slash);
  return colon == std::string::npos ? ref + ":latest" : ref;
}

// The form two names are compared in.
std::string Canonical(const std::string& ref) { return FullName(ref); }

bool Named(const Descriptor& d, const std::string& canonical) {
  auto it = d.annotations.find(kRefNameAnnotation);
  return it != d.annotations.end() && Canonical(it->second) == canonical;
}

}  // namespace

std::string NormalizeTag(const std::string& ref) {
  try {
    return registry::Reference::Parse(ref).Familiar();
  } catch (const registry::ReferenceError&) {
    return AddLatest(ref);
  }
}

std::string FullName(const std::string& ref) {
  try {
    return registry::Reference::Parse(ref).String();
  } catch (const registry::ReferenceError&) {
    return AddLatest(ref);
  }
}

OciLayout::OciLayout(std::string dir, std::string tmp_dir)
    : dir_(dir), lock_path_(tmp_dir + "/index.lock"), store_(dir, std::move(tmp_dir)) {
  FileLock lock(lock_path_);
  if (!Exists(dir_ + "/oci-layout")) WriteFileAtomic(dir_ + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  if (!Exists(dir_ + "/index.json")) WriteIndex({});
}

std::vector<Descriptor> OciLayout::ReadIndex() const {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ReadFile(dir_ + "/index.json"));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(dir_ + "/index.json is not valid JSON: " + e.what());
  }
  std::vector<Descriptor> out;
  if (j.contains("manifests")) {
    for (const auto& m : j["manifests"]) out.push_back(Descriptor::FromJson(m));
  }
  return out;
}

void OciLayout::WriteIndex(const std::vector<Descriptor>& manifests) {
  nlohmann::ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media_type::kImageIndex;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Descriptor& d : manifests) list.push_back(d.ToJson());
  j["manifests"] = list;
  WriteFileAtomic(dir_ + "/index.json", j.dump() + "\n");
}

std::vector<Descriptor> OciLayout::Manifests() const { return ReadIndex(); }

namespace {

bool IsHex(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The config digest of an index entry's manifest, or nothing (an index, or a blob that is not one).
std::optional<Digest> ConfigOf(const ContentStore& store, const Descriptor& entry) {
  try {
    return Manifest::Parse(store.ReadBlob(entry.digest)).config.digest;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A descriptor for the blob `d` when it holds an image manifest; throws when it holds anything else.
Descriptor ManifestBlob(const ContentStore& store, const Digest& d) {
  std::string bytes = store.ReadBlob(d);
  std::string media_type;
  try {
    auto j = nlohmann::json::parse(bytes);
    if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) media_type = j["mediaType"];
    if (media_type.empty() && j.is_object() && j.contains("config") && j.contains("layers"))
      media_type = media_type::kImageManifest;
  } catch (const nlohmann::json::exception&) {
  }
  if (media_type != media_type::kImageManifest && media_type != media_type::kDockerManifest &&
      media_type != media_type::kImageIndex && media_type != media_type::kDockerManifestList)
    throw Error(d.str() + " is not an image (its blob is " +
                (media_type.empty() ? std::string("not an image manifest") : "a " + media_type) + ")");
  Descriptor m;
  m.media_type = media_type;
  m.digest = d;
  m.size = static_cast<int64_t>(bytes.size());
  return m;
}

}  // namespace

std::optional<Descriptor> OciLayout::Find(const std::string& ref) const {
  // NAME@sha256:..., or a bare digest: the manifest with that digest, or the image whose config
  // (docker's image ID) has it.
  size_t at = ref.find("sha256:");
  if (at != std::string::npos && (at == 0 || ref[at - 1] == '@') && ref.size() - at == 71) {
    Digest d = Digest::OfBytes("");
    try {
      d = Digest::Parse(ref.substr(at));
    } catch (const std::invalid_argument&) {
      return std::nullopt;
    }
    std::vector<Descriptor> index = ReadIndex();
    for (const Descriptor& m : index) {
      if (m.digest == d) return m;
    }
    for (const Descriptor& m : index) {
      if (ConfigOf(store_, m) == d) return m;
    }
    if (store_.Has(d)) return ManifestBlob(store_, d);
    return std::nullopt;
  }
  std::string want = Canonical(ref);
  for (const Descriptor& d : ReadIndex()) {
    if (Named(d, want)) return d;
  }
  // A short ID: a prefix of one image's config or manifest digest, "sha256:" optional.
  std::string prefix = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  if (!IsHex(prefix)) return std::nullopt;
  std::optional<Descriptor> found;
  for (const Descriptor& m : ReadIndex()) {
    std::optional<Digest> config = ConfigOf(store_, m);
    bool match = m.digest.hex().substr(0, prefix.size()) == prefix ||
                 (config && config->hex().substr(0, prefix.size()) == prefix);
    if (!match) continue;
    if (found && found->digest != m.digest)
      throw Error("the short ID " + ref + " names more than one image: give more of it");
    if (!found || !found->annotations.count(kRefNameAnnotation)) found = m;
  }
  return found;
}

std::string OciLayout::Tag(const std::string& ref, Descriptor manifest, bool normalize) {
  FileLock lock(lock_path_);
  // The store keeps only names Docker accepts (throws registry::ReferenceError): no upper case,
  // spaces, `../`, newlines or terminal escapes reach index.json or a listing.
  std::string name = normalize ? registry::Reference::Parse(ref).Familiar() : ref;
  std::string canonical = Canonical(name);
  std::vector<Descriptor> list = ReadIndex();
  manifest.annotations[kRefNameAnnotation] = name;
  // A name that already says exactly this (a no-op rebuild's tag) writes nothing.
  const nlohmann::ordered_json wanted = manifest.ToJson();
  bool same = false, untagged_copy = false;
  for (const Descriptor& d : list) {
    if (Named(d, canonical) && d.ToJson() == wanted) same = true;
    if (d.digest == manifest.digest && !d.annotations.count(kRefNameAnnotation)) untagged_copy = true;
  }
  if (same && !untagged_copy) return name;
  // The old entry of that name goes, and so does an untagged entry of the same manifest.
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const Descriptor& d) {
                              return Named(d, canonical) ||
                                     (d.digest == manifest.digest && !d.annotations.count(kRefNameAnnotation));
                            }),
             list.end());
  list.push_back(manifest);
  WriteIndex(list);
  return name;
}

void OciLayout::AddUntagged(Descriptor manifest) {
  FileLock lock(lock_path_);
  std::vector<Descriptor> list = ReadIndex();
  for (const Descriptor& d : list) {
    if (d.digest == manifest.digest) return;
  }
  manifest.annotations.erase(kRefNameAnnotation);
  list.push_back(manifest);
  WriteIndex(list);
}

bool OciLayout::Untag(const std::string& ref) {
  FileLock lock(lock_path_);
  std::string canonical = Canonical(ref);
  std::vector<Descriptor> list = ReadIndex();
  size_t before = list.size();
  list.erase(std::remove_if(list.begin(), list.end(), [&](const Descriptor& d) { return Named(d, canonical); }),
             list.end());
  if (list.size() == before) return false;
  WriteIndex(list);
  return true;
}

std::vector<std::string> OciLayout::RemoveImage(const Digest& digest) {
  FileLock lock(lock_path_);
  std::vector<Descriptor> list = ReadIndex();
  std::vector<std::string> names;
  std::vector<Descriptor> kept;
  for (const Descriptor& d : list) {
    if (d.digest != digest) {
      kept.push_back(d);
      continue;
    }
    auto it = d.annotations.find(kRefNameAnnotation);
    names.push_back(it == d.annotations.end() ? "" : it->second);
  }
  if (!names.empty()) WriteIndex(kept);
  return names;
}

}  // namespace imgbuild::layers
