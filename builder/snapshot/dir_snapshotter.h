// Internal to builder/snapshot: what the overlay and the copy snapshotters share (the layout
// DIR/KEY/{fs,work,meta.json}, metadata, listing, key checks) and the helpers each file needs.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

#include "builder/snapshot/snapshotter.h"
#include "layers/applier.h"
#include "layers/digest.h"
#include "layers/sys_error.h"

namespace imgbuild::builder::detail {

namespace fs = std::filesystem;
using layers::SysError;
using layers::UniqueFd;

inline void CheckKey(const std::string& key) {
  if (key.empty() || key == "." || key == ".." ||
      key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos) {
    throw SnapshotError("invalid snapshot key \"" + key + "\"");
  }
}

// Metadata and layout shared by both snapshotters: DIR/KEY/{fs,work,meta.json}.
class DirSnapshotter : public Snapshotter {
 public:
  explicit DirSnapshotter(std::string dir) : dir_(std::move(dir)) { layers::MakeDirs(dir_); }

  bool Exists(const std::string& key) const override {
    struct stat st;
    return ::stat((dir_ + "/" + key + "/meta.json").c_str(), &st) == 0;
  }

  bool Commit(const std::string& name, const std::string& key) override {
    CheckKey(name);
    Meta m = ReadMeta(key);
    if (m.kind != "active") throw SnapshotError("cannot commit " + key + ": it is not an active snapshot");
    if (Exists(name)) return false;
    m.kind = "committed";
    WriteMeta(key, m);
    if (::rename(Path(key).c_str(), Path(name).c_str()) != 0) {
      int err = errno;
      m.kind = "active";
      WriteMeta(key, m);
      if (err == EEXIST || err == ENOTEMPTY) return false;  // committed by another build meanwhile
      throw SysError("rename", Path(key), err);
    }
    std::error_code ec;
    fs::remove_all(Path(name) + "/work", ec);
    layers::SyncDir(dir_);
    return true;
  }

  std::vector<Info> List() const override {
    std::vector<Info> out;
    for (const std::string& name : layers::ListDir(dir_)) {
      if (name == "l" || name.rfind(".removing-", 0) == 0 || !Exists(name)) continue;
      try {
        Meta m = ReadMeta(name);
        out.push_back({name, m.parent, m.kind, m.stacked});
      } catch (const SnapshotError&) {
      }
    }
    return out;
  }

  std::optional<Info> Stat(const std::string& key) const override {
    if (!Exists(key)) return std::nullopt;
    try {
      Meta m = ReadMeta(key);
      return Info{key, m.parent, m.kind, m.stacked};
    } catch (const SnapshotError&) {
      return std::nullopt;
    }
  }

  void Remove(const std::string& key) override {
    if (!Exists(key)) throw SnapshotError("no snapshot " + key);
    for (const auto& e : fs::directory_iterator(dir_)) {
      std::string other = e.path().filename().string();
      if (other != key && Exists(other) && ReadMeta(other).parent == key) {
        throw SnapshotError("cannot remove " + key + ": snapshot " + other + " is based on it");
      }
    }
    // Rename first so a crash never leaves a half-removed snapshot under its key.
    std::string doomed = dir_ + "/.removing-" + key;
    if (::rename(Path(key).c_str(), doomed.c_str()) != 0) throw SysError("rename", Path(key));
    std::error_code ec;
    fs::remove_all(doomed, ec);
  }

 protected:
  struct Meta {
    std::string kind;  // active, view, committed
    std::string parent;
    bool stacked = false;  // its change counts with its parent's (Snapshotter::PrepareStacked)
  };

  std::string Path(const std::string& key) const { return dir_ + "/" + key; }
  std::string Fs(const std::string& key) const { return Path(key) + "/fs"; }

  Meta ReadMeta(const std::string& key) const {
    CheckKey(key);
    try {
      auto j = nlohmann::json::parse(layers::ReadFile(Path(key) + "/meta.json"));
      return {j.at("kind").get<std::string>(), j.value("parent", ""), j.value("stacked", false)};
    } catch (const SysError&) {
      throw SnapshotError("no snapshot " + key);
    } catch (const nlohmann::json::exception& e) {
      throw SnapshotError("snapshot " + key + " has corrupt metadata: " + e.what());
    }
  }
  void WriteMeta(const std::string& key, const Meta& m) {
    nlohmann::json j{{"version", 1}, {"kind", m.kind}, {"parent", m.parent}};
    if (m.stacked) j["stacked"] = true;
    layers::WriteFileAtomic(Path(key) + "/meta.json", j.dump());
  }

  // Creates KEY on PARENT (which must be committed); returns the parent's chain of fs dirs, top first.
  std::vector<std::string> Create(const std::string& key, const std::string& parent, const std::string& kind,
                                  bool stacked = false) {
    CheckKey(key);
    if (Exists(key)) throw SnapshotError("snapshot " + key + " already exists");
    std::vector<std::string> chain;
    for (std::string p = parent; !p.empty();) {
      Meta m = ReadMeta(p);
      if (m.kind != "committed") throw SnapshotError("parent " + p + " is not committed");
      chain.push_back(Fs(p));
      p = m.parent;
    }
    std::error_code ec;
    fs::remove_all(Path(key), ec);  // leftovers of a crash before the metadata was written
    layers::MakeDirs(Fs(key));
    WriteMeta(key, {kind, parent, stacked});
    return chain;
  }

  std::string dir_;
};


// Whether overlayfs can be mounted here (a probe mount below `scratch`).
bool OverlayWorks(const std::string& scratch);

}  // namespace imgbuild::builder::detail
