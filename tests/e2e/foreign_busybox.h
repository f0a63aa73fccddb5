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
};

}  // namespace imgbuild::testing
