#include "layers/background_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace imgbuild::layers {

BackgroundSync::BackgroundSync(std::string path)
    : path_(std::move(path)), fd_(::open(path_.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (!fd_) throw SysError("open", path_);
  thread_ = std::thread([this] {
    if (::syncfs(fd_.get()) != 0) err_ = errno;
  });
}

BackgroundSync::~BackgroundSync() {
  if (thread_.joinable()) thread_.join();
}

void BackgroundSync::Wait() {
  if (thread_.joinable()) thread_.join();
  if (err_ != 0) throw SysError("syncfs", path_, err_);
}

}  // namespace imgbuild::layers
