#include "builder/cli/store_access.h"

#include "builder/cli/user_message.h"

#include <fstream>
#include <vector>

#include "builder/state/gc.h"
#include "builder/state/state_dir.h"
#include "layers/error.h"
#include "layers/scratch_dir.h"

namespace imgbuild::builder {

int WithStore(const std::string& root_flag, std::ostream& err,
              const std::function<int(layers::OciLayout& store, const std::string& root)>& fn) {
  try {
    std::string root = StateDir::Open(root_flag).root();
    GcLock lock = GcLock::Shared(root);  // no prune removes what this command reads or writes
    layers::OciLayout store = LocalStore(StateDir(root));
    return fn(store, root);
  } catch (const std::exception& e) {
    err << "error: " << UserMessage(e) << "\n";
    return 1;
  }
}

std::optional<layers::Descriptor> FindImage(layers::OciLayout& store, const std::string& root, const std::string& name,
                                            std::ostream& err) {
  std::optional<layers::Descriptor> d = store.Find(name);
  if (!d) err << "error: no image " << name << " in " << StateDir(root).oci() << "\n";
  return d;
}

void ExportToStream(const std::string& root, std::ostream& out, const std::function<void(const std::string& path)>& make) {
  layers::ScratchDir scratch(StateDir(root).tmp(), "stdout-", "stdout-");
  std::string path = scratch.path() + "/export.tar";
  make(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) out.write(buf.data(), in.gcount());
  out.flush();
  if (!out) throw layers::Error("writing to standard output failed");
}

}  // namespace imgbuild::builder
