// ContentStore's deferred layers: recipes (ROOT/deferred/HEX, JSON) and making a blob from one.
// A recipe is written atomically after its snapshot is committed; a blob made from it is checked
// against its digest before it is renamed into place, so a snapshot that changed or was cut short
// by a crash gives an error, never a wrong blob.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "layers/content_store.h"
#include "layers/layer_writer.h"

namespace imgbuild::layers {
namespace {

constexpr int kRecipeVersion = 1;

// A recipe names a directory below the base by a relative path of plain components.
bool PlainRelative(const std::string& rel) {
  if (rel.empty() || rel.front() == '/') return false;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

void ContentStore::DeferLayersTo(std::string recipes_dir, std::string base_dir) {
  recipes_dir_ = std::move(recipes_dir);
  base_dir_ = std::move(base_dir);
}

void ContentStore::Defer(const Descriptor& layer, const std::vector<std::string>& snapshot_dirs,
                         std::optional<int64_t> source_date_epoch) const {
  if (!deferring()) throw std::logic_error("content store: deferred layers are off");
  if (layer.media_type != media_type::kLayer) throw std::logic_error("content store: only uncompressed layers are deferred");
  if (snapshot_dirs.empty()) throw std::logic_error("content store: a deferred layer needs a directory");
  const std::string prefix = base_dir_ + "/";
  std::vector<std::string> rels;
  for (const std::string& dir : snapshot_dirs) {
    std::string rel = dir.rfind(prefix, 0) == 0 ? dir.substr(prefix.size()) : "";
    if (!PlainRelative(rel)) throw std::logic_error("content store: " + dir + " is not below " + base_dir_);
    rels.push_back(rel);
  }
  nlohmann::json j = {{"version", kRecipeVersion}, {"size", layer.size}, {"dir", rels[0]}};
  // The changes stacked under the first (a COPY that started from its previous result).
  if (rels.size() > 1) j["under"] = std::vector<std::string>(rels.begin() + 1, rels.end());
  if (source_date_epoch) j["source_date_epoch"] = *source_date_epoch;
  MakeDirs(recipes_dir_);
  // Not fsynced: a recipe lost in a crash only means its snapshot's record is dropped as broken.
  WriteFileAtomic(recipes_dir_ + "/" + std::string(layer.digest.hex()), j.dump(), 0644, false);
}

std::optional<ContentStore::Recipe> ContentStore::ReadRecipe(const Digest& d) const {
  if (!deferring()) return std::nullopt;
  std::string text;
  try {
    text = ReadFile(recipes_dir_ + "/" + std::string(d.hex()));
  } catch (const SysError&) {
    return std::nullopt;
  }
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("version").get<int>() != kRecipeVersion) return std::nullopt;
    std::vector<std::string> rels{j.at("dir").get<std::string>()};
    if (j.contains("under")) {
      for (const auto& u : j.at("under")) rels.push_back(u.get<std::string>());
    }
    Recipe r;
    for (const std::string& rel : rels) {
      if (!PlainRelative(rel)) return std::nullopt;
      r.dirs.push_back(base_dir_ + "/" + rel);
      struct stat st;
      if (::lstat(r.dirs.back().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;  // a snapshot is gone
    }
    r.size = j.at("size").get<int64_t>();
    if (j.contains("source_date_epoch")) r.source_date_epoch = j["source_date_epoch"].get<int64_t>();
    return r;
  } catch (const std::exception&) {
    return std::nullopt;  // torn or foreign: not trusted
  }
}

std::optional<std::string> ContentStore::DeferredSource(const Digest& d) const {
  if (!deferring() || Stored(d)) return std::nullopt;
  return SourceDir(d);
}

std::optional<std::string> ContentStore::SourceDir(const Digest& d) const {
  std::optional<Recipe> r = ReadRecipe(d);
  if (!r) return std::nullopt;
  return r->dirs.front();
}

void ContentStore::Make(const Digest& d, const Recipe& r) const {
  LayerOptions o;
  o.source_date_epoch = r.source_date_epoch;
  try {
    // WriteLayer only writes through the store's writer, which never reads recipes.
    WriteLayer(r.dirs, o, *this, d);
  } catch (const std::exception& e) {
    throw std::runtime_error("layer " + d.str() + " could not be made from its snapshot: " + e.what());
  }
}

}  // namespace imgbuild::layers
