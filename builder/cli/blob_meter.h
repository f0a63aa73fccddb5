// What `pull` and `push` show of their transfers: on a terminal, one line redrawn in place with
// the blob in flight, a bar, its share and size (and how many others are in flight), cleared when
// a message is printed and when the command ends; elsewhere (a CI log) only the messages, one per
// line. Several transfer threads report at once; one line is written at a time.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <ostream>
#include <string>

#include "layers/digest.h"

namespace imgbuild::builder {

class BlobMeter {
 public:
  // `tty`: whether `err` is a terminal; `columns`: its width.
  BlobMeter(std::ostream& err, bool tty, size_t columns);
  ~BlobMeter();
  // A message line (a fetched layer, a retry).
  void Line(const std::string& text);
  // A blob's progress: `done` of `size` bytes.
  void Progress(const layers::Digest& blob, int64_t done, int64_t size);

 private:
  void Clear();  // with mu_ held
  void Draw();   // with mu_ held

  std::ostream& err_;
  const bool tty_;
  const size_t columns_;
  std::mutex mu_;
  std::map<std::string, std::pair<int64_t, int64_t>> active_;  // digest -> (done, size)
  std::string current_;  // the blob shown
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace imgbuild::builder
