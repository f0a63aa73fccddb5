// libFuzzer target: any bytes as an image archive for `load` (OCI layout tar, Docker 25+ save,
// docker-archive) into a fresh store. Errors are expected; crashes, hangs, leaks, sanitizer
// reports and files outside the work directory are not.
#include <dirent.h>
#include <grp.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "fuzz_sandbox.h"
#include "layers/image_import.h"

namespace {
std::string work;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  work = imgbuild::fuzzing::MakeWorkDirAndDropRoot("imgbuild-load-fuzz");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imgbuild::layers;
  const std::string archive = work + "/in.tar", store_dir = work + "/store";
  std::ofstream(archive, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                    static_cast<std::streamsize>(size));
  std::filesystem::create_directories(store_dir + "/oci");
  std::filesystem::create_directories(store_dir + "/tmp");
  try {
    OciLayout store(store_dir + "/oci", store_dir + "/tmp");
    ImportImages(store, archive, "", store_dir + "/tmp");
  } catch (const std::exception&) {
  }
  std::error_code ec;
  std::filesystem::remove_all(store_dir, ec);
  return 0;
}
