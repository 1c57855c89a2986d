// Capability of a hypervisor MMU (docs/ARCHITECTURE.md, Dirty logging): dirty logging of one
// memslot range [gpa, gpa+len) as KVM_MEM_LOG_DIRTY_PAGES. The protocol is KVM's generic one
// (virt/kvm/kvm_main.c) and lives here, once for every arch; an arch supplies only its hooks,
// as KVM's arch code supplies kvm_arch_mmu_enable_log_dirty_pt_masked and friends:
//   - manual protect off: KVM_GET_DIRTY_LOG takes mmu_lock, exchanges each non-zero bitmap word
//     with 0 and write-protects the pages it held, drops the lock, then flushes the TLBs; there
//     is no clear;
//   - manual protect on (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): get only copies the bitmap;
//     KVM_CLEAR_DIRTY_LOG clears the given bits atomically under mmu_lock, write-protects the
//     pages whose bits it cleared, drops the lock, then flushes;
//   - initially set (KVM_DIRTY_LOG_INITIALLY_SET, only with manual protect): enabling sets every
//     bit of the range and the arch protects little or nothing at enable (its own form), so
//     the first clear write-protects what it clears;
//   - the dirty ring (KVM_CAP_DIRTY_LOG_RING, sim/hv/dirty_ring.hpp) instead of the bitmap:
//     pages dirtied by a vCPU go to its ring, KVM_RESET_DIRTY_RINGS protects the harvested
//     ones by mask (the same arch hook as the clear), and the bitmap ioctls fail.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/modes.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/dirty_ring.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// What the VMM enabled with KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) before logging.
// A VMM that never sets them gets manual protect without initially-set: not KVM's default
// (no manual protect), but enabling is the same in both, and the page-table-test VMM, the one
// that does not set them, only enables and disables logging.
struct DirtyLogCaps {
  bool manual_protect = true;
  bool initially_set = false;
};

// What the VMM asks for with KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING).
struct DirtyRingParams {
  unsigned entries = kDirtyRingMaxEntries;  // per vCPU ring (the VMM gives it in bytes)
  DirtyRingReset reset = DirtyRingReset::Kvm;  // skip-protect: hypothetical (modes.hpp)
};

class DirtyLogging {
 public:
  virtual ~DirtyLogging() = default;
  // Throws ModelError for initially-set without manual protect (KVM refuses the flag alone).
  void set_dirty_log_caps(const DirtyLogCaps& caps);
  const DirtyLogCaps& dirty_log_caps() const { return caps_; }

  void enable_dirty_log(Agent& a, Addr gpa, uint64_t len);
  // The bitmap, one bit per 4 KiB page from gpa (without manual protect: also cleared and the
  // pages write-protected again).
  std::vector<uint64_t> get_dirty_log(Agent& a);
  // KVM_CLEAR_DIRTY_LOG; a ModelError without manual protect (the ioctl does not exist then).
  void clear_dirty_log(Agent& a, const std::vector<uint64_t>& bits);
  void disable_dirty_log(Agent& a);

  // KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING), before vCPUs 0..vcpus-1 are created: each gets a
  // ring. ModelError when the arch has none or the size is one KVM refuses.
  void enable_dirty_ring(Stats& stats, unsigned vcpus, const DirtyRingParams& p);
  bool dirty_ring_enabled() const { return rings_ != nullptr; }
  // vCPU `vcpu`'s ring as the VMM maps it.
  DirtyRingView dirty_ring(unsigned vcpu) const { return rings_->view(vcpu); }
  // In the vCPU's thread before it enters the guest: true when KVM refuses the entry because
  // the vCPU's ring is soft-full (KVM_EXIT_DIRTY_RING_FULL to the VMM).
  bool dirty_ring_full_exit(Agent& vcpu, int vcpu_id) {
    return rings_->full_exit(vcpu, unsigned(vcpu_id));
  }
  // KVM_RESET_DIRTY_RINGS: frees the harvested entries of every ring, protects their pages
  // again, then flushes; returns the entries freed.
  uint64_t reset_dirty_rings(Agent& a);

 protected:
  // mark_page_dirty_in_slot with the ring: pushes the page of `gpa` (in the logged range) to
  // the ring of the vCPU running it and returns true; false without the ring (the arch sets
  // the page's bit). ModelError without a running vCPU (KVM warns and drops the page).
  bool dirty_ring_push(Agent& a, int vcpu_id, Addr gpa);
  // Where the arch's KVM allocates kernel memory (the rings); nullptr: no dirty ring.
  virtual KernelHeap* arch_kernel_heap() { return nullptr; }
  // kvm_cpu_dirty_log_size: entries one flush of a CPU-side dirty log can push at once.
  virtual unsigned arch_cpu_dirty_log_size() const { return 0; }

  // The slot's bitmap for [gpa, gpa+len): the address of the word holding the range's first
  // page (64-page aligned), allocated if the arch owns it.
  virtual Addr arch_dirty_bitmap(Agent& a, Addr gpa, uint64_t len) = 0;
  // Logging starts (kvm_arch_commit_memory_region): the arch's write protection at enable,
  // which depends on whether the bitmap starts all set.
  virtual void arch_enable_dirty_log(Agent& a, bool initially_set) = 0;
  // kvm_arch_sync_dirty_log, before a get or a clear (x86 with PML: kick the vCPUs).
  virtual void arch_sync_dirty_log(Agent& a) { (void)a; }
  // KVM_MMU_LOCK / KVM_MMU_UNLOCK around the protect loop (exclusive on every arch).
  virtual void arch_mmu_lock(Agent& a) = 0;
  virtual void arch_mmu_unlock(Agent& a) = 0;
  // kvm_arch_mmu_enable_log_dirty_pt_masked: protect the pages of `mask` in bitmap word `word`
  // (page word * 64 + bit of the range), mmu_lock held.
  virtual void arch_protect_masked(Agent& a, size_t word, uint64_t mask) = 0;
  // kvm_arch_flush_remote_tlbs_memslot, after mmu_lock is dropped.
  virtual void arch_flush_logged(Agent& a) = 0;
  virtual void arch_disable_dirty_log(Agent& a) = 0;

 private:
  // Protects `mask` of pages from page `offset` of the range, under mmu_lock (one batch of a
  // ring reset: kvm_reset_dirty_gfn).
  void protect_ring_batch(Agent& a, uint64_t offset, uint64_t mask);

  DirtyLogCaps caps_;
  Addr bitmap_ = 0;   // the range's first bitmap word (simulated memory)
  size_t words_ = 0;  // 0: logging off
  Addr gpa_ = 0;      // the range's first page
  uint64_t pages_ = 0;
  std::unique_ptr<DirtyRings> rings_;  // null: no KVM_CAP_DIRTY_LOG_RING
  DirtyRingReset ring_reset_ = DirtyRingReset::Kvm;
};

}  // namespace mmusim
