// The subcommands behind main.cc: each takes plain options and the output streams and returns
// the exit code (0 success, 1 a Buildfile error, 2 a usage error).
#pragma once

#include <map>
#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace imgbuild::builder {

inline constexpr const char* kVersion = "0.1.0";

struct FrontendOptions {
  std::string file;     // -f; empty: look in the context
  std::string context = ".";
  bool json = false;
  std::vector<std::string> build_args;  // K=V
  std::string target;
  std::string platform;
};

struct BuildOptions {
  FrontendOptions frontend;
  std::vector<std::string> tags;
  std::vector<std::string> labels;   // K=V
  std::vector<std::string> outputs;  // buildx output specs
  std::string iidfile;
  std::string metadata_file;
  std::string root;
  std::string compression = "gzip";  // of layers in exports
  int compression_level = -1;
  std::vector<std::string> build_contexts;  // NAME=DIR or NAME=oci-layout://PATH[:TAG]
  std::string progress = "auto";            // auto, plain, tty, rawjson
  std::string network = "default";          // default, none, host
  std::vector<std::string> allow;           // security.insecure
  std::vector<std::string> secrets;         // id=ID,src=FILE | id=ID,env=VAR
  std::vector<std::string> ssh;             // ID[=SOCKET|KEY,...]
  int jobs = 0;                             // stages at once; 0: no limit
  bool no_cache = false;
  std::vector<std::string> no_cache_filter;  // stage names or indexes
  bool explain_cache = false;
  std::vector<std::string> cache_to, cache_from;
  std::string pull = "missing";  // FROM images: missing, always, never
  bool tls_verify = true;
  bool push = false;            // push every -t name
  std::string cache_limit;  // size bound of the build cache; empty: $IMGBUILD_CACHE_LIMIT or 10%
  bool quiet = false;       // -q: no progress, only the image ID on stdout
  // docker's flags with imgbuild's meaning
  std::vector<std::string> add_hosts, ulimits, annotations;
  std::string shm_size, provenance, sbom;
  bool accepted = false;  // --load, --rm, --force-rm: what imgbuild always does
};

struct CacheOptions {
  std::string root;
  bool json = false;
  bool all = false;
  std::string keep_storage;          // SIZE
  std::vector<std::string> filters;  // until=DURATION
  bool force = false;                // -f: no prompt (there is none)
  bool verbose = false;              // du: every cache record
};

struct RegistryCommandOptions {
  std::string root;
  std::string name;  // reference (pull, push source), or registry host (login, logout)
  std::string dest;  // push destination
  std::string platform;        // pull: one platform, or a list (A,B: an index with those images)
  bool all_platforms = false;  // pull --all-platforms: the whole index
  bool tls_verify = true;
  int64_t chunk_size = 0;
  std::string compression = "gzip";
  int compression_level = -1;
  std::string username, password;
  bool password_stdin = false;
};

struct StoreOptions {
  std::string root;
  std::string name;
  bool json = false;
  // images / history / inspect in docker's dialect
  bool quiet = false, digests = false, no_trunc = false, human = true, force = false;
  bool tree = false;  // history --tree: layers as a tree with size bars
  std::string platform;  // inspect / history of a multi-platform image: this platform's image
  std::string format;                // table, json, docker (inspect), or a template
  std::vector<std::string> filters;  // images: reference=PATTERN, dangling=true|false
  std::string compression = "gzip";
  int compression_level = -1;
};

int RunBuild(const BuildOptions& options, std::ostream& out, std::ostream& err);
// A usage error of `build` (exit 2): "error: MESSAGE" on `err`, or with --progress=rawjson the
// stream's schema and `failed` events, so a rawjson reader never sees a line that is not JSON.
int BuildUsageError(const std::string& message, bool rawjson, std::ostream& err);
// Whether the words of a `build` command line (after the rewrite) ask for rawjson progress,
// by --progress or, without it, $BUILDKIT_PROGRESS.
bool BuildWantsRawJson(const std::vector<std::string>& args);
int RunImages(const StoreOptions& options, std::ostream& out, std::ostream& err);
int RunInspect(const StoreOptions& options, std::ostream& out, std::ostream& err);
int RunHistory(const StoreOptions& options, std::ostream& out, std::ostream& err);
int RunTag(const StoreOptions& options, const std::string& target, std::ostream& out, std::ostream& err);
int RunRemove(const StoreOptions& options, const std::vector<std::string>& names, std::ostream& out, std::ostream& err);
int RunLoad(const StoreOptions& options, const std::string& input, std::ostream& out, std::ostream& err);
int RunSave(const StoreOptions& options, const std::vector<std::string>& names, const std::string& output,
            const std::string& format, std::ostream& out, std::ostream& err);

// Fills `out` from --build-arg K=V (a bare K takes the environment's value, as docker does).
// Returns false (after saying why on `err`) for a malformed one.
bool ParseBuildArgs(const std::vector<std::string>& args, std::map<std::string, std::string>& out, std::ostream& err);

// `manifest inspect` and `manifest create`: image indexes.
struct ManifestOptions {
  std::string root;
  std::string name;                  // inspect: the image; create: the index's name
  std::vector<std::string> sources;  // create: the images joined (store names, else pulled)
  bool raw = false;                  // inspect: the JSON as stored or served
  bool remote = false;               // inspect: the registry's, even when the store has the name
  bool push = false;                 // create: push the index (and its images) to NAME
  bool tls_verify = true;
};
int RunManifestInspect(const ManifestOptions& options, std::ostream& out, std::ostream& err);
int RunManifestCreate(const ManifestOptions& options, std::ostream& out, std::ostream& err);

int RunPull(const RegistryCommandOptions& options, std::ostream& out, std::ostream& err);
int RunPush(const RegistryCommandOptions& options, std::ostream& out, std::ostream& err);
int RunLogin(const RegistryCommandOptions& options, std::istream& in, std::ostream& out, std::ostream& err);
int RunLogout(const RegistryCommandOptions& options, std::ostream& out, std::ostream& err);

int RunDu(const CacheOptions& options, std::ostream& out, std::ostream& err);
int RunPrune(const CacheOptions& options, std::ostream& out, std::ostream& err);

int RunParse(const FrontendOptions& options, std::ostream& out, std::ostream& err);
int RunOutline(const FrontendOptions& options, std::ostream& out, std::ostream& err);

}  // namespace imgbuild::builder
