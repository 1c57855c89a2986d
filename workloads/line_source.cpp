#include "workloads/line_source.hpp"

#include <cstring>

#include "sim/core/error.hpp"

namespace mmusim {

LineSource::LineSource(const std::string& path, size_t max_line)
    : in_(path), max_line_(max_line), cap_(max_line + (size_t(1) << 20)), buf_(new char[cap_]) {}

void LineSource::too_long() const {
  throw UsageError(path() + ":" + std::to_string(line_ + 1) + ": line longer than " +
                   std::to_string(max_line_) + " bytes");
}

bool LineSource::fill() {
  if (eof_) return false;
  if (pos_) {
    std::memmove(buf_.get(), buf_.get() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
  }
  size_t n = in_.read(buf_.get() + len_, cap_ - len_);
  if (n == 0) eof_ = true;  // a short read may come before a fault: read on
  len_ += n;
  return n > 0;
}

bool LineSource::next(const char*& begin, const char*& end) {
  size_t scan = pos_;  // bytes before `scan` hold no terminator
  for (;;) {
    const char* b = buf_.get();
    size_t i = scan;
    while (i < len_ && b[i] != '\n' && b[i] != '\r') ++i;
    // A "\r" as the last buffered byte may be the first half of "\r\n": look further first.
    if (i - pos_ > max_line_) too_long();
    if (i < len_ && !(b[i] == '\r' && i + 1 == len_ && !eof_)) {
      begin = b + pos_;
      end = b + i;
      pos_ = i + 1 + (b[i] == '\r' && i + 1 < len_ && b[i + 1] == '\n');
      ++line_;
      return true;
    }
    if (eof_ && i == len_) {
      if (pos_ == len_) return false;
      begin = b + pos_;
      end = b + len_;
      pos_ = len_;
      ++line_;
      return true;
    }
    size_t seen = i - pos_;
    fill();
    scan = pos_ + seen;
  }
}

}  // namespace mmusim
