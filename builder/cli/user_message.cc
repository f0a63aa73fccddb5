#include "builder/cli/user_message.h"

#include <new>
#include <nlohmann/json.hpp>

namespace imgbuild::builder {

std::string UserMessage(const std::exception& e) {
  std::string what = e.what();
  if (dynamic_cast<const nlohmann::json::exception*>(&e)) {
    // "[json.exception.out_of_range.403] key 'mediaType' not found" -> the part after the tag.
    size_t close = what.find("] ");
    std::string detail = what.rfind("[json.exception.", 0) == 0 && close != std::string::npos ? what.substr(close + 2) : what;
    return "a malformed or unexpected JSON document (" + detail + ")";
  }
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "out of memory";
  for (const char* conv : {"stoi", "stol", "stoll", "stoul", "stoull", "stof", "stod", "stold"}) {
    if (what == conv) return "a value that should be a number is not one";
  }
  // Library code that wraps such an exception keeps its tag inside its own message.
  size_t tag = what.find("[json.exception.");
  if (tag != std::string::npos) {
    size_t close = what.find("] ", tag);
    if (close != std::string::npos) what.erase(tag, close + 2 - tag);
  }
  return what;
}

}  // namespace imgbuild::builder
