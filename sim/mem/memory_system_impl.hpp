// Internals of MemorySystem shared by its source files (memory_system.cpp: the coherent access
// paths and the TLM / direct entries; memory_system_poc.cpp: versioned data and cache
// maintenance to the Point of Coherency). Not for use outside sim/mem.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/stats_group.hpp"
#include "sim/mem/cache_array.hpp"
#include "sim/mem/data_versions.hpp"
#include "sim/mem/directory.hpp"
#include "sim/mem/huge_page_allocator.hpp"
#include "sim/mem/memory_system.hpp"

namespace mmusim {

namespace mem_detail {

// Coherence state of a line in one CPU's private hierarchy (MESI without an explicit Invalid:
// absence from the L2 tag array is Invalid). Kept per L2 slot; an L1 slot points at its L2 slot.
enum PrivState : uint8_t { kShared = 0, kExclusive = 1, kModified = 2 };

inline bool is_atomic(MemOp op) {
  return op == MemOp::Cmpxchg || op == MemOp::Xchg || op == MemOp::FetchAdd ||
         op == MemOp::FetchAnd || op == MemOp::FetchOr;
}

// One physical CPU's private caches. Built on the CPU's first access so a config with thousands
// of CPUs only pays for the ones that run something.
struct PrivateCaches {
  explicit PrivateCaches(const MemorySystemParams& p)
      : l1(p.l1_size, p.l1_ways, "--l1-size/--l1-ways"),
        l2(p.l2_size, p.l2_ways, "--l2-size/--l2-ways"),
        l2_state(l2.slots(), kShared) {}
  // Links (LinkedTagArray::link): an L1 slot names the L2 slot of the same line (inclusion); an L2
  // slot names the LLC slot of its line. A privately held line keeps its LLC slot (the LLC is
  // inclusive: evicting it there evicts every private copy first), so the directory entry of an
  // L2 line is one index away, not a scan of an LLC set that misses the host's caches.
  LinkedTagArray l1;
  LinkedTagArray l2;
  std::vector<uint8_t> l2_state;  // PrivState per L2 slot
};

}  // namespace mem_detail

struct MemorySystem::Impl {
  using PrivateCaches = mem_detail::PrivateCaches;

  Impl(const MemorySystemParams& p, Stats& stats);

  Cycles access(int cpu, Addr addr, MemOp op, MemClass cls, Cycles when);
  // The fast path of the direct entry (MemorySystem::transact): an L1 hit that needs neither the
  // directory nor a recency renormalisation. Applies it exactly as access() would and returns
  // its latency; otherwise changes nothing and returns kL1Miss (the CPU's L1 lacks the line) or
  // kSlow (anything else), after which the caller runs the full access.
  static constexpr Cycles kL1Miss = ~Cycles(0), kSlow = ~Cycles(0) - 1;
  // Lines of cache maintenance by VA one call performs (16 KiB): short enough that concurrent
  // maintenance interleaves at the home nodes, long enough that a 1 GiB clean is 65,536 calls.
  static constexpr uint64_t kCmoWindowLines = 256;
  Cycles l1_hit_access(int cpu, Addr addr, MemOp op, MemClass cls);
  // access() for a CPU whose L1 was just found not to hold the line (by l1_hit_access).
  Cycles access_l1_missed(int cpu, Addr addr, MemOp op, MemClass cls, Cycles when);
  bool in_private(int cpu, Addr addr) const;
  bool in_llc(Addr addr) const { return llc.find(addr >> kLineShift) != TagArray::kNone; }
  // Versioned data and cache maintenance to the PoC (MemOp::DataRead and later).
  Cycles extended(int cpu, Addr addr, MemOp op, uint64_t len, Cycles when, uint64_t& result,
                  uint64_t& latest);
  DataVersions versions;

 private:
  Cycles cmo_line(uint64_t line, MemOp op, Cycles when, Cycles& reached);
  Cycles cmo_window(uint64_t first_line, uint64_t lines, MemOp op, Cycles when);
  Cycles zero_range(unsigned cpu, uint64_t first_line, uint64_t lines, Cycles when);
  // One line of zero_range: the line becomes Modified in the CPU's caches without being read.
  // Returns its latency; `victim_wait` gets the cycles an LLC victim it evicted waited for its
  // DRAM channel.
  Cycles zero_line(unsigned cpu, PrivateCaches& p, uint64_t line, Cycles when,
                   Cycles& victim_wait);
  Cycles nc_access(uint64_t line, bool write, Cycles when, uint64_t& result, uint64_t& latest);
  PrivateCaches& priv(unsigned cpu) {
    PrivateCaches* p = privs[cpu].get();
    if (!p) {
      privs[cpu] = std::make_unique<PrivateCaches>(p_);
      p = privs[cpu].get();
    }
    return *p;
  }
  void check_cpu(int cpu) const {
    if (unsigned(cpu) >= ncpus)
      throw ModelError("memory access by cpu " + std::to_string(cpu) + " of " +
                       std::to_string(ncpus));
  }
  // `hold`: cycles the requester keeps the line locked after it arrives (an atomic's
  // read-modify-write), during which the next transaction on the line cannot start.
  Cycles private_miss(unsigned cpu, PrivateCaches& p, uint64_t line, bool write, Cycles hold,
                      Cycles when);
  Cycles upgrade(unsigned cpu, PrivateCaches& p, uint32_t l2slot, Cycles hold, Cycles when);
  // One round of invalidations from the directory (upgrades, writes, zeroing stores): every
  // holder of `line` but `keep` drops its copy, and `keep` (if any) is left the one sharer.
  // Returns the round's cost.
  static constexpr unsigned kNobody = ~0u;
  Cycles invalidate_others(DirEntry& d, uint64_t line, unsigned keep = kNobody);
  // Returns the latency; `state` gets the private state granted, `slot` the line's LLC slot.
  Cycles llc_lookup(unsigned cpu, uint64_t line, bool write, Cycles hold, Cycles when,
                    uint8_t& state, uint32_t& slot);
  // Cycles a request arriving at `when` waits for the transaction holding the line.
  Cycles line_wait(const DirEntry& d, Cycles when) {
    if (d.busy_until <= when) return 0;
    const Cycles w = d.busy_until - when;
    stats.line_wait.sample(w);
    return w;
  }
  // `victim_wait` (if given) gets the cycles a dirty victim waited for its DRAM channel.
  uint32_t llc_fill(uint64_t line, Cycles when, Cycles* victim_wait = nullptr);
  // Inline (memory_system.cpp only): parts of private_miss() kept apart for reading.
  inline uint32_t l2_fill(unsigned cpu, PrivateCaches& p, uint64_t line, uint8_t state,
                          uint32_t llc_slot);
  // The directory entry of a line this CPU holds in its L2 slot `l2slot`.
  DirEntry& dir_of_private(const PrivateCaches& p, uint32_t l2slot) {
    const uint32_t s = p.l2.link(l2slot);
#ifdef MMUSIM_CHECK_CACHES
    if (llc.tag(s) != p.l2.tag(l2slot))
      throw ModelError("memory system: L2 line's LLC slot link is stale");
#endif
    return dir[s];
  }
  inline void l1_fill(PrivateCaches& p, uint64_t line, uint32_t l2slot);
  uint8_t drop_private(unsigned cpu, uint64_t line);
  Cycles dram_read(uint64_t line, Cycles when);
  // Returns the cycles the line waited for its channel (those who wait for it add them).
  Cycles dram_writeback(uint64_t line, Cycles when);

  const MemorySystemParams p_;
  const unsigned ncpus;
  unsigned socket_of(unsigned cpu) const { return unsigned(uint64_t(cpu) * p_.sockets / ncpus); }
  std::vector<std::unique_ptr<PrivateCaches>> privs;
  TagArray llc;
  std::vector<DirEntry, HugePageAllocator<DirEntry>> dir;  // parallel to llc slots
  std::vector<Cycles> channel_busy;  // per DRAM channel: cycle until which it is busy
  std::vector<Cycles> zero_buffers_;  // scratch of zero_range: fill buffers' free times
  std::vector<Cycles> home_busy;      // per home node: cycle until which it is busy
  std::vector<uint32_t> home_count_;  // scratch of cmo_window: requests per home node

  struct MemStats : StatsGroup {
    explicit MemStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter l1_hit{*this, "mem.l1.hit", "L1 data cache hits"};
    statistics::Counter l1_miss{*this, "mem.l1.miss", "L1 data cache misses"};
    statistics::Counter l2_hit{*this, "mem.l2.hit", "L2 cache hits"};
    statistics::Counter l2_miss{*this, "mem.l2.miss", "L2 cache misses"};
    statistics::Counter llc_hit{*this, "mem.llc.hit", "last-level cache hits"};
    statistics::Counter llc_miss{*this, "mem.llc.miss", "last-level cache misses"};
    statistics::Counter dram_accesses{*this, "mem.dram.accesses", "DRAM accesses"};
    statistics::Counter invalidations{*this, "mem.coherence.invalidations",
                                      "cache lines invalidated in other cores' caches by a write"};
    statistics::Counter c2c{*this, "mem.coherence.c2c",
                            "cache-to-cache transfers of a line owned by another core"};
    statistics::Counter c2c_remote{*this, "mem.coherence.c2c_remote",
                                   "of those, transfers from a core on another socket"};
    statistics::Counter writebacks{*this, "mem.writebacks", "dirty lines written back"};
    statistics::Counter back_invalidations{*this, "mem.llc.back_invalidations",
        "private-cache lines invalidated by an inclusive LLC eviction"};
    statistics::Counter class_data{*this, "mem.class.data", "memory requests for guest data"};
    statistics::Counter class_page_table{*this, "mem.class.page_table",
        "memory requests for page-table entries (walks and updates)"};
    statistics::Counter class_sync{*this, "mem.class.sync",
                                   "memory requests for lock and counter words"};
    statistics::Histogram line_wait{*this, "mem.coherence.line_wait",
        "cycles a request waited at the directory for an earlier transaction on the same line "
        "(a fill, a transfer from another cache, an invalidation, an atomic's hold); only "
        "requests that waited"};
    statistics::Histogram queue_wait{*this, "mem.dram.queue_wait",
                                     "cycles a DRAM access waited in the channel queue"};
    statistics::Counter nc_reads{*this, "mem.nc.reads", "non-cacheable reads"};
    statistics::Counter nc_writes{*this, "mem.nc.writes", "non-cacheable writes"};
    statistics::Counter cmo_lines{*this, "mem.cmo.lines",
                                  "cache lines touched by cache maintenance operations"};
    statistics::Counter cmo_writebacks{*this, "mem.cmo.writebacks",
                                       "dirty lines written back by cache maintenance operations"};
    statistics::Histogram cmo_home_wait{*this, "mem.cmo.home_wait",
        "cycles a window of cache maintenance requests by VA was held up by home nodes busy "
        "with other cores' requests; only windows that waited"};
    statistics::Counter zero_lines{*this, "mem.zero.lines",
                                   "lines zeroed by whole-line stores (host page clearing)"};
    statistics::Counter zero_dropped{*this, "mem.zero.dropped",
        "other cores' cached copies dropped because a zeroing store overwrote their line"};
    statistics::Counter zero_llc_fills{*this, "mem.zero.llc_fills",
        "zeroed lines allocated in the LLC without a DRAM read"};
    statistics::Histogram zero_queue_wait{*this, "mem.zero.queue_wait",
        "cycles the lines of one fill-buffer batch of zeroing stores waited, together, for DRAM "
        "channels to take the dirty lines their LLC fills evicted"};
    // By MemClass.
    statistics::Counter* class_count[3] = {&class_data, &class_page_table, &class_sync};
  } stats;
};

// The same steps as access() for the cases it takes without calling anything, so that inlined
// into transact() the L1-hit path makes no calls at all.
inline Cycles MemorySystem::Impl::l1_hit_access(int cpu, Addr addr, MemOp op, MemClass cls) {
  if (unsigned(cpu) >= ncpus) return kSlow;
  PrivateCaches* p = privs[unsigned(cpu)].get();
  if (!p) return kSlow;
  const uint32_t s1 = p->l1.find(addr >> kLineShift);
  if (s1 == TagArray::kNone) return kL1Miss;
  if (p->l1.touch_renormalizes() || p->l2.touch_renormalizes()) return kSlow;
  const uint32_t s2 = p->l1.link(s1);
  uint8_t& st = p->l2_state[s2];
  // A write to a Shared line is an upgrade: the directory's business.
  if (op != MemOp::Read && st == mem_detail::kShared) return kSlow;
  stats.class_count[unsigned(cls)]->inc();
  stats.l1_hit.inc();
  p->l1.touch_unchecked(s1);
  p->l2.touch_unchecked(s2);
  if (op == MemOp::Read) return p_.l1_hit;
  st = mem_detail::kModified;  // Exclusive or Modified before
  return p_.l1_hit + (mem_detail::is_atomic(op) ? p_.atomic : 0);
}

}  // namespace mmusim
