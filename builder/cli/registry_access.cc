#include "builder/cli/registry_access.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include "builder/cli/user_message.h"
#include "frontend/platform_spec.h"

namespace imgbuild::builder {

using namespace layers::registry;

RegistryOptions ClientOptions(const RegistryCommandOptions& o, BlobMeter& meter) {
  RegistryOptions r;
  r.tls_verify = o.tls_verify;
  r.chunk_size = o.chunk_size;
  r.on_retry = [&meter](const std::string& what) { meter.Line("retrying: " + what); };
  r.on_blob_progress = [&meter](const layers::Digest& blob, int64_t done, int64_t size) { meter.Progress(blob, done, size); };
  return r;
}

BlobMeter MakeMeter(std::ostream& err) {
  struct winsize ws {};
  bool tty = ::isatty(2) != 0;
  size_t columns = tty && ::ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
  return BlobMeter(err, tty, columns);
}

int Guarded(std::ostream& err, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "error: " << UserMessage(e) << "\n";
    return 1;
  }
}

layers::Platform PlatformOf(const std::string& spec) {
  if (spec.empty() || spec == "local") return layers::Platform::Host();
  frontend::PlatformSpec p = frontend::PlatformSpec::Parse(spec);
  return {p.os, p.arch, p.variant};
}

}  // namespace imgbuild::builder
