// Running independent pieces of work on a few threads (transfers, directory walks).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace imgbuild::layers {

// Runs `work(i)` for i in [0, n) on up to `parallel` threads; rethrows the first failure.
inline void ForEach(size_t n, int parallel, const std::function<void(size_t)>& work) {
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex mu;
  auto run = [&] {
    for (size_t i; (i = next++) < n;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (error) return;
      }
      try {
        work(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min<int>(parallel, static_cast<int>(n)); ++t) threads.emplace_back(run);
  run();
  for (std::thread& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace imgbuild::layers
