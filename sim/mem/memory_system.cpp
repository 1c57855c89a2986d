#include "sim/mem/memory_system.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "sim/core/clock.hpp"
#include "sim/core/error.hpp"
#include "sim/mem/cache_array.hpp"
#include "sim/mem/data_versions.hpp"
#include "sim/mem/directory.hpp"

namespace mmusim {

namespace {

// Coherence state of a line in one CPU's private hierarchy (MESI without an explicit Invalid:
// absence from the L2 tag array is Invalid). Kept per L2 slot; an L1 slot points at its L2 slot.
enum PrivState : uint8_t { kShared = 0, kExclusive = 1, kModified = 2 };

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool is_atomic(MemOp op) {
  return op == MemOp::Cmpxchg || op == MemOp::Xchg || op == MemOp::FetchAdd;
}

// One physical CPU's private caches. Built on the CPU's first access so a config with thousands
// of CPUs only pays for the ones that run something.
struct PrivateCaches {
  explicit PrivateCaches(const SimConfig& cfg)
      : l1(cfg.l1_size, cfg.l1_ways, "--l1-size/--l1-ways"),
        l2(cfg.l2_size, cfg.l2_ways, "--l2-size/--l2-ways"),
        l1_l2slot(l1.slots(), 0),
        l2_state(l2.slots(), kShared) {}
  TagArray l1;
  TagArray l2;
  std::vector<uint32_t> l1_l2slot;  // L1 slot -> L2 slot of the same line (inclusion)
  std::vector<uint8_t> l2_state;    // PrivState per L2 slot
};

}  // namespace

struct MemorySystem::Impl {
  Impl(const SimConfig& cfg, Stats& stats);

  Cycles access(int cpu, Addr addr, MemOp op, MemClass cls, Cycles when);
  bool in_private(int cpu, Addr addr) const;
  bool in_llc(Addr addr) const { return llc.find(addr >> kLineShift) != TagArray::kNone; }
  // Versioned data and cache maintenance to the PoC (MemOp::DataRead and later).
  Cycles extended(int cpu, Addr addr, MemOp op, uint64_t len, Cycles when, uint64_t& result,
                  uint64_t& latest);
  DataVersions versions;

 private:
  Cycles cmo_line(uint64_t line, MemOp op, Cycles when);
  Cycles nc_access(uint64_t line, bool write, Cycles when, uint64_t& result, uint64_t& latest);
  PrivateCaches& priv(unsigned cpu) {
    PrivateCaches* p = privs[cpu].get();
    if (!p) {
      privs[cpu] = std::make_unique<PrivateCaches>(cfg);
      p = privs[cpu].get();
    }
    return *p;
  }
  Cycles private_miss(unsigned cpu, PrivateCaches& p, uint64_t line, bool write, Cycles when);
  Cycles upgrade(unsigned cpu, uint64_t line);
  Cycles llc_lookup(unsigned cpu, uint64_t line, bool write, Cycles when, uint8_t& state);
  uint32_t llc_fill(uint64_t line, Cycles when);
  uint32_t l2_fill(unsigned cpu, PrivateCaches& p, uint64_t line, uint8_t state);
  void l1_fill(PrivateCaches& p, uint64_t line, uint32_t l2slot);
  uint8_t drop_private(unsigned cpu, uint64_t line);
  uint32_t llc_slot(uint64_t line) const;
  Cycles dram_read(uint64_t line, Cycles when);
  void dram_writeback(uint64_t line, Cycles when);

  const SimConfig cfg;
  const Latencies lat;
  const unsigned ncpus;
  std::vector<std::unique_ptr<PrivateCaches>> privs;
  TagArray llc;
  std::vector<DirEntry> dir;         // parallel to llc slots
  std::vector<Cycles> channel_busy;  // per DRAM channel: cycle until which it is busy

  Counter &l1_hit, &l1_miss, &l2_hit, &l2_miss, &llc_hit, &llc_miss;
  Counter &dram_accesses, &invalidations, &c2c, &writebacks, &back_invalidations;
  Counter* class_count[3];
  Histogram& queue_wait;
  Counter &nc_reads, &nc_writes, &cmo_lines, &cmo_writebacks;
};

MemorySystem::Impl::Impl(const SimConfig& c, Stats& stats)
    : cfg(c),
      lat(c.lat),
      ncpus(c.physical_cpus()),
      privs(ncpus),
      llc(c.llc_size, c.llc_ways, "--llc-size/--llc-ways"),
      dir(llc.slots()),
      channel_busy(c.dram_channels, 0),
      l1_hit(stats.counter("mem.l1.hit")),
      l1_miss(stats.counter("mem.l1.miss")),
      l2_hit(stats.counter("mem.l2.hit")),
      l2_miss(stats.counter("mem.l2.miss")),
      llc_hit(stats.counter("mem.llc.hit")),
      llc_miss(stats.counter("mem.llc.miss")),
      dram_accesses(stats.counter("mem.dram.accesses")),
      invalidations(stats.counter("mem.coherence.invalidations")),
      c2c(stats.counter("mem.coherence.c2c")),
      writebacks(stats.counter("mem.writebacks")),
      back_invalidations(stats.counter("mem.llc.back_invalidations")),
      class_count{&stats.counter("mem.class.data"), &stats.counter("mem.class.page_table"),
                  &stats.counter("mem.class.sync")},
      queue_wait(stats.histogram("mem.dram.queue_wait")),
      nc_reads(stats.counter("mem.nc.reads")),
      nc_writes(stats.counter("mem.nc.writes")),
      cmo_lines(stats.counter("mem.cmo.lines")),
      cmo_writebacks(stats.counter("mem.cmo.writebacks")) {
  if (ncpus == 0 || ncpus > SharerSet::kMaxCpus + 1)
    throw UsageError("memory system: physical CPU count must be 1.." +
                     std::to_string(SharerSet::kMaxCpus + 1));
  if (c.dram_channels == 0) throw UsageError("--dram-channels must be at least 1");
  // Validate the private geometry now rather than on some CPU's first access mid-run.
  PrivateCaches probe(c);
  (void)probe;
}

// The whole L1-hit path lives here: one set scan, two recency stamps, and for a write a state
// check that needs no directory unless the line is Shared.
Cycles MemorySystem::Impl::access(int cpu, Addr addr, MemOp op, MemClass cls, Cycles when) {
  if (unsigned(cpu) >= ncpus)
    throw ModelError("memory access by cpu " + std::to_string(cpu) + " of " +
                     std::to_string(ncpus));
  class_count[unsigned(cls)]->inc();
  const unsigned c = unsigned(cpu);
  PrivateCaches& p = priv(c);
  const uint64_t line = addr >> kLineShift;
  const bool write = op != MemOp::Read;
  const Cycles extra = is_atomic(op) ? lat.atomic : 0;

  const uint32_t s1 = p.l1.find(line);
  if (s1 != TagArray::kNone) {
    l1_hit.inc();
    p.l1.touch(s1);
    const uint32_t s2 = p.l1_l2slot[s1];
    // L2 recency follows L1 reuse too, so a hot L1 line never becomes L2's LRU victim and is
    // not thrown out of L1 by inclusion.
    p.l2.touch(s2);
    if (!write) return lat.l1_hit;
    uint8_t& st = p.l2_state[s2];
    if (st != kShared) {  // Exclusive -> Modified silently: the directory already names us owner
      st = kModified;
      return lat.l1_hit + extra;
    }
    return lat.l1_hit + extra + upgrade(c, line);
  }
  l1_miss.inc();
  return private_miss(c, p, line, write, when) + extra;
}

Cycles MemorySystem::Impl::private_miss(unsigned cpu, PrivateCaches& p, uint64_t line, bool write,
                                        Cycles when) {
  uint32_t s2 = p.l2.find(line);
  if (s2 != TagArray::kNone) {
    l2_hit.inc();
    p.l2.touch(s2);
    l1_fill(p, line, s2);
    if (!write) return lat.l2_hit;
    uint8_t& st = p.l2_state[s2];
    if (st != kShared) {
      st = kModified;
      return lat.l2_hit;
    }
    return lat.l2_hit + upgrade(cpu, line);
  }
  l2_miss.inc();
  uint8_t state = kShared;
  const Cycles l = llc_lookup(cpu, line, write, when, state);
  s2 = l2_fill(cpu, p, line, state);
  l1_fill(p, line, s2);
  return l;
}

uint32_t MemorySystem::Impl::llc_slot(uint64_t line) const {
  const uint32_t s = llc.find(line);
  if (s == TagArray::kNone)
    throw ModelError("memory system: privately cached line " + hex(line << kLineShift) +
                     " missing from the inclusive LLC");
  return s;
}

// Write by a CPU that holds the line Shared: the directory invalidates every other holder. No
// other holder can be Exclusive or Modified while we share it, so no data moves.
Cycles MemorySystem::Impl::upgrade(unsigned cpu, uint64_t line) {
  DirEntry& d = dir[llc_slot(line)];
  Cycles cost = 0;
  if (d.sharers.size() > 1) {
    invalidations.inc();
    cost = lat.invalidate;
    d.sharers.for_each([&](unsigned other) {
      if (other != cpu) drop_private(other, line);
    });
    d.sharers.clear();
    d.sharers.add(cpu);
  }
  d.owned = true;
  // The caller's L2 slot is still valid: drop_private only touched other CPUs' caches.
  PrivateCaches& p = *privs[cpu];
  p.l2_state[p.l2.find(line)] = kModified;
  return cost;
}

// A private (L2) miss reaches the LLC and its directory. Returns the latency of the access as
// seen by the requester and the state its private caches get.
Cycles MemorySystem::Impl::llc_lookup(unsigned cpu, uint64_t line, bool write, Cycles when,
                                      uint8_t& state) {
  uint32_t s = llc.find(line);
  Cycles cost;
  if (s != TagArray::kNone) {
    llc_hit.inc();
    llc.touch(s);
    cost = lat.llc_hit;
  } else {
    llc_miss.inc();
    cost = lat.llc_hit + dram_read(line, when);
    s = llc_fill(line, when);
  }
  DirEntry& d = dir[s];

  // Does another CPU own the line, and is its copy modified?
  bool owner_modified = false;
  unsigned owner = 0;
  uint32_t owner_slot = TagArray::kNone;
  if (d.owned) {
    owner = d.sharers.first();
    PrivateCaches& op = *privs[owner];
    owner_slot = op.l2.find(line);
    if (owner_slot == TagArray::kNone)
      throw ModelError("memory system: directory owner lost its copy");
    owner_modified = op.l2_state[owner_slot] == kModified;
  }
  if (owner_modified) {
    // The owner's cache supplies the data instead of the LLC.
    c2c.inc();
    cost = lat.c2c_transfer;
  }

  if (!write) {
    if (d.owned) {
      // Owner downgrades to Shared; a modified copy is written back into the LLC on the way.
      privs[owner]->l2_state[owner_slot] = kShared;
      if (owner_modified) d.dirty = true;
      d.owned = false;
    }
    if (d.sharers.empty()) {
      state = kExclusive;
      d.owned = true;
    } else {
      state = kShared;
    }
    d.sharers.add(cpu);
    return cost;
  }

  if (!d.sharers.empty()) {
    invalidations.inc();
    cost += lat.invalidate;
    d.sharers.for_each([&](unsigned other) { drop_private(other, line); });
    d.sharers.clear();
  }
  d.sharers.add(cpu);
  d.owned = true;
  state = kModified;
  return cost;
}

// Allocates `line` in the LLC, evicting the set's LRU line first. Inclusion: every private copy
// of the victim is invalidated; if any was modified, or the LLC copy is dirty, the victim goes
// back to DRAM.
uint32_t MemorySystem::Impl::llc_fill(uint64_t line, Cycles when) {
  const uint32_t v = llc.victim(line);
  if (llc.valid(v)) {
    const uint64_t old = llc.tag(v);
    DirEntry& d = dir[v];
    bool dirty = d.dirty;
    d.sharers.for_each([&](unsigned holder) {
      back_invalidations.inc();
      if (drop_private(holder, old) == kModified) dirty = true;
    });
    if (dirty) dram_writeback(old, when);
    if (!versions.empty()) versions.evicted(old, dirty);
    d.reset();
  }
  llc.fill(v, line);
  return v;
}

// Puts `line` in the CPU's L2. The L2 victim leaves L1 too (inclusion) and the directory learns
// that this CPU no longer holds it; a modified victim is written back into the LLC.
uint32_t MemorySystem::Impl::l2_fill(unsigned cpu, PrivateCaches& p, uint64_t line,
                                     uint8_t state) {
  const uint32_t v = p.l2.victim(line);
  if (p.l2.valid(v)) {
    const uint64_t old = p.l2.tag(v);
    const uint32_t s1 = p.l1.find(old);
    if (s1 != TagArray::kNone) p.l1.invalidate(s1);
    DirEntry& d = dir[llc_slot(old)];
    d.sharers.remove(cpu);
    d.owned = false;  // if we were the owner we were the only sharer
    if (p.l2_state[v] == kModified) d.dirty = true;
  }
  p.l2.fill(v, line);
  p.l2_state[v] = state;
  return v;
}

// Puts `line` in L1. The L1 victim needs no bookkeeping: it stays in L2, which holds its state.
void MemorySystem::Impl::l1_fill(PrivateCaches& p, uint64_t line, uint32_t l2slot) {
  const uint32_t v = p.l1.victim(line);
  p.l1.fill(v, line);
  p.l1_l2slot[v] = l2slot;
}

// Removes the line from cpu's L1 and L2 (the directory entry is the caller's business).
// Returns the state it had.
uint8_t MemorySystem::Impl::drop_private(unsigned cpu, uint64_t line) {
  PrivateCaches* p = privs[cpu].get();
  const uint32_t s2 = p ? p->l2.find(line) : TagArray::kNone;
  if (s2 == TagArray::kNone)
    throw ModelError("memory system: directory names cpu " + std::to_string(cpu) +
                     " as a holder of a line it does not hold");
  const uint32_t s1 = p->l1.find(line);
  if (s1 != TagArray::kNone) p->l1.invalidate(s1);
  const uint8_t st = p->l2_state[s2];
  p->l2.invalidate(s2);
  p->l2_state[s2] = kShared;
  return st;
}

// Demand read from DRAM: the line's channel (lines interleaved across channels) serves one
// access per dram_occupancy cycles, so a request arriving while it is busy waits its turn.
Cycles MemorySystem::Impl::dram_read(uint64_t line, Cycles when) {
  Cycles& busy = channel_busy[line % channel_busy.size()];
  const Cycles start = std::max(when, busy);
  const Cycles wait = start - when;
  busy = start + lat.dram_occupancy;
  queue_wait.sample(wait);
  dram_accesses.inc();
  return wait + lat.dram;
}

// A writeback occupies its channel like a read, delaying later reads, but nobody waits for it
// (write buffers).
void MemorySystem::Impl::dram_writeback(uint64_t line, Cycles when) {
  Cycles& busy = channel_busy[line % channel_busy.size()];
  busy = std::max(when, busy) + lat.dram_occupancy;
  writebacks.inc();
}

// ---------------------------------------------------------------------------------------------
// Versioned data and cache maintenance to the Point of Coherency (DRAM).

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
      // By VA over a range: one maintenance instruction per line, each looking at every level.
      const uint64_t last = (addr + (len ? len : 1) - 1) >> kLineShift;
      Cycles total = 0;
      for (uint64_t l = line; l <= last; ++l) total += cmo_line(l, op, when + total);
      return total;
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
    nc_writes.inc();
    DataVersions::Line& v = versions.get(line);
    v.dram = v.latest = versions.next();
    if (llc.find(line) == TagArray::kNone) v.cached = v.dram;  // a later fill brings this one
    result = v.dram;
    latest = v.latest;
    dram_writeback(line, when);
    return lat.llc_hit;  // posted once past the interconnect
  }
  nc_reads.inc();
  if (const DataVersions::Line* v = versions.find(line)) {
    result = v->dram;
    latest = v->latest;
  }
  return lat.llc_hit + dram_read(line, when);
}

// One DC CVAC / IVAC / CIVAC on one line: every level is looked up (private L1 and L2 of the
// owner, the LLC); a dirty copy is written to DRAM and the instruction completes when it got
// there. Invalidation removes every copy (all CPUs: the operation is broadcast to the inner
// shareable domain).
Cycles MemorySystem::Impl::cmo_line(uint64_t line, MemOp op, Cycles when) {
  cmo_lines.inc();
  Cycles cost = lat.cmo_line_level * 3;
  const uint32_t s = llc.find(line);
  if (s == TagArray::kNone) return cost;  // only DRAM holds it: nothing to clean or drop
  DirEntry& d = dir[s];
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
    cmo_writebacks.inc();
    // The instruction completes when the data reached the PoC: the channel queue, then DRAM.
    Cycles& busy = channel_busy[line % channel_busy.size()];
    const Cycles at = when + cost, start = std::max(at, busy);
    busy = start + lat.dram_occupancy;
    cost += (start - at) + lat.dram;
    writebacks.inc();
    if (DataVersions::Line* v = versions.find(line)) v->dram = v->cached;
  }
  if (op == MemOp::CmoClean) {
    d.dirty = false;
    return cost;
  }
  d.sharers.for_each([&](unsigned holder) { drop_private(holder, line); });
  d.reset();
  llc.invalidate(s);
  // Discarded dirty data (IVAC) is lost: the line is DRAM's version again.
  if (DataVersions::Line* v = versions.find(line)) v->cached = v->dram;
  return cost;
}

bool MemorySystem::Impl::in_private(int cpu, Addr addr) const {
  if (cpu < 0 || unsigned(cpu) >= ncpus || !privs[unsigned(cpu)]) return false;
  return privs[unsigned(cpu)]->l2.find(addr >> kLineShift) != TagArray::kNone;
}

// ---------------------------------------------------------------------------------------------

MemorySystem::MemorySystem(sc_core::sc_module_name name, const SimConfig& cfg, PhysMem& mem,
                           Stats& stats)
    : sc_core::sc_module(name), target("target"), impl_(new Impl(cfg, stats)), mem_(mem) {
  target.register_b_transport(this, &MemorySystem::b_transport);
}

MemorySystem::~MemorySystem() { delete impl_; }

Cycles MemorySystem::access(int cpu, Addr addr, MemOp op, MemClass cls, Cycles when) {
  return impl_->access(cpu, addr, op, cls, when);
}

bool MemorySystem::in_private(int cpu, Addr addr) const { return impl_->in_private(cpu, addr); }
bool MemorySystem::in_llc(Addr addr) const { return impl_->in_llc(addr); }

uint64_t MemorySystem::perform(Addr addr, MemOp op, uint64_t value, uint64_t expected) {
  if (addr & 7)
    throw ModelError("memory system: misaligned 8-byte access at " + hex(addr));
  // A read must not back a page just to find a zero there.
  if (op == MemOp::Read) return mem_.read64(addr);
  uint64_t* w = mem_.word(addr);
  const uint64_t old = *w;
  switch (op) {
    case MemOp::Read: break;  // handled above
    case MemOp::Write: *w = value; break;
    case MemOp::Cmpxchg: if (old == expected) *w = value; break;
    case MemOp::Xchg: *w = value; break;
    case MemOp::FetchAdd: *w = old + value; break;  // unsigned: wraps modulo 2^64
    default:
      throw ModelError("memory system: versioned data and CMOs have no word contents");
  }
  return old;
}

void MemorySystem::b_transport(int /*id*/, tlm::tlm_generic_payload& trans,
                               sc_core::sc_time& delay) {
  MemExt* ext = trans.get_extension<MemExt>();
  if (!ext) {
    SC_REPORT_ERROR(name(), "b_transport without MemExt: every access must say cpu, op and class");
    trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  const Addr addr = trans.get_address();
  const Cycles when = Clock::to_cycles(sc_core::sc_time_stamp() + delay);
  if (is_extended_op(ext->op)) {
    delay += Clock::cycles(
        impl_->extended(ext->cpu, addr, ext->op, ext->value, when, ext->result, ext->latest));
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  const Cycles latency = impl_->access(ext->cpu, addr, ext->op, ext->cls, when);
  delay += Clock::cycles(latency);
  if (ext->cls != MemClass::Data) {
    ext->result = perform(addr, ext->op, ext->value, ext->expected);
    if (trans.get_data_ptr() && trans.get_data_length() >= sizeof(uint64_t))
      std::memcpy(trans.get_data_ptr(), &ext->result, sizeof(uint64_t));
  } else {
    ext->result = 0;  // guest data has no contents in the model
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace mmusim
