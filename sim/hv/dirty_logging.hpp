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
//     the first clear write-protects what it clears.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/core/types.hpp"
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

 protected:
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
  DirtyLogCaps caps_;
  Addr bitmap_ = 0;   // the range's first bitmap word (simulated memory)
  size_t words_ = 0;  // 0: logging off
};

}  // namespace mmusim
