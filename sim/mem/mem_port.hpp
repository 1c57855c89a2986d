// Initiator side of the memory system for one requester (a vCPU's core, a page walker, a host
// thread): typed helpers that build the TLM generic payload + MemExt and call b_transport; once
// the target has offered its direct entry (MemDirect, sim/mem/mem_request.hpp) they call that.
// Every call adds the access latency to `delay` (loosely-timed; the caller decides when to
// synchronise with the kernel).
#pragma once
#include <cstdint>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "sim/core/clock.hpp"
#include "sim/core/types.hpp"
#include "sim/mem/mem_request.hpp"

namespace mmusim {

class MemPort : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<MemPort> socket;

  // `clock`: the simulation's (sim/sync/sim_kernel.hpp), which outlives the port.
  MemPort(sc_core::sc_module_name name, int cpu, const Clock& clock);
  ~MemPort() override;
  void set_cpu(int cpu) { ext_->cpu = cpu; }
  int cpu() const { return ext_->cpu; }
  const Clock& clock() const { return clock_; }

  // Inline so a caller's access reaches the memory system's direct entry in one call.
  uint64_t read64(Addr addr, MemClass cls, sc_core::sc_time& delay) {
    return issue(addr, MemOp::Read, cls, 0, 0, delay);
  }
  void write64(Addr addr, uint64_t value, MemClass cls, sc_core::sc_time& delay) {
    issue(addr, MemOp::Write, cls, value, 0, delay);
  }
  uint64_t cmpxchg64(Addr addr, uint64_t expected, uint64_t desired, MemClass cls,
                     sc_core::sc_time& delay) {  // returns the old value
    return issue(addr, MemOp::Cmpxchg, cls, desired, expected, delay);
  }
  uint64_t xchg64(Addr addr, uint64_t value, MemClass cls, sc_core::sc_time& delay) {
    return issue(addr, MemOp::Xchg, cls, value, 0, delay);
  }
  uint64_t fetch_add64(Addr addr, uint64_t addend, MemClass cls, sc_core::sc_time& delay) {
    return issue(addr, MemOp::FetchAdd, cls, addend, 0, delay);
  }
  uint64_t fetch_and64(Addr addr, uint64_t mask, MemClass cls, sc_core::sc_time& delay) {
    return issue(addr, MemOp::FetchAnd, cls, mask, 0, delay);
  }
  uint64_t fetch_or64(Addr addr, uint64_t mask, MemClass cls, sc_core::sc_time& delay) {
    return issue(addr, MemOp::FetchOr, cls, mask, 0, delay);
  }
  // Timing-only access to guest data (no contents).
  void touch(Addr addr, bool write, sc_core::sc_time& delay) {
    issue(addr, write ? MemOp::Write : MemOp::Read, MemClass::Data, 0, 0, delay);
  }

  // Versioned guest data (sim/mem/data_versions.hpp): a write makes a new version of the line
  // and returns it; a read returns the version it saw and the newest anybody wrote.
  // `cacheable` false: the access bypasses the caches (MMU off, or a non-cacheable alias).
  struct DataVersion {
    uint64_t seen = 0, latest = 0;
  };
  uint64_t write_data(Addr addr, bool cacheable, sc_core::sc_time& delay);
  DataVersion read_data(Addr addr, bool cacheable, sc_core::sc_time& delay);
  // Cache maintenance by VA to the Point of Coherency over the start of [addr, addr + len),
  // one line at a time (op is CmoClean, CmoInval or CmoCleanInval): one window of lines
  // (sim/mem/memory_system.hpp, "cache maintenance"); returns the bytes it covered.
  uint64_t cmo(Addr addr, uint64_t len, MemOp op, sc_core::sc_time& delay);
  // Zeroes the start of [addr, addr + len) with whole-line stores that read nothing first (the
  // host kernel clearing a page, sim/mem/memory_system.hpp "Zeroing stores"): one fill
  // buffer's worth of lines; returns the bytes zeroed, whose contents now read zero.
  uint64_t zero_lines(Addr addr, uint64_t len, sc_core::sc_time& delay) {
    return issue(addr, MemOp::ZeroLines, MemClass::Data, len, 0, delay);
  }

 private:
  uint64_t issue(Addr addr, MemOp op, MemClass cls, uint64_t value, uint64_t expected,
                 sc_core::sc_time& delay) {
    ext_->op = op;
    ext_->cls = cls;
    ext_->value = value;
    ext_->expected = expected;
    // After the first access the memory system has offered its direct entry (MemDirect): same
    // result and latency as b_transport, without the payload and the socket indirection.
    if (MemDirect* d = ext_->direct) {
      const MemReply r = d->transact(*ext_, addr, delay);
      delay += clock_.cycles(r.cycles);
      return r.value;
    }
    return issue_tlm(addr, delay);
  }
  // The TLM-2.0 path: the first access of the port, and every access if the target bound to
  // the socket offers no direct entry.
  uint64_t issue_tlm(Addr addr, sc_core::sc_time& delay);
  const Clock& clock_;
  tlm::tlm_generic_payload trans_;
  MemExt* ext_;  // owned by trans_
  uint64_t data_ = 0;
};

}  // namespace mmusim
