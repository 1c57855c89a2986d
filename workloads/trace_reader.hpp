// Streaming reader of mmusim traces: text or binary, plain or gzip (zlib reads both
// transparently), told apart by the first bytes. It holds one fixed-size buffer, so a trace of
// any length is read in constant memory. Every malformed input throws UsageError naming the
// file and the line (text) or the record's byte offset (binary), and the field at fault.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "workloads/trace_format.hpp"

namespace mmusim {

class TraceReader {
 public:
  // Opens the trace and reads its header; throws UsageError when it cannot.
  explicit TraceReader(const std::string& path);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  const TraceHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  // Next record, or false at the end of the trace.
  bool next(TraceRecord& r);
  // From now on next() returns only the records of one thread; text lines of other threads are
  // skipped without being parsed (a replay reads the file once per thread).
  void only(bool host_thread, uint32_t thread);
  // Where the record last returned came from: "FILE:LINE" or "FILE: record at byte N".
  std::string where() const;
  // Throws UsageError "<where()>: <field>: <message>".
  [[noreturn]] void fail(const std::string& field, const std::string& message) const;

 private:
  void read_header();  // the binary header or the text header line
  bool fill();                 // refills the buffer; false at end of input
  bool read_line(std::string& line);
  bool next_text(TraceRecord& r);
  bool next_binary(TraceRecord& r);
  bool get_byte(uint8_t& b);
  uint64_t get_varint(const char* field);
  void parse_text_header();

  std::string path_;
  void* gz_ = nullptr;  // gzFile
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  uint64_t consumed_ = 0;  // bytes of (uncompressed) input before buf_[pos_]
  uint64_t line_ = 0;      // text: line number of the last line read
  uint64_t record_at_ = 0; // binary: offset of the last record
  std::string pending_;    // text: first record line seen while reading the header
  bool have_pending_ = false;
  bool filtered_ = false, filter_host_ = false;
  uint32_t filter_thread_ = 0;
  std::string filter_name_;  // "v3"
  TraceHeader header_;
};

}  // namespace mmusim
