// Image config, manifest and index documents (OCI image spec), as Docker and BuildKit write them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "layers/descriptor.h"

namespace imgbuild::layers {

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string comment;
  bool empty_layer = false;
};

struct Healthcheck {
  std::vector<std::string> test;
  int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;  // nanoseconds
  int retries = 0;
};

// The runtime part of the config ("config" in the JSON).
struct ContainerConfig {
  std::string user;
  std::vector<std::string> env;
  std::optional<std::vector<std::string>> entrypoint, cmd, shell;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports, volumes;
  std::string stop_signal;
  std::optional<Healthcheck> healthcheck;
  std::vector<std::string> on_build;
  bool args_escaped = false;
};

struct ImageConfig {
  std::string created;  // RFC 3339
  std::string author;
  Platform platform;
  ContainerConfig config;
  std::vector<Digest> diff_ids;
  std::vector<HistoryEntry> history;

  nlohmann::ordered_json ToJson() const;
  static ImageConfig FromJson(const nlohmann::json& j);  // throws std::invalid_argument
};

nlohmann::ordered_json ManifestJson(const Descriptor& config, const std::vector<Descriptor>& layers,
                                    const std::map<std::string, std::string>& annotations = {});

// An image manifest as read: its config and layer descriptors and its annotations.
struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;

  // Parses a manifest's JSON. Throws std::invalid_argument naming what is missing or wrong.
  static Manifest Parse(std::string_view bytes);
  // Every blob it names: the config, then the layers.
  std::vector<Descriptor> Blobs() const;
};

// "2024-01-02T03:04:05Z" for a Unix time.
std::string Rfc3339(int64_t unix_seconds);

}  // namespace imgbuild::layers
