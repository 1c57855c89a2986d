// Writes mmusim traces in either form (text or binary), optionally gzip-compressed; used by the
// converter (mmusim-trace) and by tests. Records are written as they come: constant memory.
#pragma once
#include <string>

#include "workloads/trace_format.hpp"

namespace mmusim {

class TraceWriter {
 public:
  // Throws UsageError when `path` cannot be created.
  TraceWriter(const std::string& path, const TraceHeader& header, bool gzip);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  void write(const TraceRecord& r);
  // Flushes and closes; throws UsageError when the data could not be written.
  void close();

 private:
  void put(const void* data, size_t n);
  void put_varint(uint64_t v);
  std::string path_;
  void* gz_ = nullptr;  // gzFile (transparent mode when not compressing)
  bool binary_;
};

// One record as its text line (without the newline).
std::string trace_text_line(const TraceRecord& r);

}  // namespace mmusim
