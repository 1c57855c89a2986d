// What the hypervisor core sees of a vCPU: its simulated thread, its request word and mode word
// (both in simulated memory, as kvm_vcpu's requests and mode fields are), and the IPI line.
// Implemented by sim/cpu/Vcpu; the hypervisor never includes the vCPU model itself.
#pragma once
#include <cstdint>
#include <memory>
#include <systemc>

#include "sim/core/types.hpp"
#include "sim/mmu/tlb.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// vcpu->mode values, stored in the vCPU's mode word.
enum VcpuMode : uint64_t { kOutsideGuestMode = 0, kInGuestMode = 1, kExitingGuestMode = 2 };
// Bits of the request word (kvm_make_request).
enum VcpuRequest : uint64_t {
  kReqTlbFlush = 1u << 0,   // KVM_REQ_TLB_FLUSH
  kReqMmuReload = 1u << 1,  // KVM_REQ_MMU_RELOAD: drop the root, load a valid one on entry
  // --flush ranged: invalidate only the GPA range in the vCPU's flush words (below).
  kReqTlbFlushRange = 1u << 2,
};

// --- remote-flush strategies and overcommit (sim/hv/flush_strategy.cpp, host_scheduler) ---
// Per-vCPU words in simulated memory the flush strategies read and write besides requests/mode.
struct VcpuFlushWords {
  Addr range_first = 0;  // --flush ranged: lowest GPA to invalidate (all ones: none)
  Addr range_last = 0;   // --flush ranged: highest GPA (inclusive) to invalidate
  Addr tlb_used = 0;     // --flush targeted: non-zero once the vCPU may hold translations
  Addr steal_time = 0;   // guest-visible steal-time `preempted` word (kSteal* bits)
};
// Bits of the steal-time `preempted` word (KVM_VCPU_PREEMPTED / KVM_VCPU_FLUSH_TLB).
enum StealTimeBits : uint64_t { kStealPreempted = 1u << 0, kStealFlushTlb = 1u << 1 };
// --- end remote-flush strategies ---

// One remote-flush round waiting for acknowledgements (smp_call_function_many with wait).
struct FlushAck {
  unsigned pending = 0;
  Event done;
};

class GuestCpu {
 public:
  virtual ~GuestCpu() = default;
  virtual int vcpu_id() const = 0;
  virtual Addr request_word() const = 0;  // simulated address of vcpu->requests
  virtual Addr mode_word() const = 0;     // simulated address of vcpu->mode
  // Raises an IPI that reaches the vCPU `delay` cycles from now (the sender's true time);
  // the vCPU exits guest mode on it and acknowledges `ack` once it has.
  virtual void send_ipi(Cycles delay, std::shared_ptr<FlushAck> ack) = 0;
  // The translation caches of the pCPU the vCPU runs on (shared by every vCPU thread pinned
  // there, entries told apart by tag), for the stale-translation oracle and broadcast TLBIs.
  virtual Tlb& tlb_l1() = 0;
  virtual Tlb& tlb_l2() = 0;
  virtual uint16_t tlb_tag() const = 0;      // what the vCPU's entries are tagged with now
  virtual unsigned vm_index() const { return 0; }  // TlbEntry::vm of the entries it fills
  // Whether the vCPU still has kReqTlbFlush or kReqTlbFlushRange pending (it flushes before
  // entering the guest).
  virtual bool flush_pending() const = 0;
  virtual const std::string& thread_name() const = 0;
  // Drops the paging-structure (walk) caches of the vCPU's translation hardware. Hardware
  // broadcast invalidation (arm64 TLBI ... IS) reaches them without running the vCPU's thread.
  virtual void flush_walk_caches() = 0;
  // Whether the vCPU has entered the guest since it was created: its core may then hold
  // translations tagged with the VM's VMID (the cores a broadcast TLBI's DSB waits for).
  virtual bool ran_guest() const { return true; }
  // The words of --flush targeted / ranged / pv (simulated addresses).
  virtual const VcpuFlushWords& flush_words() const = 0;
};

}  // namespace mmusim
