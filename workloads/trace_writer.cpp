#include "workloads/trace_writer.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

gzFile gz(void* p) { return static_cast<gzFile>(p); }

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

}  // namespace

std::string trace_text_line(const TraceRecord& r) {
  std::string s = trace_thread_name(r) + " ";
  switch (r.op) {
    case TraceRecord::Op::Read:
    case TraceRecord::Op::Write:
    case TraceRecord::Op::Fetch:
      s += r.op == TraceRecord::Op::Read ? "r " : r.op == TraceRecord::Op::Write ? "w " : "x ";
      s += hex(r.addr);
      if (r.size) s += " " + std::to_string(r.size);
      return s;
    case TraceRecord::Op::Gap:
      return s + "gap " + std::to_string(r.cycles);
    case TraceRecord::Op::Host: {
      s += host_event_name(r.ev.kind);
      HostEventFields f = host_event_fields(r.ev.kind);
      if (f.slot) s += " " + std::to_string(r.ev.slot);
      if (f.gpa) s += " " + hex(r.ev.gpa);
      if (f.bytes) s += " " + hex(r.ev.bytes);
      if (f.gpa2) s += " " + hex(r.ev.gpa2);
      return s;
    }
  }
  return s;
}

TraceWriter::TraceWriter(const std::string& path, const TraceHeader& header, bool gzip)
    : path_(path), binary_(header.binary) {
  // "T": zlib's transparent mode writes the bytes uncompressed through the same interface.
  gz_ = gzopen(path.c_str(), gzip ? "wb6" : "wbT");
  if (!gz_) throw UsageError(path + ": cannot create trace: " + std::strerror(errno ? errno : EIO));
  if (binary_) {
    uint8_t h[kTraceBinaryHeaderBytes] = {};
    std::memcpy(h, kTraceMagic, 8);
    auto le = [&](unsigned at, unsigned n, uint64_t v) {
      for (unsigned i = 0; i < n; ++i) h[at + i] = uint8_t(v >> (8 * i));
    };
    le(8, 2, kTraceVersion);
    le(10, 2, header.gpa_space ? kTraceFlagGpa : 0);
    le(12, 4, kTraceBinaryHeaderBytes);
    le(16, 8, header.guest_mem);
    put(h, sizeof h);
  } else {
    std::string s = "mmusim-trace " + std::to_string(kTraceVersion) + "\n";
    s += header.gpa_space ? "space gpa\n" : "space gva\n";
    if (header.guest_mem) s += "guest-mem " + hex(header.guest_mem) + "\n";
    put(s.data(), s.size());
  }
}

TraceWriter::~TraceWriter() {
  if (gz_) gzclose(gz(gz_));
}

void TraceWriter::put(const void* data, size_t n) {
  if (n && gzwrite(gz(gz_), data, unsigned(n)) != int(n))
    throw UsageError(path_ + ": cannot write trace (disk full?)");
}

void TraceWriter::put_varint(uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  do {
    b[n] = uint8_t(v & 0x7f);
    v >>= 7;
    if (v) b[n] |= 0x80;
    ++n;
  } while (v);
  put(b, n);
}

void TraceWriter::write(const TraceRecord& r) {
  if (!binary_) {
    std::string s = trace_text_line(r) + "\n";
    put(s.data(), s.size());
    return;
  }
  uint8_t code = r.op == TraceRecord::Op::Host ? uint8_t(0x10 + unsigned(r.ev.kind)) : uint8_t(r.op);
  put(&code, 1);
  put_varint((uint64_t(r.thread) << 1) | (r.host_thread ? 1 : 0));
  switch (r.op) {
    case TraceRecord::Op::Read:
    case TraceRecord::Op::Write:
    case TraceRecord::Op::Fetch:
      put_varint(r.addr);
      put_varint(r.size);
      return;
    case TraceRecord::Op::Gap:
      put_varint(r.cycles);
      return;
    case TraceRecord::Op::Host: {
      HostEventFields f = host_event_fields(r.ev.kind);
      if (f.slot) put_varint(r.ev.slot);
      if (f.gpa) put_varint(r.ev.gpa);
      if (f.bytes) put_varint(r.ev.bytes);
      if (f.gpa2) put_varint(r.ev.gpa2);
      return;
    }
  }
}

void TraceWriter::close() {
  if (!gz_) return;
  int rc = gzclose(gz(gz_));
  gz_ = nullptr;
  if (rc != Z_OK) throw UsageError(path_ + ": cannot finish writing trace");
}

}  // namespace mmusim
