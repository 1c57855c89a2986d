// A streaming byte source over a file that may be plain, gzip or xz compressed, told apart by
// its first bytes (not its name). It reads the file in large blocks and decompresses into the
// caller's buffer, so memory stays bounded for an input of any length and the caller parses in
// place with no per-line or per-record allocation (docs/TRACE_FORMAT.md, Compressed input).
// Every failure -- unreadable file, corrupt or truncated stream -- throws UsageError naming the
// file and, where known, the byte offset in the compressed file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

namespace mmusim {

class CompressedInput {
 public:
  enum class Encoding { Plain, Gzip, Xz };

  // Opens `path` and reads its first block; throws UsageError when it cannot.
  // `block_bytes`: size of the compressed-side read buffer.
  explicit CompressedInput(const std::string& path, size_t block_bytes = size_t(1) << 20);
  ~CompressedInput();
  CompressedInput(const CompressedInput&) = delete;
  CompressedInput& operator=(const CompressedInput&) = delete;

  // Copies up to `cap` bytes of (decompressed) content into `dst`. Returns fewer than `cap`
  // only when the content has ended or a fault follows: 0 means end of input. Throws
  // UsageError on a read error, corrupt data or a compressed stream that ends early -- after
  // first returning the content decoded before the fault, so the reader reaches it.
  size_t read(char* dst, size_t cap);

  const std::string& path() const { return path_; }
  Encoding encoding() const { return encoding_; }
  // Bytes of content delivered so far (the offset of the next byte read() returns).
  uint64_t content_offset() const { return content_offset_; }

 private:
  struct Decoder;
  size_t read_some(char* dst, size_t cap);  // one step; 0 only at end of input
  bool refill();                            // more file bytes into in_; false at end of file
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  int fd_ = -1;
  Encoding encoding_ = Encoding::Plain;
  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0, in_pos_ = 0, in_len_ = 0;
  uint64_t file_offset_ = 0;  // file bytes before in_[0]
  uint64_t content_offset_ = 0;
  bool file_ended_ = false, content_ended_ = false;
  std::unique_ptr<Decoder> dec_;
  std::exception_ptr failure_;  // a fault met after content that read() has yet to return
};

const char* encoding_name(CompressedInput::Encoding e);

}  // namespace mmusim
