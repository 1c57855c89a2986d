#include "workloads/trace_reader.hpp"

#include <algorithm>
#include <cstring>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

constexpr uint32_t kMaxAccessSize = 4096;
// Longest binary record: a code byte and at most five 10-byte numbers.
constexpr size_t kMaxBinaryRecord = 1 + 5 * 10;

// Character classes, by table: the parser's inner loops test every byte.
struct CharTables {
  unsigned char space[256] = {};  // what istream's >> skips (isspace in the "C" locale)
  unsigned char hex[256];         // digit value, or 0xff
  constexpr CharTables() : hex() {
    for (int c = 0; c < 256; ++c) {
      space[c] = c == ' ' || (c >= '\t' && c <= '\r');
      hex[c] = c >= '0' && c <= '9'   ? (unsigned char)(c - '0')
               : c >= 'a' && c <= 'f' ? (unsigned char)(c - 'a' + 10)
               : c >= 'A' && c <= 'F' ? (unsigned char)(c - 'A' + 10)
                                      : 0xff;
    }
  }
};
constexpr CharTables kChars;

inline bool is_space(char c) { return kChars.space[(unsigned char)c]; }

// Unsigned number: decimal, or hex with 0x. False on anything else or overflow.
inline bool number_of(const char* b, const char* e, uint64_t& out) {
  if (b == e) return false;
  uint64_t v = 0;
  if (e - b > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X')) {
    if (e - b > 18) {  // more than 16 digits: overflow unless the extra ones are leading zeros
      const char* p = b + 2;
      while (e - p > 16 && *p == '0') ++p;
      if (e - p > 16) return false;
      b = p - 2;
    }
    for (const char* p = b + 2; p != e; ++p) {
      const unsigned d = kChars.hex[(unsigned char)*p];
      if (d > 15) return false;
      v = (v << 4) | d;
    }
  } else {
    const bool may_overflow = e - b > 19;  // 19 decimal digits always fit in 64 bits
    for (const char* p = b; p != e; ++p) {
      const unsigned d = unsigned(*p - '0');
      if (d > 9) return false;
      if (may_overflow && v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
    }
  }
  out = v;
  return true;
}

// A size with an optional binary suffix K, M, G, T.
bool size_of_text(const char* b, const char* e, uint64_t& out) {
  unsigned shift = 0;
  if (b != e) {
    switch (e[-1]) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: break;
    }
    if (shift) --e;
  }
  uint64_t v;
  if (!number_of(b, e, v) || (shift && v > (UINT64_MAX >> shift))) return false;
  out = v << shift;
  return true;
}

bool is(const char* b, const char* e, const char* word) {
  size_t n = std::strlen(word);
  return size_t(e - b) == n && std::memcmp(b, word, n) == 0;
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

TraceReader::TraceReader(const std::string& path, size_t buffer_bytes)
    : in_(path, buffer_bytes),
      buf_(new char[std::max(buffer_bytes, size_t(4096))]),
      cap_(std::max(buffer_bytes, size_t(4096))) {
  read_header();
}

TraceReader::~TraceReader() = default;

void TraceReader::input_failed(const std::string& message) const {
  // CompressedInput names the file first; say which record the reader was about to read.
  std::string m = message;
  const std::string& p = path();
  if (m.compare(0, p.size() + 2, p + ": ") == 0) m.erase(0, p.size() + 2);
  if (header_.binary)
    throw UsageError(p + ": record at byte " + std::to_string(consumed_ + pos_) + ": input: " + m);
  throw UsageError(p + ":" + std::to_string(line_ + 1) + ": input: " + m);
}

bool TraceReader::ensure(size_t want) {
  while (len_ - pos_ < want) {
    if (eof_) return false;
    if (pos_ != 0) {
      std::memmove(buf_.get(), buf_.get() + pos_, len_ - pos_);
      consumed_ += pos_;
      len_ -= pos_;
      pos_ = 0;
    }
    if (len_ == cap_) {
      // A text line longer than the buffer: grow, up to the longest line accepted.
      size_t grown = std::min(cap_ * 2, kMaxLineBytes + 1);
      if (grown <= cap_) return false;
      std::unique_ptr<char[]> b(new char[grown]);
      std::memcpy(b.get(), buf_.get(), len_);
      buf_ = std::move(b);
      cap_ = grown;
    }
    size_t n;
    try {
      n = in_.read(buf_.get() + len_, cap_ - len_);
    } catch (const UsageError& e) {
      input_failed(e.what());
    }
    if (n == 0) eof_ = true;  // a short read may come before a fault: read on
    len_ += n;
  }
  return true;
}

void TraceReader::read_header() {
  // Binary traces start with the magic; anything else must be the text header line.
  ensure(kTraceBinaryHeaderBytes);
  const unsigned char* head = reinterpret_cast<const unsigned char*>(buf_.get());
  size_t got = len_;
  if (got >= 8 && std::memcmp(head, kTraceMagic, 8) == 0) {
    header_.binary = true;
    record_at_ = 0;
    if (got < kTraceBinaryHeaderBytes)
      fail("header", "truncated binary header (" + std::to_string(got) + " of " +
                         std::to_string(kTraceBinaryHeaderBytes) + " bytes)");
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
    pos_ = kTraceBinaryHeaderBytes;
    return;
  }
  parse_text_header();
}

bool TraceReader::read_line(const char*& b, const char*& e) {
  size_t scanned = 0;  // unread bytes already known to hold no newline
  for (;;) {
    const char* start = buf_.get() + pos_;
    const void* nl = std::memchr(start + scanned, '\n', len_ - pos_ - scanned);
    if (nl) {
      b = start;
      e = static_cast<const char*>(nl);
      pos_ += size_t(e - b) + 1;
      ++line_;
      if (e != b && e[-1] == '\r') --e;
      if (size_t(e - b) > kMaxLineBytes) fail("line", "longer than 1 MiB (is this a text trace?)");
      return true;
    }
    scanned = len_ - pos_;
    if (scanned > kMaxLineBytes) {
      ++line_;
      fail("line", "longer than 1 MiB (is this a text trace?)");
    }
    if (!ensure(scanned + 1)) {
      if (len_ == pos_) return false;
      // The last line need not end with a newline.
      b = buf_.get() + pos_;
      e = buf_.get() + len_;
      pos_ = len_;
      ++line_;
      if (e[-1] == '\r') --e;
      return true;
    }
  }
}

// Splits [b, e) into whitespace-separated words up to a '#' comment: the first kMaxTokens into
// `t`, the number of all of them into `count`. Returns the number stored.
unsigned TraceReader::tokens_of(const char* b, const char* e, Token* t, unsigned& count) const {
  unsigned n = 0;
  count = 0;
  const char* p = b;
  for (;;) {
    while (p != e && is_space(*p)) ++p;
    if (p == e || *p == '#') break;
    const char* s = p;
    while (p != e && !is_space(*p) && *p != '#') ++p;
    if (n < kMaxTokens) t[n++] = Token{s, p};
    ++count;
  }
  return n;
}

void TraceReader::parse_text_header() {
  const char* b;
  const char* e;
  bool seen_header = false;
  while (true) {
    const uint64_t line = line_;
    if (!read_line(b, e)) break;
    Token w[kMaxTokens];
    unsigned count;
    unsigned n = tokens_of(b, e, w, count);
    if (n == 0) continue;
    if (!seen_header) {
      if (!is(w[0].b, w[0].e, "mmusim-trace"))
        fail("header", "not an mmusim trace: expected a first line 'mmusim-trace " +
                           std::to_string(kTraceVersion) + "' or the binary magic");
      uint64_t v = 0;
      if (count != 2 || !number_of(w[1].b, w[1].e, v)) fail("version", "expected 'mmusim-trace <version>'");
      if (v != kTraceVersion)
        fail("version", "text trace version " + std::string(w[1].b, w[1].e) +
                            " is not supported (this mmusim reads version " +
                            std::to_string(kTraceVersion) + ")");
      seen_header = true;
      continue;
    }
    if (is(w[0].b, w[0].e, "space")) {
      if (count != 2 || !(is(w[1].b, w[1].e, "gva") || is(w[1].b, w[1].e, "gpa")))
        fail("space", "expected 'space gva' or 'space gpa'");
      header_.gpa_space = is(w[1].b, w[1].e, "gpa");
    } else if (is(w[0].b, w[0].e, "guest-mem")) {
      if (count != 2 || !size_of_text(w[1].b, w[1].e, header_.guest_mem) || header_.guest_mem == 0)
        fail("guest-mem", "expected a size such as 64M or 0x4000000");
    } else {
      // The first record: unread it, so next() parses it (the line is whole in the buffer).
      pos_ = size_t(b - buf_.get());
      line_ = line;
      return;
    }
  }
  if (!seen_header) fail("header", "empty file: expected a first line 'mmusim-trace 1'");
}

void TraceReader::only(bool host_thread, uint32_t thread) {
  filtered_ = true;
  filter_host_ = host_thread;
  filter_thread_ = thread;
  filter_tid_ = (uint64_t(thread) << 1) | (host_thread ? 1 : 0);
}

bool TraceReader::next(TraceRecord& r) {
  if (header_.binary) return next_binary(r);
  return next_text(r);
}

// True when a filtered reader can pass over the line without parsing it: its first word names
// another thread ("v03" names v3 as the parser reads it). A malformed first word is not skipped,
// so the parser reports it.
bool TraceReader::skip_text_line(const char* b, const char* e) const {
  while (b != e && is_space(*b)) ++b;
  if (b == e || *b == '#') return true;  // blank: nothing to parse
  if (*b != 'v' && *b != 'h') return false;
  const bool host = *b++ == 'h';
  const char* s = b;
  while (b != e && !is_space(*b) && *b != '#') ++b;
  uint64_t id;
  if (!number_of(s, b, id)) return false;
  return host != filter_host_ || id != filter_thread_;
}

bool TraceReader::next_text(TraceRecord& r) {
  const char* b;
  const char* e;
  Token w[kMaxTokens];
  unsigned n, count;
  do {
    if (!read_line(b, e)) return false;
    if (filtered_ && skip_text_line(b, e)) {
      n = 0;
      continue;
    }
    if (parse_access_line(b, e, r)) return true;
    n = tokens_of(b, e, w, count);
  } while (n == 0);
  parse_text_record(w, count, r);
  return true;
}

// The common line, "v<N> r|w|x ADDR [SIZE]", in one pass over its bytes. Returns false, having
// decided nothing, for any other line -- another kind, a comment, an odd spacing, an error --
// which the general parser then reads (and reports, if it is wrong).
bool TraceReader::parse_access_line(const char* p, const char* e, TraceRecord& r) const {
  auto digits = [&](const char* q) {  // end of a run of non-space, non-comment bytes
    while (q != e && !is_space(*q) && *q != '#') ++q;
    return q;
  };
  if (p == e || *p != 'v') return false;
  const char* q = digits(p + 1);
  uint64_t id, addr, size = 0;
  if (q == e || *q != ' ' || !number_of(p + 1, q, id) || id >= kTraceMaxVcpus) return false;
  p = q + 1;
  if (e - p < 3 || p[1] != ' ' || (p[0] != 'r' && p[0] != 'w' && p[0] != 'x')) return false;
  const char op = p[0];
  p += 2;
  q = digits(p);
  if (!number_of(p, q, addr)) return false;
  if (q != e && *q == ' ') {
    p = q + 1;
    q = digits(p);
    if (!number_of(p, q, size) || size > kMaxAccessSize) return false;
  }
  if (q != e && *q != '#') return false;
  r = TraceRecord{};
  r.thread = uint32_t(id);
  r.op = op == 'r' ? TraceRecord::Op::Read : op == 'w' ? TraceRecord::Op::Write : TraceRecord::Op::Fetch;
  r.addr = addr;
  r.size = uint32_t(size);
  return true;
}

void TraceReader::parse_text_record(const Token* w, unsigned n, TraceRecord& r) const {
  r = TraceRecord{};
  auto str = [&](unsigned i) { return std::string(w[i].b, w[i].e); };
  const Token t = w[0];
  uint64_t id = 0;
  if (t.e - t.b < 2 || (t.b[0] != 'v' && t.b[0] != 'h') || !number_of(t.b + 1, t.e, id))
    fail("thread", "expected v<N> (vCPU) or h<N> (host thread), got '" + str(0) + "'");
  r.host_thread = t.b[0] == 'h';
  if (r.host_thread ? id >= kTraceMaxHostThreads : id >= kTraceMaxVcpus)
    fail("thread", "'" + str(0) + "' is out of range (at most " +
                       std::to_string(r.host_thread ? kTraceMaxHostThreads : kTraceMaxVcpus) +
                       (r.host_thread ? " host threads)" : " vCPUs)"));
  r.thread = uint32_t(id);
  if (n < 2) fail("op", "missing operation after '" + str(0) + "'");
  const Token op = w[1];
  auto num = [&](unsigned i, const char* field) {
    uint64_t v = 0;
    if (i >= n) fail(field, "missing");
    if (!number_of(w[i].b, w[i].e, v)) fail(field, "'" + str(i) + "' is not a number (decimal or 0x hex)");
    return v;
  };
  auto arity = [&](unsigned k) {
    if (n != k)
      fail("op", "'" + str(1) + "' takes " + std::to_string(k - 2) + " operand(s), got " +
                     std::to_string(n - 2));
  };
  const size_t op_len = size_t(op.e - op.b);
  if (op_len == 1 && (op.b[0] == 'r' || op.b[0] == 'w' || op.b[0] == 'x')) {
    if (r.host_thread) fail("op", "host thread " + str(0) + " cannot make guest accesses");
    if (n != 3 && n != 4) fail("op", "'" + str(1) + "' takes ADDR [SIZE]");
    r.op = op.b[0] == 'r' ? TraceRecord::Op::Read
           : op.b[0] == 'w' ? TraceRecord::Op::Write
                            : TraceRecord::Op::Fetch;
    r.addr = num(2, "address");
    uint64_t size = n == 4 ? num(3, "size") : 0;
    if (size > kMaxAccessSize) fail("size", std::to_string(size) + " bytes is more than one page");
    r.size = uint32_t(size);
    return;
  }
  if (is(op.b, op.e, "gap")) {
    arity(3);
    r.op = TraceRecord::Op::Gap;
    r.cycles = num(2, "cycles");
    return;
  }
  HostEventKind kind;
  if (!host_event_kind_of(str(1), kind))
    fail("op", "unknown operation '" + str(1) + "' (r, w, x, gap, or a host event such as unmap)");
  if (!r.host_thread) fail("op", "host event '" + str(1) + "' must be on a host thread h<N>, not " + str(0));
  r.op = TraceRecord::Op::Host;
  r.ev.kind = kind;
  HostEventFields f = host_event_fields(kind);
  arity(2 + unsigned(f.slot) + f.gpa + f.bytes + f.gpa2);
  unsigned i = 2;
  if (f.slot) {
    uint64_t s = num(i++, "slot");
    if (s > UINT32_MAX) fail("slot", "out of range");
    r.ev.slot = uint32_t(s);
  }
  if (f.gpa) r.ev.gpa = num(i++, "gpa");
  if (f.bytes) r.ev.bytes = num(i++, "bytes");
  if (f.gpa2) r.ev.gpa2 = num(i++, "gpa2");
}

uint64_t TraceReader::varint(const char* field) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(buf_.get()) + pos_;
  const unsigned char* end = reinterpret_cast<const unsigned char*>(buf_.get()) + len_;
  // The checked decoder: every byte against the end (next_binary takes the common records
  // without these checks).
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end) fail(field, "truncated record (input ends inside it)");
    const unsigned char c = *p++;
    v |= uint64_t(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      pos_ = size_t(reinterpret_cast<const char*>(p) - buf_.get());
      return v;
    }
  }
  fail(field, "malformed number (more than 10 bytes)");
}

void TraceReader::skip_varints(unsigned n) {
  // The record is whole in the buffer (next_binary made kMaxBinaryRecord bytes available) or
  // the input ends inside it, which varint() reports.
  while (n--) varint("field");
}

namespace {

// One varint from a buffer known to hold at least 10 more bytes; false when it is longer.
inline bool unchecked_varint(const unsigned char*& p, uint64_t& v) {
  uint64_t x = *p++;
  if (x < 0x80) {
    v = x;
    return true;
  }
  x &= 0x7f;
  for (unsigned shift = 7; shift < 64; shift += 7) {
    const uint64_t c = *p++;
    x |= (c & 0x7f) << shift;
    if (c < 0x80) {
      v = x;
      return true;
    }
  }
  return false;
}

}  // namespace

// The common records -- a vCPU's access or gap, while a whole record is buffered -- decoded with
// no check per byte. Anything else (a host event, the end of the input, a malformed or
// out-of-range record) goes to the general decoder, which reads it again from its first byte and
// reports any error precisely.
bool TraceReader::next_binary(TraceRecord& r) {
  const unsigned char* base = reinterpret_cast<const unsigned char*>(buf_.get());
  for (;;) {
    if (len_ - pos_ < kMaxBinaryRecord) {
      ensure(kMaxBinaryRecord);
      if (len_ - pos_ < kMaxBinaryRecord) return next_binary_checked(r);
      base = reinterpret_cast<const unsigned char*>(buf_.get());
    }
    const unsigned char* p = base + pos_;
    const unsigned code = *p++;
    uint64_t tid, a, b = 0;
    if (code > 3 || !unchecked_varint(p, tid) || (tid & 1) || (tid >> 1) >= kTraceMaxVcpus ||
        !unchecked_varint(p, a) || (code < 3 && !unchecked_varint(p, b)) || b > kMaxAccessSize)
      return next_binary_checked(r);
    if (filtered_ && tid != filter_tid_) {
      pos_ = size_t(p - base);
      continue;
    }
    record_at_ = consumed_ + pos_;
    pos_ = size_t(p - base);
    r.op = TraceRecord::Op(code);
    r.host_thread = false;
    r.thread = uint32_t(tid >> 1);
    r.addr = code < 3 ? a : 0;
    r.size = uint32_t(b);
    r.cycles = code < 3 ? 0 : a;
    return true;
  }
}

bool TraceReader::next_binary_checked(TraceRecord& r) {
  for (;;) {
    if (len_ - pos_ < kMaxBinaryRecord) ensure(kMaxBinaryRecord);  // short only at the end
    record_at_ = consumed_ + pos_;
    if (pos_ == len_) return false;
    const uint8_t code = uint8_t(buf_[pos_++]);
    const uint64_t tid = varint("thread");
    if (filtered_ && tid != filter_tid_) {
      // Another thread's record: step over its numbers without checking them (the pre-run scan
      // of the replay reads every record in full).
      if (code <= 2) skip_varints(2);
      else if (code == 3) skip_varints(1);
      else if (code >= 0x10 && code < 0x10 + kHostEventKinds) {
        HostEventFields f = host_event_fields(HostEventKind(code - 0x10));
        skip_varints(unsigned(f.slot) + f.gpa + f.bytes + f.gpa2);
      } else {
        fail("op", "unknown record code " + std::to_string(code));
      }
      continue;
    }
    r = TraceRecord{};
    r.host_thread = tid & 1;
    const uint64_t id = tid >> 1;
    if (r.host_thread ? id >= kTraceMaxHostThreads : id >= kTraceMaxVcpus)
      fail("thread", std::string(r.host_thread ? "host thread " : "vCPU ") + std::to_string(id) +
                         " is out of range");
    r.thread = uint32_t(id);
    if (code <= 2) {
      if (r.host_thread) fail("op", "host thread h" + std::to_string(id) + " cannot make guest accesses");
      r.op = TraceRecord::Op(code);
      r.addr = varint("address");
      uint64_t size = varint("size");
      if (size > kMaxAccessSize) fail("size", std::to_string(size) + " bytes is more than one page");
      r.size = uint32_t(size);
      return true;
    }
    if (code == 3) {
      r.op = TraceRecord::Op::Gap;
      r.cycles = varint("cycles");
      return true;
    }
    if (code < 0x10 || code >= 0x10 + kHostEventKinds)
      fail("op", "unknown record code " + std::to_string(code));
    if (!r.host_thread) fail("op", "host event on vCPU v" + std::to_string(id));
    r.op = TraceRecord::Op::Host;
    r.ev.kind = HostEventKind(code - 0x10);
    HostEventFields f = host_event_fields(r.ev.kind);
    if (f.slot) {
      uint64_t s = varint("slot");
      if (s > UINT32_MAX) fail("slot", "out of range");
      r.ev.slot = uint32_t(s);
    }
    if (f.gpa) r.ev.gpa = varint("gpa");
    if (f.bytes) r.ev.bytes = varint("bytes");
    if (f.gpa2) r.ev.gpa2 = varint("gpa2");
    return true;
  }
}

std::string TraceReader::where() const {
  if (header_.binary) return path() + ": record at byte " + std::to_string(record_at_);
  return path() + ":" + std::to_string(line_);
}

void TraceReader::fail(const std::string& field, const std::string& message) const {
  throw UsageError(where() + ": " + field + ": " + message);
}

}  // namespace mmusim
