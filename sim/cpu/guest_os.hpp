// The modelled guest kernel's hook into a vCPU. When the guest's own page tables do not map an
// address (a guest page fault), the vCPU runs GuestOs::handle_page_fault in guest mode, in its
// own thread; the handler reads and writes guest-physical memory through GuestMemoryAccess,
// whose accesses translate through stage 2 like any guest access (and so exit to the
// hypervisor when the guest page-table page itself is not mapped there yet).
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class GuestMemoryAccess {
 public:
  virtual ~GuestMemoryAccess() = default;
  virtual uint64_t read_gpa(Addr gpa) = 0;             // 8-byte aligned guest-physical read
  virtual void write_gpa(Addr gpa, uint64_t value) = 0; // 8-byte aligned guest-physical write
  virtual Agent& agent() = 0;                           // for compute time and RNG-free timing
  virtual int vcpu_id() const = 0;
  // Takes interrupts (flush IPIs) that arrived while the guest kernel spins, as a real CPU
  // spinning on a lock still exits on an external interrupt; a spinner that never did could
  // block a remote flush whose initiator holds what the lock holder needs.
  virtual void take_pending_interrupts() {}
  // Pause-loop exiting: cycles of spinning after which the CPU exits to the hypervisor (0:
  // never), and that exit (the hypervisor may yield the pCPU to a preempted vCPU meanwhile).
  virtual Cycles pause_loop_window() const { return 0; }
  virtual void pause_loop_exit() {}
};

class GuestOs {
 public:
  virtual ~GuestOs() = default;
  // Returns true when the faulting access should be retried, false when the guest cannot map
  // it (the run stops with an error naming the address).
  virtual bool handle_page_fault(GuestMemoryAccess& cpu, Addr gva, Access access) = 0;
  // Root of the guest page tables (CR3 / TTBR) the vCPUs run on.
  virtual Addr root_gpa() const = 0;
};

}  // namespace mmusim
