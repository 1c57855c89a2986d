#include "workloads/trace_reader.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

constexpr size_t kBufferBytes = 1 << 15;  // per reader; a replay holds one per thread
constexpr uint32_t kMaxAccessSize = 4096;

gzFile gz(void* p) { return static_cast<gzFile>(p); }

// Splits a line into whitespace-separated words, dropping a trailing '#' comment.
std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> w;
  std::istringstream in(line.substr(0, line.find('#')));
  std::string s;
  while (in >> s) w.push_back(s);
  return w;
}

// Unsigned number: decimal, or hex with 0x. False on anything else or overflow.
bool number_of(const std::string& s, uint64_t& out) {
  if (s.empty()) return false;
  int base = 10;
  size_t i = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    i = 2;
  }
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9') d = unsigned(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
    else return false;
    if (v > (UINT64_MAX - d) / unsigned(base)) return false;
    v = v * unsigned(base) + d;
  }
  out = v;
  return true;
}

// A size with an optional binary suffix K, M, G, T.
bool size_of_text(std::string s, uint64_t& out) {
  unsigned shift = 0;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: break;
    }
    if (shift) s.pop_back();
  }
  uint64_t v;
  if (!number_of(s, v) || (shift && v > (UINT64_MAX >> shift))) return false;
  out = v << shift;
  return true;
}

}  // namespace

bool host_event_kind_of(const std::string& name, HostEventKind& out) {
  for (unsigned k = 0; k < kHostEventKinds; ++k) {
    if (name == host_event_name(HostEventKind(k))) {
      out = HostEventKind(k);
      return true;
    }
  }
  return false;
}

TraceReader::TraceReader(const std::string& path) : path_(path), buf_(kBufferBytes) {
  gz_ = gzopen(path.c_str(), "rb");
  if (!gz_) throw UsageError(path + ": cannot open trace: " + std::strerror(errno ? errno : ENOENT));
  gzbuffer(gz(gz_), kBufferBytes);
  // A constructor that throws runs no destructor: close the file here on a bad header, or
  // every rejected trace leaks a descriptor (found by fuzzing: "Too many open files").
  try {
    read_header();
  } catch (...) {
    gzclose(gz(gz_));
    gz_ = nullptr;
    throw;
  }
}

void TraceReader::read_header() {
  // Binary traces start with the magic; anything else must be the text header line.
  uint8_t head[kTraceBinaryHeaderBytes];
  size_t got = 0;
  while (got < 8) {
    uint8_t b;
    if (!get_byte(b)) break;
    head[got++] = b;
  }
  if (got == 8 && std::memcmp(head, kTraceMagic, 8) == 0) {
    header_.binary = true;
    while (got < kTraceBinaryHeaderBytes) {
      uint8_t b;
      if (!get_byte(b)) fail("header", "truncated binary header (" + std::to_string(got) + " of " +
                                           std::to_string(kTraceBinaryHeaderBytes) + " bytes)");
      head[got++] = b;
    }
    auto le = [&](unsigned at, unsigned n) {
      uint64_t v = 0;
      for (unsigned i = 0; i < n; ++i) v |= uint64_t(head[at + i]) << (8 * i);
      return v;
    };
    uint64_t version = le(8, 2), flags = le(10, 2), size = le(12, 4);
    if (version != kTraceVersion)
      fail("version", "binary trace version " + std::to_string(version) +
                          " is not supported (this mmusim reads version " +
                          std::to_string(kTraceVersion) + ")");
    if (flags & ~uint64_t(kTraceFlagGpa)) fail("flags", "unknown flag bits set in the header");
    if (size != kTraceBinaryHeaderBytes) fail("header", "unexpected header size " + std::to_string(size));
    header_.gpa_space = (flags & kTraceFlagGpa) != 0;
    header_.guest_mem = le(16, 8);
    return;
  }
  // Text: put the bytes back by restarting the stream.
  gzrewind(gz(gz_));
  pos_ = len_ = 0;
  consumed_ = 0;
  parse_text_header();
}

TraceReader::~TraceReader() {
  if (gz_) gzclose(gz(gz_));
}

bool TraceReader::fill() {
  consumed_ += len_;
  pos_ = len_ = 0;
  int n = gzread(gz(gz_), buf_.data(), unsigned(buf_.size()));
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(gz(gz_), &err);
    throw UsageError(path_ + ": corrupt compressed input after byte " + std::to_string(consumed_) +
                     ": " + (msg ? msg : "read error"));
  }
  if (n == 0) {
    // gzread returns 0 with Z_BUF_ERROR when a gzip stream ends early (truncated file).
    int err = 0;
    const char* msg = gzerror(gz(gz_), &err);
    if (err != Z_OK && err != Z_STREAM_END)
      throw UsageError(path_ + ": truncated or corrupt gzip input after byte " +
                       std::to_string(consumed_) + ": " + (msg ? msg : "read error"));
    return false;
  }
  len_ = size_t(n);
  return true;
}

bool TraceReader::get_byte(uint8_t& b) {
  if (pos_ == len_ && !fill()) return false;
  b = uint8_t(buf_[pos_++]);
  return true;
}

bool TraceReader::read_line(std::string& line) {
  line.clear();
  bool any = false;
  while (true) {
    if (pos_ == len_ && !fill()) break;
    any = true;
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', len_ - pos_);
    if (nl) {
      size_t n = size_t(static_cast<const char*>(nl) - start);
      line.append(start, n);
      pos_ += n + 1;
      ++line_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
    line.append(start, len_ - pos_);
    pos_ = len_;
    if (line.size() > (1u << 20)) fail("line", "longer than 1 MiB (is this a text trace?)");
  }
  if (any && !line.empty()) {
    ++line_;
    return true;
  }
  return false;
}

void TraceReader::parse_text_header() {
  std::string line;
  bool seen_header = false;
  while (read_line(line)) {
    std::vector<std::string> w = words_of(line);
    if (w.empty()) continue;
    if (!seen_header) {
      if (w[0] != "mmusim-trace")
        fail("header", "not an mmusim trace: expected a first line 'mmusim-trace " +
                           std::to_string(kTraceVersion) + "' or the binary magic");
      uint64_t v = 0;
      if (w.size() != 2 || !number_of(w[1], v)) fail("version", "expected 'mmusim-trace <version>'");
      if (v != kTraceVersion)
        fail("version", "text trace version " + w[1] + " is not supported (this mmusim reads version " +
                            std::to_string(kTraceVersion) + ")");
      seen_header = true;
      continue;
    }
    if (w[0] == "space") {
      if (w.size() != 2 || (w[1] != "gva" && w[1] != "gpa"))
        fail("space", "expected 'space gva' or 'space gpa'");
      header_.gpa_space = w[1] == "gpa";
    } else if (w[0] == "guest-mem") {
      if (w.size() != 2 || !size_of_text(w[1], header_.guest_mem) || header_.guest_mem == 0)
        fail("guest-mem", "expected a size such as 64M or 0x4000000");
    } else {
      pending_ = line;
      have_pending_ = true;
      return;
    }
  }
  if (!seen_header) fail("header", "empty file: expected a first line 'mmusim-trace 1'");
}

void TraceReader::only(bool host_thread, uint32_t thread) {
  filtered_ = true;
  filter_host_ = host_thread;
  filter_thread_ = thread;
  filter_name_ = (host_thread ? "h" : "v") + std::to_string(thread);
}

bool TraceReader::next(TraceRecord& r) {
  while (header_.binary ? next_binary(r) : next_text(r)) {
    if (!filtered_ || (r.host_thread == filter_host_ && r.thread == filter_thread_)) return true;
  }
  return false;
}

bool TraceReader::next_text(TraceRecord& r) {
  std::string line;
  std::vector<std::string> w;
  while (true) {
    if (have_pending_) {
      line.swap(pending_);
      have_pending_ = false;
    } else if (!read_line(line)) {
      return false;
    }
    if (filtered_) {
      size_t i = line.find_first_not_of(" \t");
      size_t n = filter_name_.size();
      if (i == std::string::npos || line.compare(i, n, filter_name_) != 0 ||
          (i + n < line.size() && line[i + n] != ' ' && line[i + n] != '\t'))
        continue;
    }
    w = words_of(line);
    if (!w.empty()) break;
  }
  r = TraceRecord{};
  const std::string& t = w[0];
  uint64_t id = 0;
  if (t.size() < 2 || (t[0] != 'v' && t[0] != 'h') || !number_of(t.substr(1), id))
    fail("thread", "expected v<N> (vCPU) or h<N> (host thread), got '" + t + "'");
  r.host_thread = t[0] == 'h';
  if (r.host_thread ? id >= kTraceMaxHostThreads : id >= kTraceMaxVcpus)
    fail("thread", "'" + t + "' is out of range (at most " +
                       std::to_string(r.host_thread ? kTraceMaxHostThreads : kTraceMaxVcpus) +
                       (r.host_thread ? " host threads)" : " vCPUs)"));
  r.thread = uint32_t(id);
  if (w.size() < 2) fail("op", "missing operation after '" + t + "'");
  const std::string& op = w[1];
  auto num = [&](size_t i, const char* field) {
    uint64_t v = 0;
    if (i >= w.size()) fail(field, "missing");
    if (!number_of(w[i], v)) fail(field, "'" + w[i] + "' is not a number (decimal or 0x hex)");
    return v;
  };
  auto arity = [&](size_t n) {
    if (w.size() != n)
      fail("op", "'" + op + "' takes " + std::to_string(n - 2) + " operand(s), got " +
                     std::to_string(w.size() - 2));
  };
  if (op == "gap") {
    arity(3);
    r.op = TraceRecord::Op::Gap;
    r.cycles = num(2, "cycles");
    return true;
  }
  if (op == "r" || op == "w" || op == "x") {
    if (r.host_thread) fail("op", "host thread " + t + " cannot make guest accesses");
    if (w.size() != 3 && w.size() != 4) fail("op", "'" + op + "' takes ADDR [SIZE]");
    r.op = op == "r" ? TraceRecord::Op::Read : op == "w" ? TraceRecord::Op::Write : TraceRecord::Op::Fetch;
    r.addr = num(2, "address");
    uint64_t size = w.size() == 4 ? num(3, "size") : 0;
    if (size > kMaxAccessSize) fail("size", std::to_string(size) + " bytes is more than one page");
    r.size = uint32_t(size);
    return true;
  }
  HostEventKind kind;
  if (!host_event_kind_of(op, kind))
    fail("op", "unknown operation '" + op + "' (r, w, x, gap, or a host event such as unmap)");
  if (!r.host_thread) fail("op", "host event '" + op + "' must be on a host thread h<N>, not " + t);
  r.op = TraceRecord::Op::Host;
  r.ev.kind = kind;
  HostEventFields f = host_event_fields(kind);
  arity(2 + size_t(f.slot) + f.gpa + f.bytes + f.gpa2);
  size_t i = 2;
  if (f.slot) {
    uint64_t s = num(i++, "slot");
    if (s > UINT32_MAX) fail("slot", "out of range");
    r.ev.slot = uint32_t(s);
  }
  if (f.gpa) r.ev.gpa = num(i++, "gpa");
  if (f.bytes) r.ev.bytes = num(i++, "bytes");
  if (f.gpa2) r.ev.gpa2 = num(i++, "gpa2");
  return true;
}

uint64_t TraceReader::get_varint(const char* field) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    uint8_t b;
    if (!get_byte(b)) fail(field, "truncated record (input ends inside it)");
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  fail(field, "malformed number (more than 10 bytes)");
}

bool TraceReader::next_binary(TraceRecord& r) {
  uint8_t code;
  record_at_ = consumed_ + pos_;
  if (!get_byte(code)) return false;
  r = TraceRecord{};
  uint64_t tid = get_varint("thread");
  r.host_thread = tid & 1;
  uint64_t id = tid >> 1;
  if (r.host_thread ? id >= kTraceMaxHostThreads : id >= kTraceMaxVcpus)
    fail("thread", std::string(r.host_thread ? "host thread " : "vCPU ") + std::to_string(id) +
                       " is out of range");
  r.thread = uint32_t(id);
  if (code <= 2) {
    if (r.host_thread) fail("op", "host thread h" + std::to_string(id) + " cannot make guest accesses");
    r.op = TraceRecord::Op(code);
    r.addr = get_varint("address");
    uint64_t size = get_varint("size");
    if (size > kMaxAccessSize) fail("size", std::to_string(size) + " bytes is more than one page");
    r.size = uint32_t(size);
    return true;
  }
  if (code == 3) {
    r.op = TraceRecord::Op::Gap;
    r.cycles = get_varint("cycles");
    return true;
  }
  if (code < 0x10 || code >= 0x10 + kHostEventKinds)
    fail("op", "unknown record code " + std::to_string(code));
  if (!r.host_thread) fail("op", "host event on vCPU v" + std::to_string(id));
  r.op = TraceRecord::Op::Host;
  r.ev.kind = HostEventKind(code - 0x10);
  HostEventFields f = host_event_fields(r.ev.kind);
  if (f.slot) {
    uint64_t s = get_varint("slot");
    if (s > UINT32_MAX) fail("slot", "out of range");
    r.ev.slot = uint32_t(s);
  }
  if (f.gpa) r.ev.gpa = get_varint("gpa");
  if (f.bytes) r.ev.bytes = get_varint("bytes");
  if (f.gpa2) r.ev.gpa2 = get_varint("gpa2");
  return true;
}

std::string TraceReader::where() const {
  if (header_.binary) return path_ + ": record at byte " + std::to_string(record_at_);
  return path_ + ":" + std::to_string(line_);
}

void TraceReader::fail(const std::string& field, const std::string& message) const {
  throw UsageError(where() + ": " + field + ": " + message);
}

}  // namespace mmusim
