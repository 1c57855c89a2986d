// What travels with a TLM-2.0 generic payload to the memory system: who asks (which physical
// CPU's private caches serve it), what operation (plain or atomic), and for what purpose.
#pragma once
#include <cstdint>
#include <systemc>
#include <tlm>

#include "sim/core/types.hpp"

namespace mmusim {

enum class MemOp : uint8_t {
  Read, Write, Cmpxchg, Xchg, FetchAdd, FetchAnd, FetchOr,
  // Versioned guest data (sim/mem/data_versions.hpp) and cache maintenance to the Point of
  // Coherency. Everything from DataRead on bypasses the plain access path (kept fast).
  DataRead,       // cacheable read: result = coherent version, latest = newest written
  DataWrite,      // cacheable write of a new version: result = that version
  DataReadNc,     // non-cacheable read: result = DRAM's version, latest = newest written
  DataWriteNc,    // non-cacheable write of a new version straight to DRAM (caches untouched)
  CmoClean,       // DC CVAC over [addr, addr + value): dirty lines written back, kept cached
  CmoInval,       // DC IVAC: lines dropped from every cache, dirty data discarded
  CmoCleanInval,  // DC CIVAC: written back if dirty, then dropped
  ZeroLines,      // whole-line zero stores over [addr, addr + value), no line read first
};
inline bool is_extended_op(MemOp op) { return op >= MemOp::DataRead; }
// Purpose of the access, for statistics and for whether contents are real:
// Data has timing only (guest data pages are not backed); the others read/write PhysMem.
enum class MemClass : uint8_t { Data, PageTable, Sync };

struct MemExt;

// What a direct access returns: the value (as MemExt::result) and the latency in cycles, in two
// registers rather than through memory.
struct MemReply {
  uint64_t value;
  Cycles cycles;
};

// Direct-call entry of the memory system, for the rule "use temporal decoupling or a fast path
// wherever it keeps results identical": a TLM b_transport through the sockets costs a payload
// set-up, two virtual thunks and an extension-table lookup per access, several times the work of
// an L1 hit. The target answers the first b_transport of a payload with a pointer to this
// interface in MemExt::direct, and the initiator (MemPort) calls it for later accesses instead.
// transact() must do exactly what b_transport does for the same request: same state change,
// same result fields and latency (tests/mem_direct_test.cpp checks both against the engine).
class MemDirect {
 public:
  // Performs the access `req` describes on the line of `addr` at kernel time + `delay` and
  // returns its result (what b_transport leaves in req.result; req.latest is filled as there)
  // and latency. Unlike b_transport it does not add the latency to `delay`: the caller does.
  virtual MemReply transact(MemExt& req, Addr addr, const sc_core::sc_time& delay) = 0;

 protected:
  ~MemDirect() = default;
};

struct MemExt : tlm::tlm_extension<MemExt> {
  int cpu = 0;            // physical CPU whose private caches serve the access
  MemOp op = MemOp::Read;
  MemClass cls = MemClass::Data;
  uint64_t value = 0;     // Write/Xchg value, FetchAdd addend, FetchAnd/Or mask, Cmpxchg desired
  uint64_t expected = 0;  // Cmpxchg expected value
  uint64_t result = 0;    // value read; for atomics the old value
  uint64_t latest = 0;    // DataRead/DataReadNc: newest version anybody wrote to the line
  // Set by the memory system on the way back from b_transport (see MemDirect). A component
  // that forwards payloads and must see every access (a tracer, say) clears it on the way back.
  MemDirect* direct = nullptr;

  tlm::tlm_extension_base* clone() const override { return new MemExt(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const MemExt&>(other);
  }
};

}  // namespace mmusim
