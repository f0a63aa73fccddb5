// A target or build platform (os/arch/variant) as the plan and the predefined ARGs see it,
// normalised the way containerd normalises platform strings.
#pragma once

#include <string>

namespace imgbuild::frontend {

struct PlatformSpec {
  std::string os = "linux";
  std::string arch;
  std::string variant;

  std::string ToString() const;
  // "linux/arm64/v8", "linux/amd64", "arm64" (os defaults to linux), normalised as containerd
  // does (aarch64 → arm64, armhf → arm/v7, arm → arm/v7) and checked against the OCI platform
  // table (Go's GOOS/GOARCH, the known variants). Throws std::invalid_argument, also for a list.
  static PlatformSpec Parse(const std::string& text);
  static PlatformSpec Host();
};

}  // namespace imgbuild::frontend
