#include "builder/cli/blob_meter.h"

#include <algorithm>

#include "builder/cli/table.h"

namespace imgbuild::builder {

BlobMeter::BlobMeter(std::ostream& err, bool tty, size_t columns) : err_(err), tty_(tty), columns_(std::max<size_t>(columns, 20)) {}

BlobMeter::~BlobMeter() {
  std::lock_guard<std::mutex> lock(mu_);
  Clear();
  err_.flush();
}

void BlobMeter::Line(const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  Clear();
  err_ << text << "\n";
  if (tty_ && !active_.empty()) Draw();
  err_.flush();
}

void BlobMeter::Progress(const layers::Digest& blob, int64_t done, int64_t size) {
  if (!tty_) return;
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = blob.str();
  bool finished = size > 0 && done >= size;
  if (finished) {
    active_.erase(key);
  } else {
    active_[key] = {done, size};
  }
  current_ = key;
  auto now = std::chrono::steady_clock::now();
  // At most ten frames a second, and always the one that ends a blob.
  if (!finished && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Clear();
  if (finished) {
    std::string text = "  " + key.substr(7, 12) + " [" + std::string(20, '#') + "] 100% " + HumanSize(static_cast<double>(size));
    err_ << text.substr(0, columns_ - 1);
    drawn_ = true;
  } else {
    Draw();
  }
  err_.flush();
}

void BlobMeter::Clear() {
  if (!drawn_) return;
  err_ << "\r\x1b[K";
  drawn_ = false;
}

void BlobMeter::Draw() {
  auto it = active_.find(current_);
  if (it == active_.end()) it = active_.begin();
  if (it == active_.end()) return;
  auto [done, size] = it->second;
  double share = size > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(size)) : 0.0;
  int full = static_cast<int>(share * 20);
  std::string text = "  " + it->first.substr(7, 12) + " [" + std::string(static_cast<size_t>(full), '#') +
                     std::string(static_cast<size_t>(20 - full), '.') + "] " + std::to_string(static_cast<int>(share * 100)) +
                     "% " + HumanSize(static_cast<double>(done)) + "/" + HumanSize(static_cast<double>(size));
  if (active_.size() > 1) text += " (+" + std::to_string(active_.size() - 1) + " more)";
  err_ << text.substr(0, columns_ - 1);  // ASCII only: bytes are columns
  drawn_ = true;
}

}  // namespace imgbuild::builder
