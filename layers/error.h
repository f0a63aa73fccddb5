// The root of the errors imgbuild raises outside the frontend: every error class of layers/,
// cache/ and builder/ derives from layers::Error, so one catch takes them all, while each keeps
// its own type for the callers that handle it. (The frontend, which depends on nothing of ours,
// has frontend::Error.)
#pragma once

#include <stdexcept>

namespace imgbuild::layers {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace imgbuild::layers
