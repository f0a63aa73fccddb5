// Busybox bases for other platforms: Debian's busybox-static of arm64 and armhf, unpacked by
// scripts/foreign-busybox.sh (setup.sh) into BUILD/foreign, made into busybox:arm64
// (linux/arm64) and busybox:armv7 (linux/arm/v7) in the test's state dir.
#pragma once

#include <filesystem>
#include <string>

#include "busybox_fixture.h"

namespace imgbuild::testing {

class ForeignBusyboxTest : public BusyboxTest {
 protected:
  void SetUp() override {
    BusyboxTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::pair<const char*, const char*> bases[] = {{"arm64", "linux/arm64"}, {"armhf", "linux/arm/v7"}};
    for (const auto& [debian, platform] : bases) {
      std::string binary = std::string(IMGBUILD_BINARY_DIR) + "/foreign/" + debian + "/busybox";
      ASSERT_TRUE(std::filesystem::exists(binary)) << binary << " is missing: run scripts/setup.sh (it fetches busybox-static:"
                                                   << debian << " with apt)";
      std::string ctx = dir_ + "/busybox-" + debian;
      int code;
      std::string out = Sh(std::string(IMGBUILD_SOURCE_DIR) + "/testdata/busybox/make-context.sh " + ctx + " " + binary, &code);
      ASSERT_EQ(code, 0) << out;
      std::string tag = std::string(debian) == "armhf" ? "busybox:armv7" : "busybox:arm64";
      RunResult r = RunImgbuild("build --root " + root_ + " --platform " + platform + " -t " + tag + " " + ctx);
      ASSERT_EQ(r.code, 0) << r.err;
    }
  }
  // busybox:multi: one image for linux/amd64, linux/arm64 and linux/arm/v7 (an index), built
  // from scratch with each platform's busybox (COPY rootfs-${TARGETARCH}/).
  void MakeMultiBase() {
    std::string ctx = dir_ + "/busybox-multi";
    std::filesystem::create_directories(ctx);
    const std::pair<std::string, std::string> arches[] = {
        {"amd64", "/bin/busybox"},
        {"arm64", std::string(IMGBUILD_BINARY_DIR) + "/foreign/arm64/busybox"},
        {"arm", std::string(IMGBUILD_BINARY_DIR) + "/foreign/armhf/busybox"}};
    for (const auto& [arch, binary] : arches) {
      int code;
      std::string out = Sh(std::string(IMGBUILD_SOURCE_DIR) + "/testdata/busybox/make-context.sh " + dir_ + "/bb-" + arch + " " +
                               binary + " && mv " + dir_ + "/bb-" + arch + "/rootfs " + ctx + "/rootfs-" + arch,
                           &code);
      ASSERT_EQ(code, 0) << out;
    }
    std::ofstream(ctx + "/Buildfile") << "FROM scratch\nARG TARGETARCH\nCOPY rootfs-${TARGETARCH}/ /\nENV PATH=/bin\nCMD [\"/bin/sh\"]\n";
    RunResult r = RunImgbuild("build --root " + root_ + " --platform linux/amd64,linux/arm64,linux/arm/v7 -t busybox:multi " + ctx);
    ASSERT_EQ(r.code, 0) << r.err;
  }
};

}  // namespace imgbuild::testing
