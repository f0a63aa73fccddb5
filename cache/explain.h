// Why a step missed the cache, in words: its key's fields (name, readable value) and input files
// (path, digest) now against those of the nearest earlier record of the same step. "env VERSION
// changed 1.2 -> 1.3", "content of src/main.c changed; src/new.c added", "user removed (was app)".
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace imgbuild::cache {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string ExplainFields(const Fields& now_fields, const Fields& now_files, const Fields& before_fields,
                          const Fields& before_files);

}  // namespace imgbuild::cache
