#include "builder/rootfs/file_owner.h"

#include <fcntl.h>

#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "layers/root_dir.h"

namespace imgbuild::builder {
namespace {

bool IsNumber(const std::string& s) {
  return !s.empty() && s.size() < 11 && s.find_first_not_of("0123456789") == std::string::npos;
}

// A passwd- or group-style file of the image, opened inside its root; "" when it is missing or
// not a regular file (a FIFO or a device there must not block or feed the build), at most 16 MiB.
std::string ReadImageFile(const std::string& rootfs, const std::string& file) {
  layers::RootDir root(rootfs);
  int fd = root.TryOpen(file, O_RDONLY | O_NONBLOCK);
  if (fd < 0) return "";
  layers::UniqueFd f(fd);
  struct stat st;
  if (::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  std::string out;
  char buf[65536];
  ssize_t n;
  while (out.size() < (16u << 20) && (n = ::read(f.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// Finds `name` in a passwd- or group-style file of the image: returns fields of its line.
std::optional<std::vector<std::string>> Lookup(const std::string& rootfs, const std::string& file,
                                               const std::string& name) {
  std::istringstream in(ReadImageFile(rootfs, file));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ':')) fields.push_back(f);
    if (fields.size() >= 3 && fields[0] == name) return fields;
  }
  return std::nullopt;
}

// Every line of a passwd- or group-style file of the image, split into fields.
std::vector<std::vector<std::string>> ReadEntries(const std::string& rootfs, const std::string& file) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(ReadImageFile(rootfs, file));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    size_t start = 0;
    while (start <= line.size()) {
      size_t colon = line.find(':', start);
      if (colon == std::string::npos) colon = line.size();
      fields.push_back(line.substr(start, colon - start));
      start = colon + 1;
    }
    if (fields.size() >= 3 && IsNumber(fields[2])) out.push_back(std::move(fields));
  }
  return out;
}

}  // namespace

ExecUser ResolveExecUser(const std::string& spec, const std::string& rootfs) {
  size_t colon = spec.find(':');
  std::string user = spec.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (user.empty()) user = "0";
  ExecUser out;
  std::string name;
  bool found = false;
  for (const auto& f : ReadEntries(rootfs, "/etc/passwd")) {
    if (f.size() < 4 || !IsNumber(f[3])) continue;
    if (f[0] == user || (IsNumber(user) && f[2] == std::to_string(std::stoul(user)))) {
      out.uid = static_cast<uid_t>(std::stoul(f[2]));
      out.gid = static_cast<gid_t>(std::stoul(f[3]));
      if (f.size() > 5 && !f[5].empty()) out.home = f[5];
      name = f[0];
      found = true;
      break;
    }
  }
  if (!found) {
    if (!IsNumber(user)) throw OwnerError("unable to find user " + user + ": no matching entries in passwd file");
    out.uid = static_cast<uid_t>(std::stoul(user));
  }
  std::vector<std::vector<std::string>> groups = ReadEntries(rootfs, "/etc/group");
  if (!group.empty()) {
    bool group_found = false;
    for (const auto& f : groups) {
      if (f[0] == group || (IsNumber(group) && f[2] == std::to_string(std::stoul(group)))) {
        out.gid = static_cast<gid_t>(std::stoul(f[2]));
        group_found = true;
        break;
      }
    }
    if (!group_found) {
      if (!IsNumber(group)) throw OwnerError("unable to find group " + group + ": no matching entries in group file");
      out.gid = static_cast<gid_t>(std::stoul(group));
    }
  } else if (!name.empty()) {
    for (const auto& f : groups) {
      if (f.size() < 4) continue;
      std::stringstream members(f[3]);
      std::string m;
      while (std::getline(members, m, ',')) {
        if (m == name) {
          out.groups.push_back(static_cast<gid_t>(std::stoul(f[2])));
          break;
        }
      }
    }
  }
  // The primary group is among the supplementary ones, as containerd and BuildKit set them since
  // CVE-2023-25173 (a process must not shed its primary group with setgroups).
  if (std::find(out.groups.begin(), out.groups.end(), out.gid) == out.groups.end()) {
    out.groups.insert(out.groups.begin(), out.gid);
  }
  return out;
}

Owner ResolveOwner(const std::string& spec, const std::string& rootfs) {
  size_t colon = spec.find(':');
  std::string user = spec.substr(0, colon);
  std::optional<std::string> group;
  if (colon != std::string::npos) group = spec.substr(colon + 1);
  Owner o;
  std::optional<gid_t> primary;
  if (user.empty()) {
    o.uid = 0;
  } else if (IsNumber(user)) {
    o.uid = static_cast<uid_t>(std::stoul(user));
    primary = static_cast<gid_t>(o.uid);
  } else {
    auto fields = Lookup(rootfs, "/etc/passwd", user);
    if (!fields || fields->size() < 4 || !IsNumber((*fields)[2]) || !IsNumber((*fields)[3])) {
      throw OwnerError("unable to find user " + user + ": no matching entries in the image's /etc/passwd");
    }
    o.uid = static_cast<uid_t>(std::stoul((*fields)[2]));
    primary = static_cast<gid_t>(std::stoul((*fields)[3]));
  }
  if (!group || group->empty()) {
    o.gid = primary.value_or(0);
  } else if (IsNumber(*group)) {
    o.gid = static_cast<gid_t>(std::stoul(*group));
  } else {
    auto fields = Lookup(rootfs, "/etc/group", *group);
    if (!fields || !IsNumber((*fields)[2])) {
      throw OwnerError("unable to find group " + *group + ": no matching entries in the image's /etc/group");
    }
    o.gid = static_cast<gid_t>(std::stoul((*fields)[2]));
  }
  return o;
}

mode_t ApplyChmod(const std::string& spec, mode_t mode) {
  const mode_t type = mode & S_IFMT;
  if (!spec.empty() && spec.find_first_not_of("01234567") == std::string::npos) {
    if (spec.size() > 4) throw OwnerError("invalid --chmod=" + spec);
    return type | static_cast<mode_t>(std::stoul(spec, nullptr, 8));
  }
  mode_t perm = mode & 07777;
  std::stringstream clauses(spec);
  std::string clause;
  while (std::getline(clauses, clause, ',')) {
    size_t i = 0;
    mode_t who = 0;
    for (; i < clause.size() && std::string("ugoa").find(clause[i]) != std::string::npos; ++i) {
      who |= clause[i] == 'u' ? 04700 : clause[i] == 'g' ? 02070 : clause[i] == 'o' ? 01007 : 07777;
    }
    if (who == 0) who = 07777;
    if (i >= clause.size() || std::string("+-=").find(clause[i]) == std::string::npos) {
      throw OwnerError("invalid --chmod=" + spec);
    }
    char op = clause[i++];
    mode_t bits = 0;
    for (; i < clause.size(); ++i) {
      switch (clause[i]) {
        case 'r': bits |= 0444; break;
        case 'w': bits |= 0222; break;
        case 'x': bits |= 0111; break;
        case 'X': if (S_ISDIR(type) || (perm & 0111)) bits |= 0111; break;
        case 's': bits |= 06000; break;
        case 't': bits |= 01000; break;
        default: throw OwnerError("invalid --chmod=" + spec);
      }
    }
    bits &= who;
    if (op == '+') perm |= bits;
    if (op == '-') perm &= ~bits;
    if (op == '=') perm = (perm & ~who) | bits;
  }
  return type | perm;
}

}  // namespace imgbuild::builder
