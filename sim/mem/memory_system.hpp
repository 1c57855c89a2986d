// The memory hierarchy every simulated agent shares: per physical CPU private L1 and L2, a shared
// inclusive LLC with a directory of which private caches hold each line, and DRAM channels with
// occupancy (so queueing emerges when agents miss together). Reached through a TLM-2.0
// multi-passthrough target socket with loosely-timed b_transport: the latency of each access is
// added to the caller's delay; the access happens at (kernel time + incoming delay). The first
// b_transport of a payload also hands the initiator the direct entry (MemDirect, transact()),
// which MemPort then calls instead of the socket: same results, a fraction of the host work.
//
// Coherence costs: a read of a line another CPU holds modified pays a cache-to-cache transfer;
// a write or atomic to a line other CPUs share pays an invalidation round and removes their
// copies; atomics pay an extra locked-RMW cost.
//
// Latency of one access (cycles, MemorySystemParams). Each level's figure is the whole load-to-use
// latency when the line is found there, not an increment over the level above:
//   L1 hit            l1_hit
//   L2 hit            l2_hit
//   LLC hit           llc_hit
//   LLC miss (DRAM)   llc_hit + queue wait + dram
//                     The line's channel is (line address / 64) % dram_channels. The request
//                     reaches it at the access cycle `when`; a channel busy until b starts it at
//                     max(when, b) and is then busy for dram_occupancy cycles. The wait is
//                     sampled in "mem.dram.queue_wait". Dirty LLC victims written back to DRAM
//                     occupy their channel the same way but add nothing to the requester.
//   c2c               a private miss on a line another CPU holds Modified costs c2c_transfer
//                     in place of llc_hit (the owner supplies the data), or c2c_remote when
//                     the owner sits on another socket. The pCPUs are split across `sockets`
//                     in order (pCPU p on socket p x sockets / pcpus); the LLC, its directory
//                     and DRAM stay one uniform pool that every socket reaches at the local
//                     latencies (docs/CALIBRATION.md, D2).
// plus, for writes and atomics:
//   + invalidate      once per invalidation round, when any other CPU holds the line (on a
//                     private miss, or on a write hitting a Shared line in L1/L2). A write to a
//                     line held only by the writer (Exclusive/Modified, or Shared with no other
//                     holder left) costs just the hit latency.
//   + atomic          every Cmpxchg/Xchg/FetchAdd, on top of everything else.
//   + line wait       the directory handles one transaction per line at a time, as a home
//                     agent serialises requests to one address. A request that reaches it
//                     (a private miss, or an upgrade from Shared) while an earlier transaction
//                     holds the line waits until that one completes ("mem.coherence.line_wait").
//                     A transaction holds the line from its start to its completion when it
//                     fills from DRAM, takes or downgrades another core's copy (c2c, snoop of
//                     an Exclusive owner) or invalidates sharers; an atomic that got the line
//                     that way, or with a write miss, keeps holding it for its `atomic` cycles.
//                     Reads the LLC serves alone hold nothing. So N cores hammering one lock
//                     or counter word take N transfers one after the other; a hit on a line
//                     already in the core's own L1/L2 never reaches the directory and never
//                     waits. Requests arrive in simulated-time order except guest data
//                     accesses, which do not sync (see the quantum note below).
// Zeroing stores (MemOp::ZeroLines, how the host kernel clears a page): clear_page is
// `rep stosb`, `rep stosq` or a loop of plain stores on x86 (arch/x86/lib/clear_page_64.S),
// DC ZVA on arm64 -- ordinary write-back stores, not non-temporal ones. Fast-string stores
// take each destination line by an invalidation alone, since every byte of it is written (Intel
// SDM Vol. 3A, "Out-of-Order Stores For String Operations"), so no line is read first: a line
// the core owns is written in place (l1_hit, or l2_hit when only its L2 has it); any other
// line is taken from the directory (llc_hit, plus invalidate when other cores hold copies,
// which are dropped even if modified: nothing of them survives) and allocated Modified in the
// core's L2 and L1, and in the LLC if absent there, without a DRAM read. The page is then hot
// in the zeroing core's caches, as the kernel intends (clear_huge_page clears the faulting
// subpage last for that). DRAM sees the
// zeroes only as dirty victims: each line holds one of the core's fill buffers until its
// ownership arrives and, when its LLC fill evicts a dirty line, until that victim's channel
// takes it, so zeroing more than the caches hold is bound by the channels, and many cores
// doing so queue there ("mem.zero.queue_wait"). At most fill_buffers lines are in flight; each
// call writes that many and the requester comes back for the next once they are done. With
// the defaults one core zeroes a 4 KiB page it does not cache in 7 batches x 46 = 322 cycles.
// Zeroing is not counted in the mem.l1/l2/llc hit and miss counters (mem.zero.* instead).
// Examples with the defaults: read miss to DRAM, idle channel = 46 + 164 = 210; the same read
// again = 4; write by another CPU to that line = 46 + 117 = 163; the first CPU reading it back
// = 128 (c2c); FetchAdd hitting a Modified line in L1 = 4 + 14 = 18.
//
// States: private lines are MESI-like (Shared / Exclusive / Modified, kept per L2 line; L1 is a
// subset of L2). A read miss with no other holder gets Exclusive, which a later write turns into
// Modified without consulting the directory. The directory (beside each LLC line) lists every
// CPU whose L2 holds the line and whether the one holder owns it (E or M). Evicting a line from
// L2 removes it from L1 and from the directory (a Modified line makes the LLC copy dirty);
// evicting from the LLC back-invalidates all private copies ("mem.llc.back_invalidations" counts
// copies) and writes the line back to DRAM if the LLC copy was dirty or a private copy Modified
// ("mem.writebacks" counts these DRAM writebacks only). Recency: an L1 hit also refreshes the
// line in L2, so hot L1 lines are never L2 inclusion victims; the LLC sees private misses only.
//
// Out-of-order arrivals: agents run ahead of the kernel by up to a quantum, so an access with an
// earlier `when` can reach a DRAM channel after a later one and wait behind it. This is the usual
// loosely-timed approximation and bounded by the quantum.
//
// Footprint: private caches are allocated on a CPU's first access, about 300 KiB per CPU with the
// default L1/L2 sizes; the LLC with its directory takes 36 bytes per line (24.75 MiB for 44 MiB).
#pragma once
#include <cstdint>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <vector>

#include "sim/core/clock.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/types.hpp"
#include "sim/mem/dvm_channel.hpp"
#include "sim/mem/mem_request.hpp"
#include "sim/mem/phys_mem.hpp"

namespace mmusim {

// What the memory system is built from (app/params_hardware.cpp fills it from the options).
// Sizes in bytes must be non-zero multiples of ways x 64-byte lines.
struct MemorySystemParams {
  unsigned pcpus = 4;               // physical CPUs, each with private L1 and L2
  uint64_t l1_size = 32ull << 10;   // private L1 data cache
  unsigned l1_ways = 8;
  uint64_t l2_size = 1024ull << 10; // private L2
  unsigned l2_ways = 16;
  uint64_t llc_size = 44ull << 20;  // shared inclusive LLC
  unsigned llc_ways = 11;
  unsigned dram_channels = 12;      // lines interleaved across them
  unsigned fill_buffers = 10;       // per core: zeroing stores in flight at once
  Cycles l1_hit = 4;                // private L1 hit
  Cycles l2_hit = 14;               // private L2 hit
  Cycles llc_hit = 46;              // shared LLC hit
  Cycles dram = 164;                // DRAM access, excluding queueing
  Cycles dram_occupancy = 9;        // cycles one access keeps a DRAM channel busy
  Cycles c2c_transfer = 128;        // line held modified in another core's private cache
  Cycles c2c_remote = 296;          // the same, the other core on another socket
  unsigned sockets = 2;             // sockets the pCPUs are split across, in order
  Cycles invalidate = 117;          // invalidation round trip of a write to a shared line
  Cycles atomic = 14;               // extra cost of a locked read-modify-write
  Cycles cmo_line_level = 10;       // one cache maintenance op on one line at one level
  // The interconnect's home nodes, lines interleaved across them: every cache maintenance
  // request by VA is sent to its line's home node, which handles one request per
  // `home_node_occupancy` cycles (docs/ARCHITECTURE.md, "Memory system": cache maintenance).
  unsigned home_nodes = 16;
  Cycles home_node_occupancy = 5;
};

// MemDirect comes first so the direct call needs no this-adjusting thunk.
class MemorySystem : public MemDirect, public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<MemorySystem> target;
  // Broadcast TLB maintenance between the cores (sim/mem/dvm_channel.hpp): one for the host.
  DvmChannel dvm;

  // `clock`: the simulation's (sim/sync/sim_kernel.hpp), which outlives the memory system.
  MemorySystem(sc_core::sc_module_name name, const MemorySystemParams& p, const Clock& clock,
               PhysMem& mem, Stats& stats);
  ~MemorySystem() override;

  // Timing and coherence engine, usable without TLM (unit tests, b_transport body): performs
  // the cache/directory state change of one access by `cpu` to the line of `addr` at absolute
  // cycle `when` and returns its latency in cycles.
  Cycles access(int cpu, Addr addr, MemOp op, MemClass cls, Cycles when);

  // Functional part of an access on PhysMem (for non-Data classes). Returns the value read /
  // old value; applies the write or atomic update.
  uint64_t perform(Addr addr, MemOp op, uint64_t value, uint64_t expected);

  // Whether cpu's private caches (L1 or L2) currently hold the line of addr.
  bool in_private(int cpu, Addr addr) const;
  bool in_llc(Addr addr) const;

  // The body of b_transport, also reached directly by MemPort after the first access (MemDirect).
  MemReply transact(MemExt& req, Addr addr, const sc_core::sc_time& delay) final;

 private:
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  // The rest of transact(), each called only in tail position so that the L1-hit path stays a
  // leaf: every access that is not an L1 hit (l1_missed: the L1 was searched), and perform()
  // for an L1 hit that is not a read of a word in one of PhysMem's windows.
  [[gnu::noinline]] MemReply transact_slow(MemExt& req, Addr addr, const sc_core::sc_time& delay,
                                           bool l1_missed);
  void zero_contents(Addr addr, uint64_t len);
  [[gnu::noinline]] MemReply perform_reply(const MemExt& req, Addr addr, Cycles latency);
  // perform() for everything but a read, out of line: reads are most of the traffic.
  [[gnu::noinline]] uint64_t update(Addr addr, MemOp op, uint64_t value, uint64_t expected);
  [[gnu::noinline, noreturn]] static void misaligned(Addr addr);
  struct Impl;
  Impl* impl_;
  PhysMem& mem_;
  const Clock& clock_;
};

}  // namespace mmusim
