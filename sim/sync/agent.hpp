// A simulated thread of execution (a vCPU's host thread, the host memory manager, a VMM thread):
// the SystemC thread that runs it, its local time ahead of the kernel (temporal decoupling with
// tlm_quantumkeeper), and its port to the memory system.
//
// Rule of the whole model: private work only advances local time; anything another agent can
// observe or affect (a shared write, an atomic, a lock, an IPI, a fault) first synchronises, so
// it happens at this agent's true simulated time. The load/store/atomic helpers below do that.
#pragma once
#include <cstdint>
#include <string>
#include <systemc>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "sim/core/clock.hpp"
#include "sim/core/types.hpp"
#include "sim/mem/mem_port.hpp"

namespace mmusim {

class Agent {
 public:
  Agent(std::string name, int id, MemPort& port, int timeline_track = -1);

  const std::string& name() const { return name_; }
  int id() const { return id_; }
  int track() const { return track_; }
  MemPort& port() { return port_; }

  // --- time ---
  Cycles now() const { return Clock::to_cycles(qk_.get_current_time()); }  // incl. local offset
  // Local offset ahead of the kernel. Callers that use MemPort directly pass a copy as the
  // `delay` argument and store the result back with set_offset().
  sc_core::sc_time offset() const { return qk_.get_local_time(); }
  void set_offset(const sc_core::sc_time& t) { qk_.set(t); }
  void advance(Cycles c) { qk_.inc(Clock::cycles(c)); }
  bool need_sync() const { return qk_.need_sync(); }
  // Waits out the local offset so that the next action happens at this agent's true time.
  void sync() { if (qk_.get_local_time() != sc_core::SC_ZERO_TIME) qk_.sync(); }
  void sync_if_needed() { if (qk_.need_sync()) qk_.sync(); }
  void wait_cycles(Cycles c) { advance(c); sync(); }
  // After the wait the offset is zero; reset() also re-aligns the next quantum boundary to the
  // new kernel time (otherwise need_sync() compares against a stale sync point).
  // `what` says what the agent waits for; it is kept while the agent is blocked, so a
  // simulated deadlock can be reported with every thread and what holds it.
  void wait_event(sc_core::sc_event& ev, const char* what = "an event") {
    sync();
    blocked_on_ = what;
    sc_core::wait(ev);
    blocked_on_ = nullptr;
    qk_.reset();
  }
  const char* blocked_on() const { return blocked_on_; }

  // --- memory on simulated words (sync first, latency goes to local time) ---
  uint64_t load(Addr a, MemClass c = MemClass::Sync);
  uint64_t load_nosync(Addr a, MemClass c = MemClass::Sync);  // race-tolerant read
  void store(Addr a, uint64_t v, MemClass c = MemClass::Sync);
  uint64_t cmpxchg(Addr a, uint64_t expected, uint64_t desired, MemClass c = MemClass::Sync);
  uint64_t xchg(Addr a, uint64_t v, MemClass c = MemClass::Sync);
  uint64_t fetch_add(Addr a, uint64_t addend, MemClass c = MemClass::Sync);

  // --- bookkeeping used by sync primitives and the oracle ---
  int rcu_depth = 0;   // nesting of rcu_read_lock
  int locks_held = 0;  // lockdep-style held-lock depth

 private:
  std::string name_;
  int id_;
  MemPort& port_;
  int track_;
  tlm_utils::tlm_quantumkeeper qk_;
  const char* blocked_on_ = nullptr;
};

}  // namespace mmusim
