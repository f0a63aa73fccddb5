// The entries a layer tar holds, in its order (sorted names, parents first), each with its lstat:
// - Walk: one directory tree (a snapshot's change in overlay format, or any tree).
// - WalkMerged: several changes stacked as overlay stacks them (top first), seen as one change
//   against what is below the last: the top-most entry of a name wins; a whiteout hides the name
//   below it (and stays a whiteout only when nothing below it in the stack had the name, as it
//   then deletes something of the layers underneath); an opaque directory or a non-directory
//   hides everything below it. `dir` names the directory an entry comes from.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

namespace imgbuild::layers {

struct WalkEntry {
  std::string rel;
  struct stat st;
  size_t dir = 0;  // index into the directories walked
};

std::vector<WalkEntry> Walk(const std::string& root);
std::vector<WalkEntry> WalkMerged(const std::vector<std::string>& dirs);

}  // namespace imgbuild::layers
