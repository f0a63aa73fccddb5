// libFuzzer target: any bytes as a layer blob (plain tar or compressed) through the applier,
// in each of its modes, into a fresh directory. Only layers::Error (hostile or unreadable
// layers) and std::runtime_error from libarchive are expected; and nothing may appear outside
// the target directory.
#include <dirent.h>
#include <grp.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "fuzz_sandbox.h"
#include "layers/applier.h"

namespace {

std::string work;

int CountEntries(const std::string& dir) {
  int n = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// Layers may make directories nobody can read or write (mode 0322): opened up before removal.
void OpenUp(const std::string& dir) {
  if (::chmod(dir.c_str(), 0700) != 0) return;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != ".." && e->d_type == DT_DIR) OpenUp(dir + "/" + n);
    }
    ::closedir(d);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  work = imgbuild::fuzzing::MakeWorkDirAndDropRoot("imgbuild-applier-fuzz");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imgbuild::layers;
  if (size == 0) return 0;
  const std::string blob = work + "/blob", target = work + "/target";
  std::ofstream(blob, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data + 1),
                                                                 static_cast<std::streamsize>(size - 1));
  std::filesystem::create_directory(target);
  ApplyOptions o;
  o.allow_devices = false;
  o.overlay_format = data[0] & 1;
  o.whiteouts = data[0] & 2;
  if (data[0] & 4) o.diff_id = Digest::OfBytes("x");
  o.max_entry_size = 1 << 20;
  try {
    ApplyLayer(blob, target, o);
  } catch (const Error&) {
  } catch (const std::runtime_error&) {
  }
  OpenUp(target);
  std::error_code ec;
  std::filesystem::remove_all(target, ec);
  if (CountEntries(work) != 1) std::abort();  // only the blob: nothing was written beside the target
  return 0;
}
