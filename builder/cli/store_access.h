// How the store commands open the local store: under the GC's shared lock, every failure turned
// into "error: ..." and exit code 1.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "layers/descriptor.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {

// Opens the local store of `root_flag` and runs `fn`; any failure becomes "error: ..." and 1.
int WithStore(const std::string& root_flag, std::ostream& err,
              const std::function<int(layers::OciLayout& store, const std::string& root)>& fn);

// The image named `name` (a name, a digest, or a short ID), or std::nullopt after saying so on `err`.
std::optional<layers::Descriptor> FindImage(layers::OciLayout& store, const std::string& root, const std::string& name,
                                            std::ostream& err);

// A tar for standard output (build -o dest=-, save without -o): `make` writes it into scratch
// space under ROOT/tmp, then it is copied to `out`, so a failure never leaves half a tar on the
// stream. Throws layers::Error when `out` fails.
void ExportToStream(const std::string& root, std::ostream& out, const std::function<void(const std::string& path)>& make);

}  // namespace imgbuild::builder
