// Scratch directories that survive nothing: each holds a locked `.lock` while its process lives,
// and whoever makes the next one removes those whose owner died (a `load` or `save` killed with
// SIGKILL leaves a full copy of an image behind otherwise).
#pragma once

#include <string>

#include "layers/sys_error.h"

namespace imgbuild::layers {

class ScratchDir {
 public:
  // Makes PARENT/<prefix><random>, locked; first removes each PARENT entry whose name contains
  // `marker` and whose lock nobody holds (one not locked yet only while it is still empty).
  ScratchDir(const std::string& parent, const std::string& prefix, const std::string& marker);
  ~ScratchDir();  // removes it
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd lock_;
};

// The removal step of the constructor, on its own.
void ReapScratchDirs(const std::string& parent, const std::string& marker);

}  // namespace imgbuild::layers
