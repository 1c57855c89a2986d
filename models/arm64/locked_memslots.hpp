// Locked memslots (the arm64 KVM_CAP_ARM_LOCK_USER_MEMORY series, the locked-memslots series) and
// the VMM-side operations around them:
//   create   a memslot over [gpa, gpa + bytes) (KVM_SET_USER_MEMORY_REGION);
//   lock     pin every page and map it at stage 2 up front, read-only or writable;
//   unlock   unpin (the mappings stay, now ordinary ones; e.g. to start a migration);
//   re-lock  allowed at any time, also after vCPUs have run (a cancelled migration): the
//            pending cache maintenance is set again.
// Cache maintenance (--cmo-policy): a guest that runs with its MMU off reads memory
// non-cacheably, so whatever the VMM wrote through its cacheable mapping must be cleaned to the PoC
// before the guest runs.
//   eager     the map at lock time cleans+invalidates each page (the dcache callback stays in
//             place) AND the first KVM_RUN performs the pending op: maintenance twice;
//   deferred  the map at lock time skips it; lock sets KVM_LOCKED_MEMSLOT_FLUSH_DCACHE in
//             kvm->arch.mmu_pending_ops and the first KVM_RUN cleans+invalidates every locked
//             memslot under slots_lock, then clears the bit: once (the seed's patch);
//   none      no maintenance at all: wrong on purpose, the stale-data oracle catches it.
// With FEAT_S2FWB (--arm64-fwb on) stage 2 forces the guest's MMU-off accesses to write-back
// cacheable, so no maintenance is needed and KVM does none: the map's dcache callback does
// nothing and the pending op's stage2 flush returns before walking (kvm_pgtable_stage2_flush).
// --cmo-policy still applies -- it says what the series does around the maintenance (eager:
// no pending op; deferred: the bit is set and the first KVM_RUN takes slots_lock and mmu_lock
// to perform it; none: neither) -- and with FWB every policy is correct (docs/ARCHITECTURE.md).
// Locking: the lock ioctl takes kvm->lock and kvm_lock_all_vcpus (mutex_trylock of every
// vcpu->mutex: fails with -EBUSY while a vCPU is in KVM_RUN), which is where lockdep's depth
// limit is hit with 47 vCPUs (models/arm64/lockdep.hpp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "models/arm64/lockdep.hpp"
#include "models/arm64/stage2_mmu.hpp"
#include "sim/sync/spinlock.hpp"

namespace mmusim {

// What the locked memslots read of the run's parameters (app/params_models.cpp builds it).
struct LockedMemslotsParams {
  unsigned vcpus = 4;               // vCPUs, one vcpu->mutex each
  CmoPolicy cmo_policy = CmoPolicy::Deferred;  // --cmo-policy: when lock cleans to the PoC
  bool fwb = false;                 // --arm64-fwb: the cleans themselves are not needed
  Cycles request_check = 52;        // one memslot array update / pending-op check per page
};

class LockedMemslots {
 public:
  struct Slot {
    Addr gpa = 0;
    uint64_t bytes = 0;
    bool locked = false;
    bool writable = false;
  };

  LockedMemslots(const LockedMemslotsParams& p, ArchDeps& deps, Stage2Mmu& mmu);

  // --- VMM side, each in the calling host thread ---
  int create(Agent& vmm, Addr gpa, uint64_t bytes);
  // Returns false (-EBUSY) when some vCPU's mutex could not be taken.
  bool lock(Agent& vmm, int slot, bool writable);
  bool unlock(Agent& vmm, int slot);
  // kvm_lock_all_vcpus / kvm_unlock_all_vcpus, the caller holding kvm->lock.
  bool lock_all_vcpus(Agent& a);
  void unlock_all_vcpus(Agent& a);
  // The VMM holds vCPUs back from KVM_RUN until it has prepared the guest (call before the run),
  // then lets them go.
  void hold_vcpus() { started_ = false; }
  void start_vcpus(Agent& vmm);

  // --- vCPU side: kvm_arch_vcpu_ioctl_run before the first entry ---
  void vcpu_run(Agent& vcpu, int vcpu_id);

  bool pending_ops() const;  // functional peek at kvm->arch.mmu_pending_ops
  const std::vector<Slot>& slots() const { return slots_; }
  unsigned vcpus() const { return unsigned(vcpu_mutex_.size()); }

 private:
  void perform_pending_ops(Agent& vcpu);
  void set_pending(Agent& a);
  // The start both ioctls share: kvm->lock, every vCPU mutex checked (then released), and
  // slots_lock. False (kvm->lock dropped again, counted busy) when a vCPU is running.
  bool begin_slot_op(Agent& vmm);
  const LockedMemslotsParams p_;
  Stage2Mmu& mmu_;
  PhysMem& phys_;
  TouchedPages& touched_;
  Lockdep lockdep_;
  SpinLock kvm_lock_;    // kvm->lock (a mutex in the kernel)
  SpinLock slots_lock_;  // kvm->slots_lock (a mutex in the kernel)
  LockStats vcpu_mutex_stats_;  // every vCPU's mutex reports under one name
  std::vector<std::unique_ptr<SpinLock>> vcpu_mutex_;
  Addr pending_word_;    // kvm->arch.mmu_pending_ops
  std::vector<Slot> slots_;
  bool started_ = true;
  Event start_ev_;
  struct MemslotStats : StatsGroup {
    explicit MemslotStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter locks{*this, "hv.memslot.lock", "memslots locked"};
    statistics::Counter unlocks{*this, "hv.memslot.unlock", "memslots unlocked"};
    statistics::Counter busy{*this, "hv.memslot.lock_busy",
                             "memslot lock requests refused because the VM was busy"};
    statistics::Counter pinned{*this, "hv.memslot.pinned_pages", "pages pinned by locked memslots"};
    statistics::Counter pending_done{*this, "hv.pending_ops.performed",
                                     "deferred operations performed on a vCPU's next entry"};
    statistics::Counter pending_set{*this, "hv.pending_ops.set",
                                    "deferred operations requested from vCPUs"};
  } stats_;
};

}  // namespace mmusim
