// The last act of a build: the target stage's image gets the --label labels, its created time
// (the newest history entry's, so a rebuild whose every step hit gives the same digest) and the
// platform; its config and manifest (with the base image annotations) go into the store and the
// -t names are tagged.
#pragma once

#include "builder/solver/build_env.h"
#include "builder/solver/stage_state.h"

namespace imgbuild::builder {

BuiltImage AssembleImage(BuildEnv& env, StageImage img);

}  // namespace imgbuild::builder
