// The default network of RUN steps: a network namespace of the build's own (its steps share it,
// as containers share a bridge), connected to the outside world by pasta (Debian's passt), a
// user-mode TCP/UDP/ICMP stack that imgbuild starts at the first step that needs it and stops at
// the end of the build. Steps see an interface, a default route and the host's DNS servers; they
// do not see the host's network namespace: the host's loopback services and abstract unix
// sockets are out of reach (pasta runs with --no-map-gw, so the gateway address is not the host,
// and forwards no port in either direction).
#pragma once

#include <sys/types.h>

#include <string>

namespace imgbuild::builder {

// Where queries go when the host's resolver is on its own loopback (systemd-resolved's
// 127.0.0.53): the step's resolv.conf names this address and pasta forwards it to the host's.
inline constexpr const char* kForwardedDnsAddress = "169.254.1.53";

// resolv.conf text for a step with a network of its own: loopback nameservers (unreachable
// from the step) become kForwardedDnsAddress; `forwarded` says whether any did.
std::string PrivateResolvConf(const std::string& host_resolv, bool* forwarded);

// Stops the pasta whose pid file this is (a step's, or one a killed build left); never throws.
// `wait_for_file`: the file may still be on its way (pasta writes it as it starts).
void StopPasta(const std::string& pid_file, bool wait_for_file) noexcept;

class UserNetwork {
 public:
  // Makes a network namespace (loopback up) and connects it to the outside through pasta; `dir`
  // (private, existing) holds the namespace's bind-mounted file and pasta's pid file. Throws
  // SysError naming what failed (pasta missing: how to install it).
  UserNetwork(const std::string& dir, bool forward_dns);
  ~UserNetwork();  // stops pasta and releases the namespace; never throws
  UserNetwork(const UserNetwork&) = delete;
  UserNetwork& operator=(const UserNetwork&) = delete;

  // The namespace, for setns(2) in a sandbox (open for the object's life).
  int ns_fd() const { return ns_fd_; }

 private:
  void Release() noexcept;
  std::string ns_file_, pid_file_;
  int ns_fd_ = -1;
};

}  // namespace imgbuild::builder
