// What the registry commands share (pull, push, login, manifest): registry options from the
// command's flags with retries and transfer progress said through a BlobMeter, the meter for
// standard error, the platform of a --platform value, and the exit codes of a command body.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "builder/cli/blob_meter.h"
#include "builder/cli/commands.h"
#include "layers/descriptor.h"
#include "layers/registry/client.h"

namespace imgbuild::builder {

layers::registry::RegistryOptions ClientOptions(const RegistryCommandOptions& o, BlobMeter& meter);
// Live on a terminal (standard error), lines elsewhere.
BlobMeter MakeMeter(std::ostream& err);
// Runs a command body: a usage error (bad reference or option) is 2, any other failure 1.
int Guarded(std::ostream& err, const std::function<int()>& body);
// "" and "local" are the host's platform. Throws std::invalid_argument.
layers::Platform PlatformOf(const std::string& spec);

}  // namespace imgbuild::builder
