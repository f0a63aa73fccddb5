// Mount points the sandbox needs in a rootfs that lacks them (/proc, /etc/hosts, a bind mount's
// target): created before a RUN, removed after it when they are still the empty stubs they were,
// with their parent directories' times put back, so that they never reach a layer.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

namespace imgbuild::builder {

class MountStubs {
 public:
  explicit MountStubs(std::string root) : root_(std::move(root)) {}
  ~MountStubs() { Remove(); }
  MountStubs(const MountStubs&) = delete;
  MountStubs& operator=(const MountStubs&) = delete;

  // Makes `path` (absolute inside the root; symlinks followed within it) exist as a directory, or
  // as an empty file when `dir` is false, creating missing parents as directories. Returns the
  // root-relative path it resolved to. Throws SysError.
  std::string Ensure(const std::string& path, bool dir);

  // Removes what Ensure created that is still an empty stub, newest first; never throws.
  void Remove() noexcept;

 private:
  struct Created {
    std::string rel;
    bool dir;
    // The parent's times before the stub was made and right after: restored only when nothing
    // else touched the parent meanwhile.
    struct timespec parent_before[2];
    struct timespec parent_after;
  };
  std::string root_;
  std::vector<Created> created_;
};

}  // namespace imgbuild::builder
