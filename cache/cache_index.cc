#include "cache/cache_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "layers/json_bytes.h"
#include "layers/sys_error.h"

namespace imgbuild::cache {
namespace {

constexpr int kVersion = 1;


bool ValidHex(const std::string& h) {
  return h.size() == 64 && h.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

nlohmann::ordered_json RecordToJson(const CacheRecord& r) {
  nlohmann::ordered_json j = {{"key", r.key.str()}, {"parent", r.parent ? r.parent->str() : ""}, {"kind", r.kind},
                              {"label", layers::BytesToJsonString(r.label)}, {"created", r.created},
                              {"created_by", layers::BytesToJsonString(r.created_by)},
                              {"empty_layer", r.empty_layer}};
  if (r.layer) {
    j["layer"] = r.layer->ToJson();
    j["diff_id"] = r.diff_id ? r.diff_id->str() : "";
  }
  j["fields"] = nlohmann::json::array();
  for (const auto& [k, v] : r.fields) {
    j["fields"].push_back({layers::BytesToJsonString(k), layers::BytesToJsonString(v)});
  }
  return j;
}

CacheRecord RecordFromJson(const nlohmann::json& j) {
  CacheRecord r;
  r.key = CacheKey::Parse(j.at("key").get<std::string>());  // a well-formed key, or it throws
  if (std::string parent = j.value("parent", ""); !parent.empty()) r.parent = CacheKey::Parse(parent);
  r.kind = j.value("kind", "");
  r.label = layers::BytesFromJsonString(j.value("label", ""));
  r.created = j.at("created").get<std::string>();
  r.created_by = layers::BytesFromJsonString(j.at("created_by").get<std::string>());
  r.empty_layer = j.at("empty_layer").get<bool>();
  if (j.contains("layer")) {
    r.layer = layers::Descriptor::FromJson(j["layer"]);
    r.diff_id = layers::Digest::Parse(j.at("diff_id").get<std::string>());
  }
  for (const auto& f : j.value("fields", nlohmann::json::array())) {
    r.fields.emplace_back(layers::BytesFromJsonString(f.at(0).get<std::string>()),
                          layers::BytesFromJsonString(f.at(1).get<std::string>()));
  }
  return r;
}

CacheIndex::CacheIndex(std::string dir) : dir_(std::move(dir)) {
  layers::MakeDirs(dir_ + "/records");
  layers::MakeDirs(dir_ + "/children");
}

std::string CacheIndex::RecordPath(const CacheKey& key) const { return dir_ + "/records/" + std::string(key.hex()) + ".json"; }
std::string CacheIndex::FilesPath(const CacheKey& key) const { return dir_ + "/records/" + std::string(key.hex()) + ".files"; }

std::optional<CacheRecord> CacheIndex::Read(const CacheKey& key) {
  std::string path = RecordPath(key);
  std::string text;
  struct stat st;
  try {
    text = layers::ReadFile(path);
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  } catch (const layers::SysError&) {
    return std::nullopt;
  }
  try {
    auto j = nlohmann::json::parse(text);
    if (j.at("version").get<int>() != kVersion || j.at("key").get<std::string>() != key.str()) throw std::runtime_error("");
    CacheRecord r = RecordFromJson(j);
    r.snapshot = j.value("snapshot", "");
    r.last_used = st.st_mtim.tv_sec;
    r.size = st.st_size;
    return r;
  } catch (const std::exception&) {
    Remove(key);  // not ours to read (another version) or damaged: never trusted
    return std::nullopt;
  }
}

std::optional<CacheRecord> CacheIndex::Find(const CacheKey& key,
                                            const std::function<bool(const CacheRecord&)>& usable) {
  std::optional<CacheRecord> r = Read(key);
  if (!r) return std::nullopt;
  if (usable && !usable(*r)) {
    Remove(key);
    return std::nullopt;
  }
  ::utimensat(AT_FDCWD, RecordPath(key).c_str(), nullptr, 0);  // last used: now
  return r;
}

void CacheIndex::Put(const CacheRecord& r) {
  nlohmann::ordered_json j = {{"version", kVersion}};
  j.update(RecordToJson(r));
  if (!r.snapshot.empty()) j["snapshot"] = r.snapshot;
  if (!r.files.empty()) {
    // The input files' digests are only read to explain a miss: a file of their own, written
    // first (a record never names files that are not there yet).
    nlohmann::json files = nlohmann::json::array();
    for (const auto& [k, v] : r.files) files.push_back({layers::BytesToJsonString(k), v});
    layers::WriteFileAtomic(FilesPath(r.key), files.dump());
    j["files"] = true;
  }
  // A step without a layer (ENV, LABEL, ...) costs nothing to redo: its record is not worth an
  // fsync (a record a crash left empty reads as a miss).
  layers::WriteFileAtomic(RecordPath(r.key), j.dump(), 0644, /*durable=*/r.layer.has_value());
  if (r.parent) {
    std::string dir = dir_ + "/children/" + std::string(r.parent->hex());
    layers::MakeDirs(dir);
    layers::UniqueFd fd(::open((dir + "/" + std::string(r.key.hex())).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  }
}

std::vector<CacheRecord> CacheIndex::Children(const CacheKey& parent) {
  std::vector<CacheRecord> out;
  std::string dir = dir_ + "/children/" + std::string(parent.hex());
  std::vector<std::string> names;
  try {
    names = layers::ListDir(dir);
  } catch (const layers::SysError&) {
    return out;
  }
  for (const std::string& n : names) {
    std::optional<CacheRecord> r;
    if (ValidHex(n)) r = Read(CacheKey::Parse("sha256:" + n));
    if (r) {
      try {
        for (const auto& f : nlohmann::json::parse(layers::ReadFile(FilesPath(r->key)))) {
          r->files.emplace_back(layers::BytesFromJsonString(f.at(0).get<std::string>()), f.at(1));
        }
      } catch (const std::exception&) {
        // no input files recorded
      }
      out.push_back(std::move(*r));
    } else {
      ::unlink((dir + "/" + n).c_str());
    }
  }
  return out;
}

std::vector<CacheRecord> CacheIndex::All() {
  std::vector<CacheRecord> out;
  for (const std::string& n : layers::ListDir(dir_ + "/records")) {
    if (n.size() != 69 || n.compare(64, 5, ".json") != 0) continue;
    if (!ValidHex(n.substr(0, 64))) continue;
    if (auto r = Read(CacheKey::Parse("sha256:" + n.substr(0, 64)))) out.push_back(std::move(*r));
  }
  return out;
}

void CacheIndex::Remove(const CacheKey& key) noexcept {
  ::unlink(RecordPath(key).c_str());
  ::unlink(FilesPath(key).c_str());
}

}  // namespace imgbuild::cache
