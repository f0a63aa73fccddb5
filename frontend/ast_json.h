// The stable JSON documents of `imgbuild parse --json` and `imgbuild outline --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "frontend/ast.h"
#include "frontend/instructions.h"
#include "frontend/plan.h"

namespace imgbuild::frontend {

// {"directives":{...},"args":[...],"stages":[{...,"instructions":[...]}],"warnings":[...]}
nlohmann::ordered_json ParseDocument(const ast::File& file, const Program& program);

// What a build would do: stages in build order, skipped stages, ARGs and their uses, secrets.
nlohmann::ordered_json OutlineDocument(const Plan& plan);

nlohmann::ordered_json WarningJson(const Warning& w);

}  // namespace imgbuild::frontend
