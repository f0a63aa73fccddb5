// The resolv.conf of steps on the build's own network: a resolver on the host's loopback cannot
// be reached from there, so it becomes the address pasta forwards to it; others stay as they are.
#include "builder/sandbox/user_network.h"

#include <gtest/gtest.h>

namespace imgbuild::builder {
namespace {

TEST(PrivateResolvConfTest, LoopbackResolversAreForwarded) {
  bool forwarded = true;
  EXPECT_EQ(PrivateResolvConf("nameserver 10.0.0.2\nsearch example.org\n", &forwarded),
            "nameserver 10.0.0.2\nsearch example.org\n");
  EXPECT_FALSE(forwarded);
  EXPECT_EQ(PrivateResolvConf("# systemd-resolved\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n", &forwarded),
            std::string("# systemd-resolved\nnameserver ") + kForwardedDnsAddress + "\noptions edns0\n");
  EXPECT_TRUE(forwarded);
  EXPECT_EQ(PrivateResolvConf("nameserver 127.0.0.1\nnameserver 9.9.9.9\n", &forwarded),
            std::string("nameserver ") + kForwardedDnsAddress + "\nnameserver 9.9.9.9\n");
}

}  // namespace
}  // namespace imgbuild::builder
