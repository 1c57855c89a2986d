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
enum VcpuRequest : uint64_t { kReqTlbFlush = 1u << 0 };

// One remote-flush round waiting for acknowledgements (smp_call_function_many with wait).
struct FlushAck {
  unsigned pending = 0;
  sc_core::sc_event done;
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
  // The vCPU's translation caches, for the stale-translation oracle.
  virtual Tlb& tlb_l1() = 0;
  virtual Tlb& tlb_l2() = 0;
  // Whether the vCPU still has kReqTlbFlush pending (it flushes before entering the guest).
  virtual bool flush_pending() const = 0;
  virtual const std::string& thread_name() const = 0;
};

}  // namespace mmusim
