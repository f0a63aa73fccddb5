// Internal to the plan: how one instruction becomes its typed step (frontend/steps.h), given how
// the planner expands a word. What needs the planner's state (ARG/ENV scope, stage references,
// secrets) stays in plan.cc.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "frontend/instructions.h"
#include "frontend/steps.h"

namespace imgbuild::frontend::detail {

using Expander = std::function<std::string(const std::string&)>;

// The config-only instruction `keyword` names.
MetadataKind MetadataKindOf(const std::string& keyword);

// COPY/ADD: sources, destination and flags expanded (heredoc bodies by `heredoc`); `words`
// gets the expanded sources and destination, as people see them.
CopyStep TypeCopy(const CopyInstr& c, const Expander& expand,
                  const std::function<std::string(const CopySource&)>& heredoc, std::vector<std::string>& words);

// RUN without its mounts (the planner parses those: they name secrets and other stages).
RunStep TypeRun(const RunInstr& r);

// CMD, ENTRYPOINT, HEALTHCHECK and ONBUILD: not expanded at build time.
MetadataStep TypeUnexpanded(const Instruction& instr, std::vector<std::string>& words);

}  // namespace imgbuild::frontend::detail
