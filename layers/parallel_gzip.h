// ParallelGzip: gzip on every core, as pigz does (used by the layer writer's sink). Each 128 KiB
// block is raw deflate primed with the previous block's last 32 KiB and ended with a sync flush,
// so the concatenation is one valid gzip member whose bytes depend only on the data and the
// level, never on the number of cores.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <future>
#include <stdexcept>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::layers {

class ParallelGzip {
 public:
  using Output = std::function<void(std::string_view)>;
  ParallelGzip(int level, Output out) : level_(level), out_(std::move(out)) {
    static const unsigned char kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    out_(std::string_view(reinterpret_cast<const char*>(kHeader), sizeof kHeader));
    workers_ = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
  }

  void Write(const char* data, size_t size) {
    while (size > 0) {
      size_t take = std::min(size, kBlock - pending_.size());
      pending_.append(data, take);
      data += take;
      size -= take;
      if (pending_.size() == kBlock) {
        blocks_.push_back(std::move(pending_));
        pending_.clear();
        if (static_cast<long>(blocks_.size()) >= workers_ * 8) Flush(false);
      }
    }
  }

  void Finish() {
    blocks_.push_back(std::move(pending_));
    pending_.clear();
    Flush(true);
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
    for (int i = 0; i < 4; ++i) trailer[4 + i] = static_cast<unsigned char>(total_ >> (8 * i));
    out_(std::string_view(reinterpret_cast<const char*>(trailer), sizeof trailer));
  }

 private:
  static constexpr size_t kBlock = 128 * 1024;
  static constexpr size_t kWindow = 32 * 1024;

  struct Result {
    std::string data;
    uLong crc = 0;
  };

  static Result Compress(const std::string& block, const std::string& dict, int level, bool last) {
    Result r;
    r.crc = crc32(0L, reinterpret_cast<const Bytef*>(block.data()), static_cast<uInt>(block.size()));
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("gzip: cannot initialise zlib");
    }
    if (!dict.empty()) {
      deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size()));
    }
    r.data.resize(deflateBound(&z, block.size()) + 16);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
    z.avail_in = static_cast<uInt>(block.size());
    z.next_out = reinterpret_cast<Bytef*>(r.data.data());
    z.avail_out = static_cast<uInt>(r.data.size());
    int rc = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH);
    if ((last && rc != Z_STREAM_END) || (!last && rc != Z_OK)) {
      deflateEnd(&z);
      throw std::runtime_error("gzip: deflate failed");
    }
    r.data.resize(r.data.size() - z.avail_out);
    deflateEnd(&z);
    return r;
  }

  void Flush(bool last) {
    std::vector<std::future<Result>> jobs;
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const std::string& prev = i == 0 ? previous_tail_ : blocks_[i - 1];
      std::string dict = prev.size() > kWindow ? prev.substr(prev.size() - kWindow) : prev;
      bool is_last = last && i + 1 == blocks_.size();
      jobs.push_back(std::async(std::launch::async, Compress, std::cref(blocks_[i]), dict, level_, is_last));
    }
    for (size_t i = 0; i < jobs.size(); ++i) {
      Result r = jobs[i].get();
      out_(r.data);
      crc_ = crc32_combine(crc_, r.crc, static_cast<z_off_t>(blocks_[i].size()));
      total_ += blocks_[i].size();
    }
    if (!blocks_.empty()) {
      const std::string& tail = blocks_.back();
      previous_tail_ = tail.size() > kWindow ? tail.substr(tail.size() - kWindow) : tail;
    }
    blocks_.clear();
  }

  int level_;
  Output out_;
  long workers_ = 1;
  std::string pending_;
  std::vector<std::string> blocks_;
  std::string previous_tail_;
  uLong crc_ = crc32(0L, Z_NULL, 0);
  uint64_t total_ = 0;
};

}  // namespace imgbuild::layers
