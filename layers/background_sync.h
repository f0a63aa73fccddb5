// A filesystem's dirty data flushed to disk (syncfs) on a thread of its own, so that the caller
// can go on meanwhile (a step hashes its layer while its snapshot is made durable). Wait() joins
// it and throws layers::SysError when the flush failed; the destructor joins it too.
#pragma once

#include <string>
#include <thread>

#include "layers/sys_error.h"

namespace imgbuild::layers {

class BackgroundSync {
 public:
  // Any path on the filesystem to flush.
  explicit BackgroundSync(std::string path);
  ~BackgroundSync();
  BackgroundSync(const BackgroundSync&) = delete;
  BackgroundSync& operator=(const BackgroundSync&) = delete;
  void Wait();

 private:
  std::string path_;
  UniqueFd fd_;
  int err_ = 0;
  std::thread thread_;
};

}  // namespace imgbuild::layers
