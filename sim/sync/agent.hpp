// A simulated thread of execution (a vCPU's host thread, the host memory manager, a VMM thread):
// the SystemC thread that runs it, its local time ahead of the kernel (temporal decoupling, with
// the quantum keeper's rules), and its port to the memory system.
//
// Rule of the whole model: private work only advances local time; anything another agent can
// observe or affect (a shared write, an atomic, a lock, an IPI, a fault) first synchronises, so
// it happens at this agent's true simulated time. The load/store/atomic helpers below do that.
//
// Lookahead: synchronising means letting every other process that has something to do before
// this agent's true time do it first. When the kernel's next pending activity (the earliest
// instant any other process can run: a timed wake-up, an event, a runnable process) lies
// strictly after this agent's true time, a wait would only resume this same thread, alone, with
// memory exactly as it is now. The memory helpers then skip the wait (sync_for_access) and
// remember how far the skipped sync point lies ahead of the kernel ("anchor"). What the kernel's
// own clock would see -- a notification, an IPI sent "now" -- first catches up to that point
// (catch_up), so every event happens at the instant it did with the wait. Results are identical
// to synchronising every time; only the context switches are saved.
//
// Hand-off: when the sync cannot be skipped because another agent parked at a sync point is
// due first (and before anything else the kernel has pending), this agent parks itself and wakes
// that one directly instead of waiting through the kernel's timed-event queue (see
// parked_agents.hpp). Actions keep their order by simulated time; only threads due at the very
// same cycle may go in another order (park order, where the kernel used its queue layout). A
// switch costs about half as much.
#pragma once
#include <cstdint>
#include <string>
#include <systemc>

#include "sim/core/clock.hpp"
#include "sim/core/types.hpp"
#include "sim/mem/mem_port.hpp"
#include "sim/sync/event.hpp"
#include "sim/sync/held_locks.hpp"
#include "sim/sync/resched_source.hpp"
#include "sim/sync/sim_kernel.hpp"

namespace mmusim {

class Agent {
 public:
  // `kernel`: the simulation's kernel layer (sim_kernel.hpp), which outlives the agent.
  Agent(SimKernel& kernel, std::string name, int id, MemPort& port, int timeline_track = -1);

  const std::string& name() const { return name_; }
  int id() const { return id_; }
  int track() const { return track_; }
  MemPort& port() { return port_; }
  SimKernel& kernel() const { return *kernel_; }
  const Clock& clock() const { return kernel_->clock(); }

  // --- time ---
  Cycles now() const { return clock().to_cycles(clock().kernel_time() + local_); }  // incl. offset
  // Local offset ahead of the kernel. Callers that use MemPort directly pass a copy as the
  // `delay` argument and store the result back with set_offset().
  sc_core::sc_time offset() const { return local_; }
  void set_offset(const sc_core::sc_time& t) { local_ = t; }
  void advance(Cycles c) { local_ += clock().cycles(c); }
  // True when the local offset reached the end of the quantum (tlm_quantumkeeper::need_sync).
  bool need_sync() const { return clock().kernel_time().value() + local_.value() >= next_sync_; }
  // Waits out the local offset so that the next action happens at this agent's true time, with
  // the kernel's clock there too (for notifications and direct waits that follow).
  void sync() {
    sync_for_access();
    catch_up();
  }
  // The quantum keeper's sync: others due before this agent's true time run first.
  void sync_if_needed() { if (need_sync()) sync_for_access(); }
  // Spends c cycles and reaches true time: the latency of something others can observe the end
  // of (a VM exit, a host fault). Like an access, it skips the wait when lookahead allows.
  void wait_cycles(Cycles c) { advance(c); sync_for_access(); }
  // The sync before an action on shared state that notifies nobody (a load, a store, an
  // atomic, a page walk): skipped when nothing else can run before this agent's true time.
  void sync_for_access();
  // True when lookahead shows that no other process can run before this agent's true time plus
  // `c` cycles: nothing can then post it an interrupt or change what it will see before then,
  // so work of that length needs no wait through the kernel (Vcpu::guest_compute).
  bool runs_alone_for(Cycles c);
  // True when lookahead shows that nothing another thread does from now on can land at or
  // before this agent's true time, given that whatever it posts lands `lead` cycles after it
  // acts (an IPI's delivery): state such posts write may then be read without a sync.
  bool ahead_of_posts(Cycles lead);
  // Brings the kernel's clock to the last sync point if it was skipped; call before anything
  // that uses the kernel's clock as "now" (an sc_event notification, an IPI timed from now).
  void catch_up();
  // A delta notification at this agent's last sync point: catch_up + notify(SC_ZERO_TIME).
  void notify(Event& ev) {
    catch_up();
    kernel_->notify(ev);
  }
  // `what` says what the agent waits for and `holder`, for a lock, where the lock keeps its
  // current holder; both are kept while the agent is blocked, so a simulated deadlock can be
  // reported with every thread, what it waits for and who holds that.
  void wait_event(const Event& ev, const char* what = "an event",
                  const Agent* const* holder = nullptr) {
    sync();
    before_kernel_wait();
    blocked_on_ = what;
    holder_ref_ = holder;
    sc_core::wait(ev.sc());
    blocked_on_ = nullptr;
    holder_ref_ = nullptr;
    reset();
  }
  // Waits until `ev` is notified or `c` cycles have passed, whichever comes first (an
  // interruptible stretch of work: Vcpu::guest_compute).
  void wait_event_for(Cycles c, const Event& ev) {
    sync();
    before_kernel_wait();
    sc_core::wait(clock().cycles(c), ev.sc());
    reset();
  }
  // Call before handing control to the SystemC kernel other than through this class (a raw
  // sc_core::wait, the end of a thread): the earliest parked agent gets its timed wake-up.
  void before_kernel_wait() { kernel_->before_kernel_wait(); }
  const char* blocked_on() const { return blocked_on_; }
  // The thread holding what this one is blocked on (null: not a lock, or not held by one).
  const Agent* blocked_by() const { return holder_ref_ ? *holder_ref_ : nullptr; }
  // Waits the agent skipped thanks to lookahead, and those it made (for the performance doc).
  uint64_t syncs_skipped() const { return skipped_; }
  uint64_t syncs_waited() const { return waited_; }
  uint64_t syncs_handed_off() const { return handed_off_; }
  // Of those, the ones that switched straight to the woken thread (SimKernel::direct_handoff).
  uint64_t handoffs_direct() const { return handed_off_direct_; }
  // The event a parked agent waits on. A module whose thread runs this agent may make the thread
  // statically sensitive to it (and to nothing else) and say so with use_static_wake(): parking
  // then waits with a plain wait(), which costs the kernel less at every hand-off than a wait on
  // an event (no dynamic sensitivity to add, and to remove when it fires).
  const sc_core::sc_event& wake_event() const { return wake_.sc(); }
  void use_static_wake() { static_wake_ = true; }
  // Hand-offs to such agents switch straight to the woken thread (run_next.hpp) when the kernel
  // layer says so (SimKernel::direct_handoff); else they wake it with an immediate
  // notification. Results are the same.

  // --- scheduling ---
  // need_resched(): whether the host scheduler wants this thread's CPU (sim/sync/resched_source.hpp).
  void set_resched_source(ReschedSource* s) { resched_ = s; }
  bool need_resched() { return resched_ && resched_->need_resched(*this); }

  // --- memory on simulated words (sync first, latency goes to local time) ---
  uint64_t load(Addr a, MemClass c = MemClass::Sync);
  uint64_t load_nosync(Addr a, MemClass c = MemClass::Sync);  // race-tolerant read
  void store(Addr a, uint64_t v, MemClass c = MemClass::Sync);
  uint64_t cmpxchg(Addr a, uint64_t expected, uint64_t desired, MemClass c = MemClass::Sync);
  uint64_t xchg(Addr a, uint64_t v, MemClass c = MemClass::Sync);
  uint64_t fetch_add(Addr a, uint64_t addend, MemClass c = MemClass::Sync);
  uint64_t fetch_and(Addr a, uint64_t mask, MemClass c = MemClass::Sync);  // a locked AND
  uint64_t fetch_or(Addr a, uint64_t mask, MemClass c = MemClass::Sync);   // a locked OR
  // Zeroes `bytes` from `a` with whole-line stores into this CPU's caches (MemPort::zero_lines),
  // one fill buffer's worth at a time, each at this agent's true time.
  void zero_lines(Addr a, uint64_t bytes) {
    in_windows(a, bytes, [this](Addr at, uint64_t left) {
      return port_.zero_lines(at, left, local_);
    });
  }

  // Cache maintenance by VA over [a, a + bytes) (MemPort::cmo), one window of lines at a
  // time, each at this agent's true time, so other cores' maintenance shares the home nodes.
  void cmo(Addr a, uint64_t bytes, MemOp op) {
    in_windows(a, bytes, [this, op](Addr at, uint64_t left) {
      return port_.cmo(at, left, op, local_);
    });
  }

  // --- bookkeeping used by sync primitives and the oracle ---
  int rcu_depth = 0;   // nesting of rcu_read_lock
  HeldLocks held_locks;  // what it holds and how (lockdep's held-lock stack)

 private:
  SimKernel* kernel_;
  std::string name_;
  ReschedSource* resched_ = nullptr;
  int id_;
  MemPort& port_;
  int track_;
  // The quantum keeper's state (as tlm_quantumkeeper keeps it), plus the lookahead anchor.
  void wait_local();
  // After a wait the offset is zero and the next quantum boundary is re-aligned to the new time
  // (otherwise need_sync() would compare against a stale sync point).
  void reset();
  // A range operation the memory system performs one window per call (`step(addr, bytes)`
  // returns the bytes it covered): each window at this agent's true time.
  template <class Step>
  void in_windows(Addr a, uint64_t bytes, Step step) {
    while (bytes) {
      sync_for_access();
      const uint64_t done = step(a, bytes);
      a += done;
      bytes -= done;
    }
  }
  void set_quantum_end_after(uint64_t t);
  // Lookahead's test (with lookahead on): no other process can run at or before absolute time
  // `t` (sc_time value units). Takes back the armed wake-up of a parked agent first.
  bool nothing_runs_before(uint64_t t);
  sc_core::sc_time local_;      // offset ahead of the kernel
  uint64_t next_sync_ = 0;      // end of the current quantum (absolute, sc_time value units)
  uint64_t quantum_ = 0;        // the kernel layer's quantum, read at every wait
  sc_core::sc_time anchor_;     // offset of the last skipped sync point; zero after a wait
  uint64_t skipped_ = 0, waited_ = 0, handed_off_ = 0, handed_off_direct_ = 0;
  // Parking (parked_agents.hpp): the agent's own wake-up event and whether it is in the queue.
  friend class ParkedAgents;
  void park(const sc_core::sc_time& at, uint64_t horizon);
  Event wake_;
  bool parked_ = false;
  bool static_wake_ = false;
  sc_core::sc_process_b* proc_ = nullptr;  // its thread, kept at each static-wake park
  const char* blocked_on_ = nullptr;
  const Agent* const* holder_ref_ = nullptr;
};

}  // namespace mmusim
