// `imgbuild images`, `inspect`, `tag`, `rm`, `load` and `save`: the local store.
#include <functional>
#include <iomanip>
#include <optional>

#include "builder/cli/commands.h"
#include "builder/state/gc.h"
#include "builder/state/state_dir.h"
#include "layers/image_export.h"
#include "layers/image_import.h"
#include "layers/image.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {
namespace {

// Opens the local store of `root_flag` and runs `fn`; any failure becomes "error: ..." and 1.
int WithStore(const std::string& root_flag, std::ostream& err,
              const std::function<int(layers::OciLayout& store, const std::string& root)>& fn) {
  try {
    std::string root = StateDir::Open(root_flag).root();
    GcLock lock = GcLock::Shared(root);  // no prune removes what this command reads or writes
    layers::OciLayout store(StateDir(root).oci(), StateDir(root).tmp());
    return fn(store, root);
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

// The image named `name`, or std::nullopt after saying so on `err`.
std::optional<layers::Descriptor> FindImage(layers::OciLayout& store, const std::string& root,
                                            const std::string& name, std::ostream& err) {
  std::optional<layers::Descriptor> d = store.Find(name);
  if (!d) err << "error: no image " << name << " in " << StateDir(root).oci() << "\n";
  return d;
}

}  // namespace

int RunImages(const StoreOptions& options, std::ostream& out, std::ostream& err) {
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    if (!options.json)
      out << std::left << std::setw(40) << "NAME" << std::setw(22) << "MANIFEST"
          << "SIZE\n";
    for (const layers::Descriptor& d : store.Manifests()) {
      auto name = d.annotations.count(layers::kRefNameAnnotation)
                      ? d.annotations.at(layers::kRefNameAnnotation)
                      : "<none>";
      layers::Manifest m = layers::Manifest::Parse(store.store().ReadBlob(d.digest));
      int64_t size = d.size + m.config.size;
      for (const layers::Descriptor& l : m.layers) size += l.size;
      if (options.json) {
        list.push_back({{"name", name}, {"digest", d.digest.str()}, {"size", size}});
      } else {
        out << std::setw(40) << name << std::setw(22) << d.digest.str().substr(0, 19) << size
            << "\n";
      }
    }
    if (options.json) out << list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  });
}

int RunInspect(const StoreOptions& options, std::ostream& out, std::ostream& err) {
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    std::optional<layers::Descriptor> d = FindImage(store, root, options.name, err);
    if (!d) return 1;
    nlohmann::ordered_json m = nlohmann::ordered_json::parse(store.store().ReadBlob(d->digest));
    layers::Descriptor config = layers::Manifest::Parse(store.store().ReadBlob(d->digest)).config;
    nlohmann::ordered_json doc = {
        {"name", layers::NormalizeTag(options.name)},
        {"digest", d->digest.str()},
        {"manifest", m},
        {"config", nlohmann::ordered_json::parse(store.store().ReadBlob(config.digest))}};
    out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  });
}

int RunTag(const StoreOptions& options, const std::string& target, std::ostream& out,
           std::ostream& err) {
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    std::optional<layers::Descriptor> d = FindImage(store, root, options.name, err);
    if (!d) return 1;
    d->annotations.clear();
    store.Tag(target, *d);
    out << layers::NormalizeTag(target) << "\n";
    return 0;
  });
}

int RunRemove(const StoreOptions& options, const std::vector<std::string>& names, std::ostream& out,
              std::ostream& err) {
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    int code = 0;
    for (const std::string& n : names) {
      if (store.Untag(n)) {
        out << "untagged " << layers::NormalizeTag(n) << "\n";
      } else {
        err << "error: no image " << n << "\n";
        code = 1;
      }
    }
    return code;
  });
}

int RunLoad(const StoreOptions& options, const std::string& input, std::ostream& out,
            std::ostream& err) {
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    for (const layers::ImportedImage& img :
         layers::ImportImages(store, input, options.name, StateDir(root).tmp())) {
      out << "loaded " << (img.name.empty() ? "<untagged>" : img.name) << " "
          << img.manifest.digest.str() << "\n";
      if (!img.bare_tag.empty()) {
        err << "note: the layout names this image only by the tag \"" << img.bare_tag
            << "\", not by an image name: it is loaded untagged; name it with `load -t NAME` or `imgbuild tag "
            << img.manifest.digest.str() << " NAME`\n";
      }
    }
    return 0;
  });
}

int RunSave(const StoreOptions& options, const std::vector<std::string>& names,
            const std::string& output, const std::string& format, std::ostream& out,
            std::ostream& err) {
  if (format != "oci" && format != "docker") {
    err << "error: --format must be oci or docker\n";
    return 2;
  }
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    std::vector<layers::ExportItem> items;
    for (const std::string& n : names) {
      std::optional<layers::Descriptor> d = FindImage(store, root, n, err);
      if (!d) return 1;
      items.push_back({*d, {n}});
    }
    layers::ExportOptions eo;
    eo.compression = layers::ParseCompression(options.compression);
    eo.level = options.compression_level;
    layers::CheckLevel(eo.compression, eo.level);
    eo.memo_dir = StateDir(root).compressed();
    layers::ExportImages(
        store, items,
        format == "docker" ? layers::ExportFormat::kDockerTar : layers::ExportFormat::kOciTar,
        output, eo);
    for (const std::string& n : names)
      out << "saved " << layers::NormalizeTag(n) << " to " << output << "\n";
    return 0;
  });
}

}  // namespace imgbuild::builder
