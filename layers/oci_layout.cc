#include "layers/oci_layout.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>

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

std::string NormalizeTag(const std::string& ref) {
  if (ref.find('@') != std::string::npos) return ref;
  size_t slash = ref.find_last_of('/');
  size_t colon = ref.find(':', slash == std::string::npos ? 0 : slash);
  return colon == std::string::npos ? ref + ":latest" : ref;
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

std::optional<Descriptor> OciLayout::Find(const std::string& ref) const {
  // NAME@sha256:..., or a bare digest: the manifest with that digest, whatever its names.
  size_t at = ref.find("sha256:");
  if (at != std::string::npos && (at == 0 || ref[at - 1] == '@')) {
    Digest d = Digest::OfBytes("");
    try {
      d = Digest::Parse(ref.substr(at));
    } catch (const std::invalid_argument&) {
      return std::nullopt;
    }
    for (const Descriptor& m : ReadIndex()) {
      if (m.digest == d) return m;
    }
    if (store_.Has(d)) {
      Descriptor m;
      m.media_type = media_type::kImageManifest;
      m.digest = d;
      m.size = static_cast<int64_t>(store_.ReadBlob(d).size());
      return m;
    }
    return std::nullopt;
  }
  std::string want = NormalizeTag(ref);
  for (const Descriptor& d : ReadIndex()) {
    auto it = d.annotations.find(kRefNameAnnotation);
    if (it != d.annotations.end() && (it->second == want || it->second == ref)) return d;
  }
  return std::nullopt;
}

void OciLayout::Tag(const std::string& ref, Descriptor manifest, bool normalize) {
  FileLock lock(lock_path_);
  std::string name = normalize ? NormalizeTag(ref) : ref;
  std::vector<Descriptor> list = ReadIndex();
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const Descriptor& d) {
                              auto it = d.annotations.find(kRefNameAnnotation);
                              return it != d.annotations.end() && it->second == name;
                            }),
             list.end());
  manifest.annotations[kRefNameAnnotation] = name;
  list.push_back(manifest);
  WriteIndex(list);
}

bool OciLayout::Untag(const std::string& ref) {
  FileLock lock(lock_path_);
  std::string name = NormalizeTag(ref);
  std::vector<Descriptor> list = ReadIndex();
  size_t before = list.size();
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const Descriptor& d) {
                              auto it = d.annotations.find(kRefNameAnnotation);
                              return it != d.annotations.end() && it->second == name;
                            }),
             list.end());
  if (list.size() == before) return false;
  WriteIndex(list);
  return true;
}

}  // namespace imgbuild::layers
