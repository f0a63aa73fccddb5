#include "builder/cli/build_planning.h"

#include <memory>
#include <set>

#include "builder/cli/build_checks.h"
#include "builder/ops/remote_source.h"
#include "builder/solver/solver.h"
#include "builder/state/state_dir.h"
#include "frontend/lower.h"
#include "frontend/parser.h"
#include "layers/oci_layout.h"
#include "layers/registry/transfer.h"

namespace imgbuild::builder {
namespace {

using namespace imgbuild::frontend;

// FROM IMAGE: the local store's, pulled first when missing (--pull=missing) or every time
// (always); a failed pull is reported where the image is needed.
std::function<std::optional<BaseImageInfo>(const std::string&)> BasePuller(
    const std::string& policy, BuildInvocation& inv, Progress& status) {
  auto pulled = std::make_shared<std::set<std::string>>();
  // A multi-platform build needs every platform's image of a base: an index holding them all.
  std::vector<layers::Platform> targets;
  for (const PlatformSpec& p : inv.platforms) targets.push_back({p.os, p.arch, p.variant});
  const bool multi = targets.size() > 1;
  return [policy, pulled, &inv, &status, targets, multi](const std::string& ref) -> std::optional<BaseImageInfo> {
    BuildRequest& req = inv.req;
    bool fresh = policy == "always" && !pulled->count(ref);
    // (A local image that lacks a platform is not pulled again under --pull=missing: the name
    // is there. The stage that needs the platform says which ones the image has.)
    if (!fresh) {
      if (auto local = LookupBaseImage(req.root, ref, req.platform)) return local;
    }
    if (policy == "never" || !pulled->insert(ref).second) return LookupBaseImage(req.root, ref, req.platform);
    try {
      const StateDir state(req.root);
      layers::registry::Reference r = layers::registry::Reference::Parse(ref);
      layers::registry::RegistryClient client(r.domain, inv.registry_options);
      layers::OciLayout store = LocalStore(state);
      auto note = [&status](const std::string& line) { status.Info(line); };
      layers::registry::PullResult p =
          multi ? layers::registry::PullPlatforms(client, r, targets, store, {layers::NormalizeTag(ref)}, 4, note,
                                                  {layers::Platform::Host()})
                : layers::registry::Pull(client, r, req.platform, store, state.tmp(), {layers::NormalizeTag(ref)}, 4, note);
      status.Info("pulled " + r.String() + " (" + p.manifest.digest.str() + ")");
    } catch (const std::exception& e) {
      req.pull_errors[ref] = e.what();
    }
    return LookupBaseImage(req.root, ref, req.platform);
  };
}

}  // namespace

// plan: remote named contexts fetched, the Buildfile read and checked, the plan made (its base
// images pulled per --pull). Throws BuildError (or the frontend's errors) for what stops it.
Plan PlanBuild(const BuildOptions& options, BuildInvocation& inv, std::optional<Workspace>& remote_contexts,
               Progress& status) {
  const FrontendOptions& fo = options.frontend;
  inv.plan_options.base_image = BasePuller(options.pull, inv, status);
  // Remote named contexts, as buildx: an image is pulled like a FROM image; a Git repository or
  // a tar archive at a URL becomes a directory for the build's time.
  for (auto& [name, value] : inv.req.named_contexts) {
    if (value.rfind("docker-image://", 0) == 0) {
      inv.plan_options.base_image(value.substr(std::string("docker-image://").size()));
    } else if (ClassifySource(value) != SourceKind::kLocal) {
      if (!remote_contexts) remote_contexts.emplace(StateDir(inv.req.root));
      RemoteOptions ro;
      ro.cache_dir = StateDir(inv.req.root).remote();
      ro.tmp_dir = remote_contexts->dir();
      ro.network = inv.req.network != "none";
      ro.tls.verify = inv.req.tls_verify;
      try {
        value = FetchContext(value, remote_contexts->NewDir("context-"), ro);
      } catch (const RemoteError& e) {
        throw BuildError("--build-context " + name + ": " + e.what());
      }
    }
  }
  std::string file_flag = fo.file;
  if (fo.context == "-") {
    // `build -`, as docker: the Buildfile comes on standard input and there is no context (an
    // empty directory stands in for it, so COPY finds nothing).
    if (!fo.file.empty() && fo.file != "-")
      throw BuildError("the context - reads the Buildfile from standard input: drop -f, or give a context directory");
    file_flag = "-";
    if (!remote_contexts) remote_contexts.emplace(StateDir(inv.req.root));
    inv.req.context_dir = remote_contexts->NewDir("empty-context-");
  }
  if (!inv.buildfile) inv.buildfile = LoadBuildfile(file_flag, inv.req.context_dir);
  const BuildfileSource& src = *inv.buildfile;
  if (fo.context == "-" && (src.text.rfind("\x1f\x8b", 0) == 0 || (src.text.size() > 262 && src.text.compare(257, 5, "ustar") == 0))) {
    throw BuildError("standard input holds an archive: a context given as a tar on standard input is not supported; "
                     "unpack it and give the directory");
  }
  inv.req.buildfile_path = src.path;
  inv.req.buildfile_text = src.text;
  ast::File file = Parse(src.text, src.display_name);
  Program program = Lower(file);
  std::string failure = ReportBuildChecks(src.display_name, program.warnings, file.directives.check_config.error, status);
  if (!failure.empty()) throw BuildError(failure);
  Plan plan = MakePlan(std::move(program), inv.plan_options);
  failure = ReportBuildChecks(src.display_name, plan.warnings, file.directives.check_config.error, status);
  if (!failure.empty()) throw BuildError(failure);
  if (!plan.unused_build_args.empty()) {
    std::string names;
    for (const std::string& n : plan.unused_build_args) names += (names.empty() ? "" : ", ") + n;
    status.Warning("build-arg(s) not consumed by any ARG: " + names);
  }
  return plan;
}


}  // namespace imgbuild::builder
