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

std::string Hex(const std::string& key) { return key.rfind("sha256:", 0) == 0 ? key.substr(7) : key; }

bool ValidHex(const std::string& h) {
  return h.size() == 64 && h.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

nlohmann::ordered_json RecordToJson(const CacheRecord& r) {
  nlohmann::ordered_json j = {{"key", r.key},     {"parent", r.parent},         {"kind", r.kind},
                              {"label", layers::BytesToJsonString(r.label)}, {"created", r.created},
                              {"created_by", layers::BytesToJsonString(r.created_by)},
                              {"empty_layer", r.empty_layer}};
  if (r.layer) {
    j["layer"] = r.layer->ToJson();
    j["diff_id"] = r.diff_id;
  }
  j["fields"] = nlohmann::json::array();
  for (const auto& [k, v] : r.fields) {
    j["fields"].push_back({layers::BytesToJsonString(k), layers::BytesToJsonString(v)});
  }
  return j;
}

CacheRecord RecordFromJson(const nlohmann::json& j) {
  CacheRecord r;
  r.key = j.at("key").get<std::string>();
  layers::Digest::Parse(r.key);  // a well-formed key, or it throws
  r.parent = j.value("parent", "");
  r.kind = j.value("kind", "");
  r.label = layers::BytesFromJsonString(j.value("label", ""));
  r.created = j.at("created").get<std::string>();
  r.created_by = layers::BytesFromJsonString(j.at("created_by").get<std::string>());
  r.empty_layer = j.at("empty_layer").get<bool>();
  if (j.contains("layer")) {
    r.layer = layers::Descriptor::FromJson(j["layer"]);
    r.diff_id = j.at("diff_id").get<std::string>();
    layers::Digest::Parse(r.diff_id);
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

std::string CacheIndex::RecordPath(const std::string& key) const { return dir_ + "/records/" + Hex(key) + ".json"; }
std::string CacheIndex::FilesPath(const std::string& key) const { return dir_ + "/records/" + Hex(key) + ".files"; }

std::optional<CacheRecord> CacheIndex::Read(const std::string& key) {
  if (!ValidHex(Hex(key))) return std::nullopt;
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
    if (j.at("version").get<int>() != kVersion || j.at("key").get<std::string>() != key) throw std::runtime_error("");
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

std::optional<CacheRecord> CacheIndex::Find(const std::string& key,
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
  layers::WriteFileAtomic(RecordPath(r.key), j.dump());
  if (!r.parent.empty() && ValidHex(Hex(r.parent))) {
    std::string dir = dir_ + "/children/" + Hex(r.parent);
    layers::MakeDirs(dir);
    layers::UniqueFd fd(::open((dir + "/" + Hex(r.key)).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  }
}

std::vector<CacheRecord> CacheIndex::Children(const std::string& parent) {
  std::vector<CacheRecord> out;
  if (!ValidHex(Hex(parent))) return out;
  std::string dir = dir_ + "/children/" + Hex(parent);
  std::vector<std::string> names;
  try {
    names = layers::ListDir(dir);
  } catch (const layers::SysError&) {
    return out;
  }
  for (const std::string& n : names) {
    if (auto r = Read("sha256:" + n)) {
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
    if (auto r = Read("sha256:" + n.substr(0, 64))) out.push_back(std::move(*r));
  }
  return out;
}

void CacheIndex::Remove(const std::string& key) noexcept {
  ::unlink(RecordPath(key).c_str());
  ::unlink(FilesPath(key).c_str());
}

}  // namespace imgbuild::cache
