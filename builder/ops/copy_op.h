// COPY and ADD: sources from the build context (after .dockerignore), a named directory, a
// finished stage or an image; ADD's local archives unpacked and its remote sources (URLs, Git
// repositories) fetched, each through the copier's COPY rules. A remote source is resolved once
// per build (RemoteInputs, for the cache key) and the step then runs with exactly that content.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builder/ops/op.h"
#include "builder/ops/remote_source.h"
#include "builder/rootfs/copier.h"
#include "builder/solver/build_env.h"
#include "builder/solver/stage_state.h"
#include "builder/solver/step_keys.h"
#include "frontend/dockerignore.h"
#include "frontend/plan.h"

namespace imgbuild::builder {

class CopyOp {
 public:
  CopyOp(BuildEnv& env, Sources& sources, const frontend::IgnoreMatcher& ignore)
      : env_(env), sources_(sources), ignore_(ignore) {}

  // Copies into a new layer of `img`; returns the progress detail ("3 files, 120 bytes").
  std::string Exec(const frontend::PlannedStep& step, const frontend::CopyStep& c, StageImage& img);
  // What each remote source of an ADD resolves to now (a content digest, "commit <id>").
  std::vector<std::pair<std::string, std::string>> RemoteInputs(const frontend::PlannedStep& step,
                                                                const frontend::CopyStep& c);

 private:
  struct Resolved {
    std::string id;  // what the key covers
    std::optional<FetchedFile> file;
    std::optional<GitSource> git;
    std::string commit;  // of `git`
  };
  RemoteOptions Remote();
  void AddRemote(const frontend::PlannedStep& step, const frontend::CopyStep& c, const std::string& src,
                 const CopyRequest& base);
  void AddArchive(const frontend::PlannedStep& step, const std::string& archive, const CopyRequest& r,
                  const std::string& shown);

  BuildEnv& env_;
  Sources& sources_;
  const frontend::IgnoreMatcher& ignore_;
  std::mutex remote_mu_;
  std::map<std::string, Resolved> remote_;  // by source and checksum
};

// The copy a COPY/ADD step makes of its local sources (remote ones left out), from `src_root`
// (with `.dockerignore` when it is the build context): what its cache key hashes and what it
// then copies are one request, so the two cannot disagree.
CopyRequest LocalCopyRequest(const frontend::PlannedStep& step, const frontend::CopyStep& c, const std::string& src_root,
                             const frontend::IgnoreMatcher* ignore);

// The fields of a COPY/ADD key: sources and destination, workdir, every flag, heredoc bodies,
// what remote sources resolved to and the content of the local inputs (and their file list).
void CopyKeyFields(const frontend::PlannedStep& step, const frontend::CopyStep& c, const StepKeyInputs& in,
                   StepKey& out);
// The field of a WORKDIR key: where it leads.
KeyFields WorkdirKeyFields(const frontend::PlannedStep& step);

// WORKDIR: the directory is created (with its missing parents) as a layer of its own when the
// image lacks it; returns "exists" or "created".
std::string ExecWorkdir(BuildEnv& env, const frontend::PlannedStep& step, StageImage& img);

}  // namespace imgbuild::builder
