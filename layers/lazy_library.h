// A shared library opened with dlopen the first time one of its functions is called, for the
// libraries most commands never use (libcurl, libarchive): each one imgbuild links costs every
// command its loading and relocation at start-up. The loaders (registry/curl_loader.cc,
// archive_loader.cc) define the library's functions and forward through Symbol.
#pragma once

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "layers/error.h"

namespace imgbuild::layers {

class LazyLibrary {
 public:
  // `soname` as dlopen takes it; `package` names what to install when it is missing.
  LazyLibrary(const char* soname, const char* package) : soname_(soname), package_(package) {}

  // The function `name`, loading the library first. Throws layers::Error when the library or
  // the function is missing.
  template <typename F>
  F Symbol(const char* name) {
    void* p = ::dlsym(Handle(), name);
    if (!p) throw Error(std::string(soname_) + " has no " + name + " (too old a version)");
    return reinterpret_cast<F>(p);
  }

 private:
  void* Handle() {
    std::call_once(once_, [this] {
      handle_ = ::dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
      if (!handle_) {
        const char* why = ::dlerror();
        error_ = why ? why : "not found";
      }
    });
    if (!handle_) throw Error(std::string(soname_) + " could not be loaded (install " + package_ + "): " + error_);
    return handle_;
  }

  const char* soname_;
  const char* package_;
  std::once_flag once_;
  void* handle_ = nullptr;
  std::string error_;
};

}  // namespace imgbuild::layers
