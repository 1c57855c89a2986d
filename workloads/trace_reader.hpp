// Streaming reader of mmusim traces: text or binary, each plain, gzip or xz compressed
// (workloads/compressed_input.hpp tells them apart by their first bytes). Records are parsed in
// place from one buffer -- text lines without per-line strings, binary records decoded straight
// from the block -- so a trace of any length is read in constant memory and without an
// allocation per record (docs/TRACE_FORMAT.md, Reading speed). Every malformed input throws
// UsageError naming the file and the line (text) or the record's byte offset (binary), and the
// field at fault; a compressed stream that is cut short or corrupt names where reading stopped.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "workloads/compressed_input.hpp"
#include "workloads/trace_format.hpp"

namespace mmusim {

class TraceReader {
 public:
  // The default buffer: large enough that refills are rare next to the parsing.
  static constexpr size_t kDefaultBufferBytes = size_t(1) << 20;
  // The longest text line accepted (the buffer grows up to it when a line needs it).
  static constexpr size_t kMaxLineBytes = size_t(1) << 20;

  // Opens the trace and reads its header; throws UsageError when it cannot. `buffer_bytes`
  // sizes both the file-side block and the content buffer (a replay holds one reader per
  // thread that cannot share the common one: workloads/trace_demux.hpp).
  explicit TraceReader(const std::string& path, size_t buffer_bytes = kDefaultBufferBytes);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  const TraceHeader& header() const { return header_; }
  const std::string& path() const { return in_.path(); }
  CompressedInput::Encoding encoding() const { return in_.encoding(); }
  // Next record, or false at the end of the trace.
  bool next(TraceRecord& r);
  // From now on next() returns only the records of one thread; text lines of other threads are
  // skipped without being parsed, binary records of other threads without being decoded.
  void only(bool host_thread, uint32_t thread);
  // Where the record last returned came from: "FILE:LINE" or "FILE: record at byte N".
  std::string where() const;
  // Throws UsageError "<where()>: <field>: <message>".
  [[noreturn]] void fail(const std::string& field, const std::string& message) const;

 private:
  struct Token {
    const char* b;
    const char* e;
  };
  static constexpr unsigned kMaxTokens = 8;  // more than any record has (thread, op, 4 fields)

  void read_header();
  // Makes at least `want` unread bytes available unless the input ends first; false when fewer
  // than `want` are left. Keeps the unread bytes, moving them to the front when needed.
  bool ensure(size_t want);
  bool read_line(const char*& b, const char*& e);  // in place; valid until the next read
  unsigned tokens_of(const char* b, const char* e, Token* t, unsigned& count) const;
  void parse_text_header();
  bool next_text(TraceRecord& r);
  bool next_binary(TraceRecord& r);
  bool next_binary_checked(TraceRecord& r);
  void parse_text_record(const Token* w, unsigned n, TraceRecord& r) const;
  bool parse_access_line(const char* b, const char* e, TraceRecord& r) const;
  bool skip_text_line(const char* b, const char* e) const;
  uint64_t varint(const char* field);
  void skip_varints(unsigned n);
  [[noreturn]] void input_failed(const std::string& message) const;

  CompressedInput in_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, pos_ = 0, len_ = 0;
  bool eof_ = false;
  uint64_t consumed_ = 0;   // content bytes before buf_[0]
  uint64_t line_ = 0;       // text: line number of the last line read
  uint64_t record_at_ = 0;  // binary: offset of the last record
  bool filtered_ = false, filter_host_ = false;
  uint32_t filter_thread_ = 0;
  uint64_t filter_tid_ = 0;  // binary: the thread's encoded id
  TraceHeader header_;
};

}  // namespace mmusim
