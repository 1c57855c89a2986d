// Lines of a text file (plain, gzip or xz: workloads/compressed_input.hpp) handed out in place
// from one large buffer: no allocation per line, bounded memory for any file length. A line ends
// at "\n", "\r\n" or a lone "\r" (as Python's universal newlines, so line numbers agree with the
// Python tools); the last line need not end with a newline.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "workloads/compressed_input.hpp"

namespace mmusim {

class LineSource {
 public:
  // Throws UsageError when the file cannot be opened. Lines longer than `max_line` throw.
  explicit LineSource(const std::string& path, size_t max_line = size_t(1) << 20);

  // The next line without its terminator, valid until the next call; false at the end.
  bool next(const char*& begin, const char*& end);
  // 1-based number of the line last returned.
  uint64_t line() const { return line_; }
  const std::string& path() const { return in_.path(); }

 private:
  [[noreturn]] void too_long() const;
  bool fill();  // moves the unread tail to the front and reads more; false when nothing came

  CompressedInput in_;
  size_t max_line_, cap_;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
  uint64_t line_ = 0;
};

}  // namespace mmusim
