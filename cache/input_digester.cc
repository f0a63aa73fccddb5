#include "cache/input_digester.h"

#include "layers/sys_error.h"

namespace imgbuild::cache {

InputDigest InputDigester::Digest(std::vector<InputFile> files, unsigned threads) {
  // Unchanged selections are found by their stat fingerprint: no per-file lookups at all.
  std::string fp = InputsFingerprint(files, memo_.settle_ns());
  std::string base = dir_ + "/inputs/" + fp;
  if (!fp.empty()) {
    try {
      InputDigest d;
      std::string text = layers::ReadFile(base + ".digest");
      d.digest = layers::Digest::Parse(text.substr(0, text.find('\n')));
      d.files_path = base + ".files";
      return d;
    } catch (const std::exception&) {
      // not seen before (or damaged): compute it
    }
  }
  InputDigest d = DigestInputs(std::move(files), memo_, threads);
  if (!fp.empty()) {
    try {
      layers::MakeDirs(dir_ + "/inputs");
      std::string list;
      for (const auto& [path, h] : d.files) list += h + " " + path + "\n";
      layers::WriteFileAtomic(base + ".files", list);  // first: a digest file never lacks its list
      layers::WriteFileAtomic(base + ".digest", d.digest.str() + "\n");
    } catch (const std::exception&) {
      // only a speed-up
    }
  }
  return d;
}

}  // namespace imgbuild::cache
