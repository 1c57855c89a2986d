#include "workloads/lackey_import.hpp"

#include <cstdio>

#include "sim/core/error.hpp"
#include "workloads/line_source.hpp"
#include "workloads/trace_text_output.hpp"

namespace mmusim {

namespace {

constexpr unsigned kCopyShift = 40;        // process k lives at k << 40
constexpr uint64_t kUserLimit = 1ull << 47;
constexpr uint64_t kMaxSize = 4096;        // sizes are clamped to one page

// Whitespace as Python's str.isspace() sees it in ASCII (the reference importer's regex \s and
// str.strip()); lines are already split at "\n" and "\r".
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         (c >= '\x1c' && c <= '\x1f');
}

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hex(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
  return b;
}

// One lackey record line: "I  addr,size", " L addr,size", " S addr,size", " M addr,size".
struct Parsed {
  char kind;        // 'x', 'r' or 'w'
  uint64_t addr;
  uint64_t size;    // clamped to kMaxSize
  bool addr_overflow;
};

bool parse_line(const char* p, const char* e, Parsed& out) {
  if (e - p < 2) return false;
  if (p[0] == 'I' && p[1] == ' ') {
    out.kind = 'x';
  } else if (is_space(p[0]) && (p[1] == 'L' || p[1] == 'S' || p[1] == 'M')) {
    out.kind = p[1] == 'L' ? 'r' : 'w';  // a modify is kept as one write
  } else {
    return false;
  }
  p += 2;
  if (p == e || !is_space(*p)) return false;
  while (p < e && is_space(*p)) ++p;
  uint64_t a = 0;
  bool over = false;
  const char* digits = p;
  for (int d; p < e && (d = hex_digit(*p)) >= 0; ++p) {
    if (a >> 60) over = true;
    a = (a << 4) | unsigned(d);
  }
  if (p == digits || p == e || *p != ',') return false;
  ++p;
  uint64_t s = 0;
  const char* sdigits = p;
  for (; p < e && *p >= '0' && *p <= '9'; ++p) s = s > kMaxSize ? s : s * 10 + unsigned(*p - '0');
  if (p == sdigits) return false;
  while (p < e && is_space(*p)) ++p;
  if (p != e) return false;
  out.addr = a;
  out.size = s < kMaxSize ? s : kMaxSize;
  out.addr_overflow = over;
  return true;
}

bool blank(const char* p, const char* e) {
  for (; p < e; ++p)
    if (!is_space(*p)) return false;
  return true;
}

// The start of a bad line for an error message, printable characters only.
std::string excerpt(const char* p, const char* e) {
  while (p < e && is_space(*p)) ++p;
  while (e > p && is_space(e[-1])) --e;
  std::string s;
  for (; p < e && s.size() < 60; ++p) s += (*p >= 0x20 && *p < 0x7f) ? *p : '?';
  return "'" + s + "'";
}

}  // namespace

std::vector<uint64_t> import_lackey(const std::vector<std::string>& logs,
                                    const LackeyImportOptions& opt, TraceTextOutput& out) {
  std::vector<uint64_t> counts;
  for (uint32_t vcpu = 0; vcpu < logs.size(); ++vcpu) {
    const uint64_t shift = opt.same_address_space ? 0 : uint64_t(vcpu) << kCopyShift;
    LineSource in(logs[vcpu]);
    uint64_t n = 0, pending_gap = 0;
    bool have_last = false;
    char last_kind = 0;
    uint64_t last_page = 0;
    const char *b, *e;
    while (in.next(b, e)) {
      if ((e - b >= 2 && b[0] == '=' && b[1] == '=') || blank(b, e)) continue;
      Parsed r;
      if (!parse_line(b, e, r))
        throw UsageError(in.path() + ":" + std::to_string(in.line()) +
                         ": not a lackey trace line: " + excerpt(b, e));
      uint64_t addr = r.addr + shift;
      if (r.addr_overflow || addr < shift || addr >= kUserLimit)
        throw UsageError(in.path() + ":" + std::to_string(in.line()) + ": address 0x" +
                         (r.addr_overflow || addr < shift ? "..." : hex(addr)) +
                         " is not a user address");
      const uint64_t page = addr >> 12;
      if (opt.merge_same_page && have_last && last_kind == r.kind && last_page == page) {
        ++pending_gap;
        continue;
      }
      have_last = true;
      last_kind = r.kind;
      last_page = page;
      if (pending_gap) {
        out.gap(vcpu, pending_gap);
        pending_gap = 0;
        ++n;
      }
      out.access(vcpu, r.kind, addr, true, r.size);
      ++n;
    }
    if (pending_gap) {
      out.gap(vcpu, pending_gap);
      ++n;
    }
    counts.push_back(n);
  }
  return counts;
}

}  // namespace mmusim
