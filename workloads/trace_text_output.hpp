// A fast writer of text traces (docs/TRACE_FORMAT.md) for the importers: records are formatted
// by hand into one large buffer that goes to the file in big writes (gzip when the name ends in
// .gz, standard output for "-"). The TraceWriter formats through strings, which is fine for the
// converter but too slow for importing logs of billions of accesses.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace mmusim {

class TraceTextOutput {
 public:
  // Creates `path` and writes the header of a gva trace; throws UsageError when it cannot.
  explicit TraceTextOutput(const std::string& path);
  // Without close(): the file is incomplete, so it is removed (never a partial trace on disk)
  // when it is a regular file.
  ~TraceTextOutput();
  TraceTextOutput(const TraceTextOutput&) = delete;
  TraceTextOutput& operator=(const TraceTextOutput&) = delete;

  // "v<vcpu> <kind> 0x<addr>[ <size>]": kind is 'r', 'w' or 'x'; the size is written when
  // `sized` (a size of 0 too, as the lackey importer has always done).
  void access(uint32_t vcpu, char kind, uint64_t addr, bool sized, uint64_t size) {
    if (len_ + kMaxLine > kBuffer) flush();
    char* p = buf_.get() + len_;
    *p++ = 'v';
    p = put_dec(p, vcpu);
    *p++ = ' ';
    *p++ = kind;
    *p++ = ' ';
    *p++ = '0';
    *p++ = 'x';
    p = put_hex(p, addr);
    if (sized) {
      *p++ = ' ';
      p = put_dec(p, size);
    }
    *p++ = '\n';
    len_ = size_t(p - buf_.get());
  }
  // "v<vcpu> gap <cycles>"
  void gap(uint32_t vcpu, uint64_t cycles);
  // Writes what is buffered and closes; throws UsageError when the data could not be written.
  void close();

 private:
  static constexpr size_t kBuffer = size_t(1) << 20;
  static constexpr size_t kMaxLine = 64;
  static char* put_dec(char* p, uint64_t v);
  static char* put_hex(char* p, uint64_t v);
  void flush();

  std::string path_;
  void* gz_ = nullptr;  // gzFile (transparent mode for plain files and standard output)
  bool to_stdout_ = false;
  bool removable_ = false;  // a regular file: removed when the output is incomplete
  std::unique_ptr<char[]> buf_;
  size_t len_ = 0;
};

}  // namespace mmusim
