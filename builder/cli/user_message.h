// What a user reads for a failure: the exception's text, except where a library's own wording
// would leak (nlohmann's "[json.exception.type_error.302] ...", the standard library's bare
// "stoi"/"stod"): those are said in imgbuild's words.
#pragma once

#include <exception>
#include <string>

namespace imgbuild::builder {

std::string UserMessage(const std::exception& e);

}  // namespace imgbuild::builder
