#include "workloads/trace_text_output.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

gzFile gz(void* p) { return static_cast<gzFile>(p); }

bool ends_with(const std::string& s, const char* tail) {
  size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

}  // namespace

TraceTextOutput::TraceTextOutput(const std::string& path) : path_(path), buf_(new char[kBuffer]) {
  to_stdout_ = path == "-";
  // "T": zlib's transparent mode writes the bytes uncompressed through the same interface.
  // Level 6 rather than 9: the content is what matters and 9 costs several times the time.
  const char* mode = !to_stdout_ && ends_with(path, ".gz") ? "wb6" : "wbT";
  gz_ = to_stdout_ ? gzdopen(dup(STDOUT_FILENO), mode) : gzopen(path.c_str(), mode);
  if (!gz_) throw UsageError(path + ": cannot create trace: " + std::strerror(errno ? errno : EIO));
  gzbuffer(gz(gz_), 1 << 17);
  // Only a regular file is removed after a failure: never -o /dev/null or a named pipe.
  struct stat st;
  removable_ = !to_stdout_ && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  static const char kHeader[] = "mmusim-trace 1\nspace gva\n";
  std::memcpy(buf_.get(), kHeader, sizeof kHeader - 1);
  len_ = sizeof kHeader - 1;
}

TraceTextOutput::~TraceTextOutput() {
  if (!gz_) return;
  gzclose(gz(gz_));
  if (removable_) std::remove(path_.c_str());
}

char* TraceTextOutput::put_dec(char* p, uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = char('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

char* TraceTextOutput::put_hex(char* p, uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  int bits = 4;
  while (bits < 64 && (v >> bits)) bits += 4;
  for (int s = bits - 4; s >= 0; s -= 4) *p++ = kDigits[(v >> s) & 0xf];
  return p;
}

void TraceTextOutput::gap(uint32_t vcpu, uint64_t cycles) {
  if (len_ + kMaxLine > kBuffer) flush();
  char* p = buf_.get() + len_;
  *p++ = 'v';
  p = put_dec(p, vcpu);
  std::memcpy(p, " gap ", 5);
  p = put_dec(p + 5, cycles);
  *p++ = '\n';
  len_ = size_t(p - buf_.get());
}

void TraceTextOutput::flush() {
  if (len_ && gzwrite(gz(gz_), buf_.get(), unsigned(len_)) != int(len_))
    throw UsageError(path_ + ": cannot write trace (disk full?)");
  len_ = 0;
}

void TraceTextOutput::close() {
  if (!gz_) return;
  flush();
  int rc = gzclose(gz(gz_));
  gz_ = nullptr;
  if (rc != Z_OK) {
    if (removable_) std::remove(path_.c_str());
    throw UsageError(path_ + ": cannot finish writing trace");
  }
}

}  // namespace mmusim
