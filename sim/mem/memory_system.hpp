// The memory hierarchy every simulated agent shares: per physical CPU private L1 and L2, a shared
// inclusive LLC with a directory of which private caches hold each line, and DRAM channels with
// occupancy (so queueing emerges when agents miss together). Reached through a TLM-2.0
// multi-passthrough target socket with loosely-timed b_transport: the latency of each access is
// added to the caller's delay; the access happens at (kernel time + incoming delay).
//
// Coherence costs: a read of a line another CPU holds modified pays a cache-to-cache transfer;
// a write or atomic to a line other CPUs share pays an invalidation round and removes their
// copies; atomics pay an extra locked-RMW cost.
#pragma once
#include <cstdint>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/types.hpp"
#include "sim/mem/mem_request.hpp"
#include "sim/mem/phys_mem.hpp"

namespace mmusim {

class MemorySystem : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<MemorySystem> target;

  MemorySystem(sc_core::sc_module_name name, const SimConfig& cfg, PhysMem& mem, Stats& stats);
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

 private:
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  struct Impl;
  Impl* impl_;
  PhysMem& mem_;
};

}  // namespace mmusim
