// The mmusim trace format (docs/TRACE_FORMAT.md): per-thread records -- guest accesses and
// compute gaps of vCPUs, host-side events of host threads -- in a line-oriented text form or a
// compact binary form, either of them optionally gzip-compressed. Both forms carry the same
// records; trace_reader / trace_writer convert between them.
#pragma once
#include <cstdint>
#include <string>

#include "sim/core/types.hpp"
#include "sim/hv/host_events.hpp"

namespace mmusim {

constexpr unsigned kTraceVersion = 1;
// Binary form: 8 magic bytes, then little-endian u16 version, u16 flags, u32 header size,
// u64 guest memory bytes (0: not given).
constexpr char kTraceMagic[8] = {'M', 'M', 'U', 'S', 'I', 'M', 'T', 'R'};
constexpr unsigned kTraceBinaryHeaderBytes = 24;
constexpr uint16_t kTraceFlagGpa = 1;  // addresses are guest-physical offsets, not virtual

constexpr unsigned kTraceMaxVcpus = 4096;
constexpr unsigned kTraceMaxHostThreads = 64;

struct TraceHeader {
  bool binary = false;
  bool gpa_space = false;    // accesses name guest-physical offsets into guest RAM
  uint64_t guest_mem = 0;    // bytes of guest RAM the trace may use; 0: not given
};

struct TraceRecord {
  enum class Op : uint8_t { Read, Write, Fetch, Gap, Host };
  Op op = Op::Read;
  bool host_thread = false;  // thread is host thread h<N> rather than vCPU v<N>
  uint32_t thread = 0;
  Addr addr = 0;             // access: guest virtual address (or GPA offset in a gpa trace)
  uint32_t size = 0;         // access size in bytes (0: not recorded)
  Cycles cycles = 0;         // gap
  HostEvent ev;              // host event; its GPAs are offsets into guest RAM
};

// "v3" / "h0"
inline std::string trace_thread_name(const TraceRecord& r) {
  return (r.host_thread ? "h" : "v") + std::to_string(r.thread);
}

inline Access trace_access(TraceRecord::Op op) {
  return op == TraceRecord::Op::Write ? Access::Write
         : op == TraceRecord::Op::Fetch ? Access::Fetch
                                        : Access::Read;
}

// Host event kind by its trace name; false when unknown.
bool host_event_kind_of(const std::string& name, HostEventKind& out);

}  // namespace mmusim
