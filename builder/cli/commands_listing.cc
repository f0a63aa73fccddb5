// `imgbuild images`, `history` and `inspect`: the local store in docker's dialect (tables, short
// IDs, `--format` templates, docker's inspect document).
#include <fnmatch.h>
#include <time.h>

#include <algorithm>
#include <iomanip>
#include <set>

#include "builder/cli/commands.h"
#include "builder/cli/format_template.h"
#include "builder/cli/image_views.h"
#include "builder/cli/store_access.h"
#include "builder/cli/table.h"
#include "builder/state/state_dir.h"
#include "layers/image_index.h"
#include "layers/image.h"

namespace imgbuild::builder {
namespace {

// The column title docker gives a template field.
std::string Header(const std::string& field, bool history) {
  static const std::map<std::string, std::string> kImages = {
      {".ID", "IMAGE ID"}, {".Repository", "REPOSITORY"}, {".Tag", "TAG"}, {".Digest", "DIGEST"},
      {".CreatedSince", "CREATED"}, {".CreatedAt", "CREATED AT"}, {".Size", "SIZE"}};
  static const std::map<std::string, std::string> kHistory = {
      {".ID", "IMAGE"}, {".CreatedSince", "CREATED"}, {".CreatedAt", "CREATED AT"}, {".CreatedBy", "CREATED BY"},
      {".Size", "SIZE"}, {".Comment", "COMMENT"}};
  const auto& names = history ? kHistory : kImages;
  auto it = names.find(field);
  if (it != names.end()) return it->second;
  std::string h = field.substr(field.rfind('.') + 1);
  for (char& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return h;
}

// Prints `rows` (docker's field objects) per `format`: "" or "table" for `table_default`, "json"
// for one JSON object a line, "table TEMPLATE" with a header row, or a bare TEMPLATE.
void PrintRows(const std::vector<nlohmann::ordered_json>& rows, const std::string& format,
               const std::string& table_default, bool history, std::ostream& out) {
  if (format == "json") {
    for (const auto& r : rows) out << r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  bool table = format.empty() || format.rfind("table", 0) == 0;
  std::string text = format.empty() || format == "table" ? table_default : table ? format.substr(5) : format;
  while (table && !text.empty() && text.front() == ' ') text.erase(0, 1);
  FormatTemplate t(text);
  if (!table) {
    for (const auto& r : rows) out << t.Render(r) << "\n";
    return;
  }
  // A table: the template's tab-separated cells, laid out as docker's tabwriter does.
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header;
  for (const std::string& f : t.Fields()) header.push_back(Header(f, history));
  cells.push_back(header);
  for (const auto& r : rows) {
    std::string line = t.Render(r);
    std::vector<std::string> row;
    size_t start = 0, tab;
    while ((tab = line.find('\t', start)) != std::string::npos) {
      row.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    row.push_back(line.substr(start));
    cells.push_back(row);
  }
  out << Tabulate(cells);
}

bool Keep(const ImageRow& row, const std::vector<std::pair<std::string, std::string>>& filters) {
  for (const auto& [key, value] : filters) {
    if (key == "dangling") {
      if ((value == "true") != (row.repository == "<none>")) return false;
    } else {  // reference: docker matches the pattern against NAME:TAG and NAME
      std::string named = row.repository + ":" + row.tag;
      if (row.repository == "<none>" || (::fnmatch(value.c_str(), named.c_str(), FNM_PATHNAME) != 0 &&
                                         ::fnmatch(value.c_str(), row.repository.c_str(), FNM_PATHNAME) != 0))
        return false;
    }
  }
  return true;
}

int64_t Now() { return static_cast<int64_t>(::time(nullptr)); }

// A listing's --format (json, table, "table TEMPLATE" or TEMPLATE) checked before the store is
// read; false after saying why.
bool FormatIsValid(const std::string& format, std::ostream& err) {
  try {
    if (!format.empty() && format != "json") FormatTemplate(format.rfind("table", 0) == 0 ? format.substr(5) : format);
    return true;
  } catch (const TemplateError& e) {
    err << "error: --format: " << e.what() << "\n";
    return false;
  }
}

// history --tree: the image's steps oldest first (the base at the top, as dive shows them), each
// with its layer's size and a bar against the largest layer, and the instruction that made it.
void PrintHistoryTree(const std::string& name, std::vector<HistoryRow> rows, std::ostream& out) {
  std::reverse(rows.begin(), rows.end());
  int64_t total = 0, largest = 1;
  int layers = 0;
  for (const HistoryRow& h : rows) {
    total += h.size;
    largest = std::max(largest, h.size);
    layers += h.size > 0;
  }
  std::string id = rows.empty() ? "" : rows.back().image;
  out << name << "  " << (id.rfind("sha256:", 0) == 0 ? id.substr(7, 12) : id) << "  " << layers << " layers, "
      << HumanSize(static_cast<double>(total)) << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const HistoryRow& h = rows[i];
    const int width = 24;
    int full = h.size > 0 ? std::max(1, static_cast<int>(static_cast<double>(h.size) * width / static_cast<double>(largest) + 0.5)) : 0;
    std::string bar = std::string(static_cast<size_t>(full), '#') + std::string(static_cast<size_t>(width - full), '.');
    std::string by = h.created_by;
    for (char& c : by)
      if (c == '\t' || c == '\n') c = ' ';
    std::string size = HumanSize(static_cast<double>(h.size));
    out << (i + 1 == rows.size() ? "└─ " : "├─ ") << std::string(size.size() < 8 ? 8 - size.size() : 0, ' ') << size << " "
        << bar << "  " << by << "\n";
  }
}

}  // namespace

int RunImages(const StoreOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<std::pair<std::string, std::string>> filters;
  for (const std::string& f : options.filters) {
    size_t eq = f.find('=');
    std::string key = f.substr(0, eq), value = eq == std::string::npos ? "" : f.substr(eq + 1);
    if (eq == std::string::npos || (key != "reference" && key != "dangling") ||
        (key == "dangling" && value != "true" && value != "false")) {
      err << "error: --filter " << f << ": use reference=PATTERN or dangling=true|false\n";
      return 2;
    }
    filters.emplace_back(key, value);
  }
  if (!FormatIsValid(options.format, err)) return 2;
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    std::vector<ImageRow> rows = ListImages(store, StateDir(root).compressed());
    if (options.json) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const ImageRow& r : rows) {
        if (!Keep(r, filters)) continue;
        std::string name = r.repository == "<none>" ? "<none>" : r.repository + (r.tag == "<none>" ? "" : ":" + r.tag);
        list.push_back({{"name", name}, {"id", r.id}, {"digest", r.digest}, {"created", r.created}, {"size", r.size}});
      }
      out << list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return 0;
    }
    std::vector<nlohmann::ordered_json> fields;
    std::set<std::string> seen;
    for (const ImageRow& r : rows) {
      if (!Keep(r, filters)) continue;
      nlohmann::ordered_json f = RowFields(r, options.no_trunc, Now());
      if (options.quiet) {
        // -q: each image once (docker lists an ID once however many names it has).
        if (seen.insert(f["ID"].get<std::string>()).second) out << f["ID"].get<std::string>() << "\n";
        continue;
      }
      fields.push_back(f);
    }
    if (options.quiet) return 0;
    std::string table = options.digests ? "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                                        : "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    PrintRows(fields, options.format, table, false, out);
    return 0;
  });
}

int RunHistory(const StoreOptions& options, std::ostream& out, std::ostream& err) {
  if (!FormatIsValid(options.format, err)) return 2;
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    std::optional<layers::Descriptor> d = FindImage(store, root, options.name, err);
    if (!d) return 1;
    if (options.tree) {
      PrintHistoryTree(options.name, ImageHistory(store, StateDir(root).compressed(), ShownManifest(store, *d, options.platform)), out);
      return 0;
    }
    std::vector<nlohmann::ordered_json> fields;
    for (const HistoryRow& h : ImageHistory(store, StateDir(root).compressed(), ShownManifest(store, *d, options.platform))) {
      std::string id = h.image;
      if (!options.no_trunc && id.rfind("sha256:", 0) == 0) id = id.substr(7, 12);
      if (options.quiet) {
        out << id << "\n";
        continue;
      }
      std::string by = h.created_by;
      for (char& c : by)
        if (c == '\t') c = ' ';
      if (!options.no_trunc) {
        // docker's Ellipsis(s, 45), counted in characters
        std::vector<size_t> starts;
        for (size_t i = 0; i < by.size(); ++i)
          if ((static_cast<unsigned char>(by[i]) & 0xC0) != 0x80) starts.push_back(i);
        if (starts.size() > 45) by = by.substr(0, starts[44]) + "…";
      }
      std::string since = h.created_unix < 0 ? "N/A" : HumanDuration(static_cast<double>(Now() - h.created_unix)) + " ago";
      fields.push_back({{"ID", id},
                        {"CreatedSince", options.human ? since : h.created},
                        {"CreatedAt", h.created},
                        {"CreatedBy", by},
                        {"Size", options.human ? HumanSize(static_cast<double>(h.size)) : std::to_string(h.size)},
                        {"Comment", h.comment}});
    }
    if (options.quiet) return 0;
    PrintRows(fields, options.format, "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", true, out);
    return 0;
  });
}

int RunInspect(const StoreOptions& options, std::ostream& out, std::ostream& err) {
  std::optional<FormatTemplate> tmpl;
  if (!options.format.empty() && options.format != "docker") {
    try {
      tmpl.emplace(options.format);
    } catch (const TemplateError& e) {
      err << "error: --format: " << e.what() << "\n";
      return 2;
    }
  }
  return WithStore(options.root, err, [&](layers::OciLayout& store, const std::string& root) {
    std::optional<layers::Descriptor> d = FindImage(store, root, options.name, err);
    if (!d) return 1;
    if (options.format == "docker") {
      out << nlohmann::ordered_json::array({DockerInspect(store, StateDir(root).compressed(), *d, options.platform)}).dump(4, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
      return 0;
    }
    if (tmpl) {
      out << tmpl->Render(DockerInspect(store, StateDir(root).compressed(), *d, options.platform)) << "\n";
      return 0;
    }
    const std::string name = d->annotations.count(layers::kRefNameAnnotation)
                                 ? layers::NormalizeTag(d->annotations.at(layers::kRefNameAnnotation))
                                 : options.name;
    if (layers::IsIndex(d->media_type) && options.platform.empty()) {
      // A multi-platform image: its index, and each platform's manifest digest.
      nlohmann::ordered_json platforms = nlohmann::ordered_json::array();
      for (const layers::Descriptor& each : layers::IndexManifests(store.store(), *d)) {
        platforms.push_back({{"platform", each.platform ? layers::PlatformText(*each.platform) : ""}, {"digest", each.digest.str()}});
      }
      nlohmann::ordered_json doc = {{"name", name},
                                    {"digest", d->digest.str()},
                                    {"index", nlohmann::ordered_json::parse(store.store().ReadBlob(d->digest))},
                                    {"platforms", platforms}};
      out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return 0;
    }
    const layers::Descriptor shown = ShownManifest(store, *d, options.platform);
    nlohmann::ordered_json m = nlohmann::ordered_json::parse(store.store().ReadBlob(shown.digest));
    layers::Descriptor config = layers::Manifest::Parse(store.store().ReadBlob(shown.digest)).config;
    nlohmann::ordered_json doc = {
        {"name", name},
        {"digest", shown.digest.str()},
        {"manifest", m},
        {"config", nlohmann::ordered_json::parse(store.store().ReadBlob(config.digest))}};
    if (shown.digest != d->digest) doc["index"] = d->digest.str();
    out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  });
}

}  // namespace imgbuild::builder
