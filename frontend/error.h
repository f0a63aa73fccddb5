// The root of the frontend's errors (parse, flags, mounts, expansion, .dockerignore,
// directives): one catch takes them all, each keeps its own type.
#pragma once

#include <stdexcept>

namespace imgbuild::frontend {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace imgbuild::frontend
