// `imgbuild pull`, `push`, `login` and `logout`: the local store and registries.
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <mutex>
#include <iostream>

#include "builder/cli/blob_meter.h"
#include "builder/cli/commands.h"
#include "builder/cli/registry_access.h"
#include "builder/cli/user_message.h"
#include "builder/state/gc.h"
#include "builder/state/state_dir.h"
#include "frontend/platform_spec.h"
#include "layers/image_import.h"
#include "layers/layer_writer.h"
#include "layers/oci_layout.h"
#include "layers/registry/auth.h"
#include "layers/registry/transfer.h"

namespace imgbuild::builder {
namespace {

using namespace layers::registry;

}  // namespace


int RunPull(const RegistryCommandOptions& options, std::ostream& out, std::ostream& err) {
  return Guarded(err, [&] {
    Reference ref = Reference::Parse(options.name);
    std::string root = StateDir::Open(options.root).root();
    GcLock lock = GcLock::Shared(root);
    layers::OciLayout store = LocalStore(StateDir(root));
    BlobMeter meter = MakeMeter(err);
    RegistryClient client(ref.domain, ClientOptions(options, meter));
    auto note = [&meter](const std::string& line) { meter.Line(line); };
    PullResult r;
    if (options.all_platforms || options.platform.find(',') != std::string::npos) {
      // The index kept whole, with every platform's image or those listed.
      std::vector<layers::Platform> platforms;
      if (!options.all_platforms) {
        size_t start = 0;
        for (;;) {
          size_t comma = options.platform.find(',', start);
          platforms.push_back(PlatformOf(options.platform.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      }
      r = PullPlatforms(client, ref, platforms, store, {layers::NormalizeTag(options.name)}, 4, note);
    } else {
      r = Pull(client, ref, PlatformOf(options.platform), store, StateDir(root).tmp(), {layers::NormalizeTag(options.name)}, 4,
               note);
    }
    meter.Line("pulled " + ref.String() + " (" + std::to_string(r.blobs_fetched) + " blobs)");
    out << r.manifest.digest.str() << "\n";
    return 0;
  });
}

int RunPush(const RegistryCommandOptions& options, std::ostream& out, std::ostream& err) {
  return Guarded(err, [&] {
    std::string root = StateDir::Open(options.root).root();
    GcLock lock = GcLock::Shared(root);
    layers::OciLayout store = LocalStore(StateDir(root));
    layers::OciLayout* source = &store;
    std::optional<layers::OciLayout> archive;
    std::optional<layers::Descriptor> manifest;
    struct stat st;
    if (options.name.find('/') != std::string::npos && ::stat(options.name.c_str(), &st) == 0) {
      // An OCI layout (dir or tar) or a docker archive made elsewhere: loaded into a scratch store.
      if (options.dest.empty()) throw std::invalid_argument("push of " + options.name + " needs a DEST reference");
      std::string scratch = StateDir(root).tmp() + "/push-" + std::to_string(::getpid());
      archive.emplace(scratch + "/store", scratch + "/tmp");
      auto images = layers::ImportImages(*archive, options.name, "", scratch + "/tmp");
      if (images.empty()) throw std::runtime_error(options.name + " holds no image");
      manifest = images.front().manifest;
      source = &*archive;
    } else {
      manifest = store.Find(options.name);
      if (!manifest) throw std::runtime_error("no image " + options.name + " in " + StateDir(root).oci());
    }
    Reference dest = Reference::Parse(options.dest.empty() ? options.name : options.dest);
    BlobMeter meter = MakeMeter(err);
    RegistryClient client(dest.domain, ClientOptions(options, meter));
    layers::ExportOptions eo;
    eo.compression = layers::ParseCompression(options.compression);
    eo.level = options.compression_level;
    layers::CheckLevel(eo.compression, eo.level);
    eo.memo_dir = StateDir(root).compressed();
    PushResult r = Push(client, *source, *manifest, dest, eo, StateDir(root).tmp());
    if (archive) std::filesystem::remove_all(StateDir(root).tmp() + "/push-" + std::to_string(::getpid()));
    meter.Line("pushed " + dest.String() + ": " + std::to_string(r.uploaded) + " blobs uploaded, " + std::to_string(r.existed) +
               " already there, " + std::to_string(r.mounted) + " mounted");
    out << r.manifest.digest.str() << "\n";
    return 0;
  });
}

namespace {

// A line typed on the terminal with echo off (the password prompt of `login`).
std::string ReadSecretFromTerminal(std::istream& in, std::ostream& out, const std::string& prompt) {
  out << prompt << std::flush;
  struct termios old {};
  bool restore = ::tcgetattr(0, &old) == 0;
  if (restore) {
    struct termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(0, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(in, line);
  if (restore) ::tcsetattr(0, TCSANOW, &old);
  out << "\n";
  while (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

int RunLogin(const RegistryCommandOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  return Guarded(err, [&] {
    std::string host = Reference::Parse(options.name + "/x").domain;
    Credentials c{options.username, options.password};
    if (options.password_stdin) {
      std::getline(in, c.password);
      while (!c.password.empty() && (c.password.back() == '\r' || c.password.back() == '\n')) c.password.pop_back();
    } else if (c.password.empty() && ::isatty(0)) {
      // As docker: ask on the terminal, the password without echo.
      if (c.username.empty()) {
        out << "Username: " << std::flush;
        std::getline(in, c.username);
      }
      c.password = ReadSecretFromTerminal(in, out, "Password: ");
    }
    if (c.username.empty() || c.password.empty())
      throw std::invalid_argument("login needs a user (-u) and a password (--password-stdin, -p, or typed on a terminal)");
    // Checked against the registry before it is stored.
    std::optional<Credentials> old = LookupCredentials(host);
    std::string where = StoreCredentials(host, c);
    try {
      BlobMeter meter = MakeMeter(err);
      RegistryClient(host, ClientOptions(options, meter)).Ping();
    } catch (const std::exception&) {
      if (old) StoreCredentials(host, *old); else RemoveCredentials(host);
      throw;
    }
    out << "Login Succeeded (" << host << ", stored in " << where << ")\n";
    return 0;
  });
}

int RunLogout(const RegistryCommandOptions& options, std::ostream& out, std::ostream& err) {
  return Guarded(err, [&] {
    std::string host = Reference::Parse(options.name + "/x").domain;
    out << (RemoveCredentials(host) ? "Removed login credentials for " : "Not logged in to ") << host << "\n";
    return 0;
  });
}

}  // namespace imgbuild::builder
