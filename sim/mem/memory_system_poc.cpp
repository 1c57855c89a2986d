// Versioned data and cache maintenance to the Point of Coherency (DRAM): MemOp::DataRead and
// later, reached through MemorySystem::Impl::extended().
#include <algorithm>

#include "sim/mem/memory_system_impl.hpp"

namespace mmusim {

using namespace mem_detail;

Cycles MemorySystem::Impl::extended(int cpu, Addr addr, MemOp op, uint64_t len, Cycles when,
                                    uint64_t& result, uint64_t& latest) {
  const uint64_t line = addr >> kLineShift;
  result = latest = 0;
  switch (op) {
    case MemOp::DataRead:
    case MemOp::DataWrite: {
      // A cacheable access: the ordinary coherent path, then the coherent version.
      const bool was_cached = llc.find(line) != TagArray::kNone;
      const Cycles l = access(cpu, addr, op == MemOp::DataWrite ? MemOp::Write : MemOp::Read,
                              MemClass::Data, when);
      DataVersions::Line* v = op == MemOp::DataWrite ? &versions.get(line) : versions.find(line);
      if (v) {
        if (!was_cached) v->cached = v->dram;  // filled from DRAM by this access
        if (op == MemOp::DataWrite) v->cached = v->latest = versions.next();
        result = v->cached;
        latest = v->latest;
      }
      return l;
    }
    case MemOp::DataReadNc: return nc_access(line, false, when, result, latest);
    case MemOp::DataWriteNc: return nc_access(line, true, when, result, latest);
    case MemOp::CmoClean:
    case MemOp::CmoInval:
    case MemOp::CmoCleanInval: {
      // By VA over a range, one window of lines per call: the caller comes back for the rest
      // at the time these completed, so concurrent maintenance from other cores shares the
      // home nodes with this one at true time (as ZeroLines below).
      const uint64_t last = (addr + (len ? len : 1) - 1) >> kLineShift;
      const uint64_t lines = std::min<uint64_t>(last - line + 1, kCmoWindowLines);
      result = std::min<uint64_t>(len ? len : 1,
                                  (lines << kLineShift) - (addr & (kLineSize - 1)));
      return cmo_window(line, lines, op, when);
    }
    case MemOp::ZeroLines: {
      // One fill buffer's worth of lines per call: the caller comes back for the rest at the
      // time these completed, so other agents' accesses in between meet only the lines (and
      // the victims on the channels) the zeroing really has by then. (A page per call would
      // book ~320 cycles ahead and serialise concurrent zeroing page by page.)
      const uint64_t last = (addr + (len ? len : 1) - 1) >> kLineShift;
      const uint64_t lines = std::min<uint64_t>(last - line + 1, std::max(1u, p_.fill_buffers));
      result = std::min<uint64_t>(len, (lines << kLineShift) - (addr & (kLineSize - 1)));
      return zero_range(unsigned(cpu), line, lines, when);
    }
    default: break;
  }
  throw ModelError("memory system: unknown extended operation");
}

// A non-cacheable access goes past the caches to DRAM: it sees (or replaces) DRAM's version,
// whatever the caches hold, and leaves the cache state alone.
Cycles MemorySystem::Impl::nc_access(uint64_t line, bool write, Cycles when, uint64_t& result,
                                     uint64_t& latest) {
  if (write) {
    stats.nc_writes.inc();
    DataVersions::Line& v = versions.get(line);
    v.dram = v.latest = versions.next();
    if (llc.find(line) == TagArray::kNone) v.cached = v.dram;  // a later fill brings this one
    result = v.dram;
    latest = v.latest;
    dram_writeback(line, when);
    return p_.llc_hit;  // posted once past the interconnect
  }
  stats.nc_reads.inc();
  if (const DataVersions::Line* v = versions.find(line)) {
    result = v->dram;
    latest = v->latest;
  }
  return p_.llc_hit + dram_read(line, when);
}

// One DC CVAC / IVAC / CIVAC on one line: every level is looked up (private L1 and L2 of the
// owner, the LLC); a dirty copy is written to DRAM, and `reached` gets the cycle it got there
// (the line is held until then). The returned cost is the instruction's issue; the core goes on
// to the next one meanwhile, and only the window's end waits for the writebacks (a DSB waits
// for the maintenance before it). Invalidation removes every copy (all CPUs: the operation is
// broadcast to the inner shareable domain).
Cycles MemorySystem::Impl::cmo_line(uint64_t line, MemOp op, Cycles when, Cycles& reached) {
  stats.cmo_lines.inc();
  Cycles cost = p_.cmo_line_level * 3;
  const uint32_t s = llc.find(line);
  if (s == TagArray::kNone) return cost;  // only DRAM holds it: nothing to clean or drop
  DirEntry& d = dir[s];
  cost += line_wait(d, when);  // behind a fill, transfer or clean of the line in progress
  bool dirty = d.dirty;
  if (d.owned) {
    PrivateCaches& owner = *privs[d.sharers.first()];
    const uint32_t os = owner.l2.find(line);
    if (os != TagArray::kNone && owner.l2_state[os] == kModified) {
      dirty = true;
      if (op == MemOp::CmoClean) owner.l2_state[os] = kExclusive;  // clean, still owned
    }
  }
  const bool write_back = dirty && op != MemOp::CmoInval;
  if (write_back) {
    stats.cmo_writebacks.inc();
    // The data reaches the PoC after the channel queue, then DRAM.
    const Cycles at = when + cost;
    reached = at + dram_writeback(line, at) + p_.dram;
    if (DataVersions::Line* v = versions.find(line)) v->dram = v->cached;
  }
  if (op == MemOp::CmoClean) {
    d.dirty = false;
    if (write_back) d.busy_until = reached;  // held until the data reached the PoC
    return cost;
  }
  d.sharers.for_each([&](unsigned holder) { drop_private(holder, line); });
  d.reset();
  llc.invalidate(s);
  // Discarded dirty data (IVAC) is lost: the line is DRAM's version again.
  if (DataVersions::Line* v = versions.find(line)) v->cached = v->dram;
  return cost;
}

// A window of maintenance instructions by VA, issued one after another by the core (each
// looking at every level: cmo_line); the window completes when the last was issued and every
// dirty line it wrote back reached DRAM. Each is also a request to its line's home node in the
// interconnect, which serves one per `home_node_occupancy` cycles: the window's requests
// occupy their home nodes from the window's start (or when the node is free), so one core
// alone never waits on them, while many cores maintaining memory at once share the nodes'
// throughput and wait (mem.cmo.home_wait), as broadcast TLBIs share the DVM channel.
Cycles MemorySystem::Impl::cmo_window(uint64_t first_line, uint64_t lines, MemOp op,
                                      Cycles when) {
  Cycles issue = 0, reached = when;
  for (uint64_t i = 0; i < lines; ++i) {
    Cycles r = 0;
    issue += cmo_line(first_line + i, op, when + issue, r);
    reached = std::max(reached, r);
  }
  issue = std::max(issue, reached - when);
  const size_t nodes = home_busy.size();
  std::fill(home_count_.begin(), home_count_.end(), 0u);
  for (uint64_t i = 0; i < lines; ++i) ++home_count_[(first_line + i) % nodes];
  Cycles served = 0;
  for (size_t n = 0; n < nodes; ++n) {
    if (!home_count_[n]) continue;
    Cycles& busy = home_busy[n];
    busy = std::max<Cycles>(busy, when) + Cycles(home_count_[n]) * p_.home_node_occupancy;
    served = std::max<Cycles>(served, busy - when);
  }
  if (served <= issue) return issue;
  stats.cmo_home_wait.sample(served - issue);
  return served;
}

}  // namespace mmusim
