// --chown and --chmod for COPY/ADD: user and group names resolved through the image's own
// /etc/passwd and /etc/group (read inside the image root, never the host's), and modes in octal
// (0755) or symbolic (u+x,go-w) form.
#pragma once

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include "layers/error.h"

namespace imgbuild::builder {

class OwnerError : public layers::Error {
 public:
  using layers::Error::Error;
};

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// "1000", "1000:1000", "app", "app:staff", ":staff". A user without a group takes the user's
// primary group (a name) or the same number (a uid). Throws OwnerError for unknown names.
Owner ResolveOwner(const std::string& spec, const std::string& rootfs);

// USER for RUN, as runc resolves it: "name|uid[:group|gid]" through the image's /etc/passwd and
// /etc/group (a uid or gid missing there is used as is). Without an explicit group, the user's
// primary group from passwd and, as supplementary groups, every group that lists the user. The
// supplementary groups always include the primary one (first), as containerd's since CVE-2023-25173.
struct ExecUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home = "/";
};
ExecUser ResolveExecUser(const std::string& spec, const std::string& rootfs);

// Applies an octal or symbolic --chmod to `mode` (file type bits kept). Throws OwnerError.
mode_t ApplyChmod(const std::string& spec, mode_t mode);

}  // namespace imgbuild::builder
