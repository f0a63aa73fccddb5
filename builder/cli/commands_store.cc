// `imgbuild tag`, `rm`, `load` and `save`: the local store (listings: commands_listing.cc).
#include <unistd.h>

#include <fstream>
#include <functional>
#include <vector>
#include <iomanip>
#include <optional>

#include "builder/cli/commands.h"
#include "builder/cli/user_message.h"
#include "builder/cli/store_access.h"
#include "builder/state/gc.h"
#include "builder/state/state_dir.h"
#include "layers/image_export.h"
#include "layers/image_import.h"
#include "layers/image.h"
#include "layers/oci_layout.h"
#include "layers/scratch_dir.h"

namespace imgbuild::builder {
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
        continue;
      }
      // An ID or a digest: the image goes with all its names, which takes -f when it has several
      // (docker's rule).
      std::optional<layers::Descriptor> d;
      try {
        d = store.Find(n);
      } catch (const std::exception& e) {
        err << "error: " << UserMessage(e) << "\n";
        code = 1;
        continue;
      }
      if (!d) {
        err << "error: no image " << n << "\n";
        code = 1;
        continue;
      }
      std::vector<std::string> named;
      for (const layers::Descriptor& m : store.Manifests()) {
        auto it = m.annotations.find(layers::kRefNameAnnotation);
        if (m.digest == d->digest && it != m.annotations.end()) named.push_back(layers::NormalizeTag(it->second));
      }
      if (named.size() > 1 && !options.force) {
        std::string list;
        for (const std::string& x : named) list += (list.empty() ? "" : ", ") + x;
        err << "error: " << n << " names an image with several names (" << list
            << "): remove them by name, or use -f to remove them all\n";
        code = 1;
        continue;
      }
      for (const std::string& x : store.RemoveImage(d->digest))
        out << (x.empty() ? "deleted " + d->digest.str() : "untagged " + layers::NormalizeTag(x)) << "\n";
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
  if ((output.empty() || output == "-") && ::isatty(1)) {
    err << "error: refusing to write a tar to the terminal: give -o FILE or redirect standard output\n";
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
    const layers::ExportFormat f = format == "docker" ? layers::ExportFormat::kDockerTar : layers::ExportFormat::kOciTar;
    if (output.empty() || output == "-") {
      // Standard output, as `docker save` without -o: staged in scratch space, then copied, so a
      // failure leaves no half tar on the stream. Messages go to stderr.
      ExportToStream(root, out, [&](const std::string& path) { layers::ExportImages(store, items, f, path, eo); });
      for (const std::string& n : names) err << "saved " << layers::NormalizeTag(n) << " to standard output\n";
      return 0;
    }
    layers::ExportImages(store, items, f, output, eo);
    for (const std::string& n : names)
      out << "saved " << layers::NormalizeTag(n) << " to " << output << "\n";
    return 0;
  });
}

}  // namespace imgbuild::builder
