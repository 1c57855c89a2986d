// Dirty logging in the TDP MMU (one slot, KVM_MEM_LOG_DIRTY_PAGES): the x86 hooks of KVM's
// generic protocol (sim/hv/dirty_logging.hpp). Write-protect the slot when logging starts
// (with initially-set: only huge leaves before 5.14, nothing from 5.14); a write fault on a
// write-protected 4K page is fixed by the lockless fast path (one cmpxchg, no mmu_lock) and
// sets the page's bit in the dirty bitmap; the get (without manual protect) or the clear
// write-protects the logged pages again by mask. Bitmap words and SPTEs are simulated memory.
// Huge SPTEs are split eagerly (--eager-split on; tdp_split.cpp): when logging starts, or with
// initially-set at each clear over the span it protects; the collapsible tables are zapped
// when logging stops (tdp_recover.cpp).
// With --pml on, enable and clear take the D bit of 4K SPTEs instead of W, and the vCPUs' PML
// logs fill the bitmap (tdp_pml.cpp; docs/ARCHITECTURE.md, Dirty logging).
#include "models/x86/tdp_mmu.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

namespace {
uint64_t without_write(uint64_t spte) { return spte & ~uint64_t(2); }  // EPT W is bit 1
uint64_t without_dirty(uint64_t spte) { return spte & ~(uint64_t(1) << 9); }  // EPT D: bit 9
// KVM gives up the lockless fix after this many lost cmpxchgs (the retry_count check of
// fast_page_fault, arch/x86/kvm/mmu/mmu.c): a constant of KVM, not a model tunable.
constexpr int kFastPfRetries = 4;
}  // namespace

void TdpMmu::mark_dirty(Agent& a, int vcpu_id, Addr gpa) {
  if (dirty_ring_push(a, vcpu_id, gpa)) return;
  // set_bit_le on the slot's bitmap: a locked OR, modelled as a cmpxchg loop.
  uint64_t page = (gpa - log_gpa_) >> kPageShift;
  Addr word = log_bitmap_ + (page / 64) * 8;
  uint64_t bit = uint64_t(1) << (page % 64);
  uint64_t old = a.load(word);
  while (!(old & bit)) {
    uint64_t seen = a.cmpxchg(word, old, old | bit);
    if (seen == old) {
      stats_.dirty_marked.inc();
      return;
    }
    old = seen;
  }
}

TdpMmu::Root* TdpMmu::fault_root(int vcpu_id) {
  return vcpu_id >= 0 && size_t(vcpu_id) < vcpu_root_.size() ? vcpu_root_[size_t(vcpu_id)]
                                                              : host_root_;
}

bool TdpMmu::cmpxchg_spte_retrying(Agent& a, PtIter& it,
                                   const std::function<std::optional<uint64_t>(uint64_t)>& next) {
  for (int tries = 0; tries < kFastPfRetries; ++tries) {
    const uint64_t old = it.entry();
    const std::optional<uint64_t> updated = next(old);
    if (!updated) return false;
    const uint64_t seen = a.cmpxchg(it.entry_addr(), old, *updated, MemClass::PageTable);
    if (seen == old) return true;
    stats_.cmpxchg_fail.inc();
    it.set_entry(seen);
  }
  return false;
}

bool TdpMmu::fast_page_fault(Agent& a, int vcpu_id, Addr gpa) {
  Root* r = fault_root(vcpu_id);
  if (!r) return false;
  rcu_.read_lock(a);  // walk_shadow_page_lockless_begin: no mmu_lock, tables kept by RCU
  PtIter it = walk_down(a, r->table, gpa);
  const bool fixed = cmpxchg_spte_retrying(a, it, [&](uint64_t old) -> std::optional<uint64_t> {
    if (it.level() != 1 || !it.leaf() || fmt_.perms(old).write || !(old & kMmuWritable))
      return std::nullopt;
    return old | uint64_t(2) | (uint64_t(1) << 9);  // W, and D (bit 9)
  });
  rcu_.read_unlock(a);
  if (fixed) mark_dirty(a, vcpu_id, it.base());
  return fixed;
}

size_t TdpMmu::write_protect(Agent& a, Addr gpa, uint64_t len, bool held_shared,
                             bool clear_dirty, bool huge_only) {
  lockdep_assert_held_mode(a, mmu_lock_, held_shared, __func__);
  Root* r = current_root();
  if (!r) return 0;
  const ChangeCtx c{-1, shared_, true, true};
  size_t done = 0, cleared = 0;
  unsigned since = 0;
  rcu_.read_lock(a);
  for_each_walk_end(a, r->table, gpa, len, [&](PtIter& it) {
    // Huge leaves are write-protected too; a write to one then takes the slow path, which maps
    // the page at 4K (the huge SPTE is zapped and replaced by a table). With PML a 4K leaf
    // keeps W and loses D (clear_dirty_gfn_range): the walker logs the page when it sets D.
    const bool d_only = clear_dirty && it.level() == 1;
    while (it.leaf() && !(huge_only && it.level() == 1) && (d_only ? fmt_.dirty(it.entry()) : fmt_.perms(it.entry()).write)) {
      const uint64_t e = it.entry();
      if (set_spte(a, c, it, d_only ? without_dirty(e) : without_write(e))) {
        ++(d_only ? cleared : done);
        break;
      }
      it.set_entry(read_spte(a, it.entry_addr()));  // lost a race: look again
    }
    maybe_yield(a, held_shared, since);
  });
  rcu_.read_unlock(a);
  stats_.wrprot_sptes.inc(done);
  if (cleared) pml_stats_->dirty_cleared.inc(cleared);
  return done + cleared;
}

Addr TdpMmu::arch_dirty_bitmap(Agent& a, Addr gpa, uint64_t len) {
  (void)a;
  log_gpa_ = gpa;
  log_len_ = len;
  if (!log_bitmap_) log_bitmap_ = heap_.alloc(((len >> kPageShift) + 63) / 64 * 8);
  return log_bitmap_;
}

void TdpMmu::arch_enable_dirty_log(Agent& a, bool initially_set) {
  log_initially_set_ = initially_set;
  // From 5.14, initially-set needs no protection at all at enable: every page is reported
  // dirty, and each clear protects (and splits) what it clears (arch_protect_masked).
  if (initially_set && p_.init_set_enable == InitSetEnable::ProtectNothing) return;
  // kvm_mmu_slot_apply_flags: with eager_page_split, first split the slot's huge SPTEs
  // (kvm_mmu_slot_try_split_huge_pages, mmu_lock for read when shared), so the protection
  // below leaves 4K SPTEs only and no write of the logging passes has to split or zap. With
  // initially-set nothing is split here: the clears split what they protect
  // (arch_protect_masked).
  if (p_.eager_split == EagerSplit::On && max_level_ > 1 && !initially_set) {
    lock(a, shared_);
    try_split_huge_pages(a, log_gpa_, log_len_, shared_);
    unlock(a, shared_);
  }
  // Then kvm_tdp_mmu_wrprot_slot: mmu_lock for read when shared.
  // Without initially-set every leaf is write-protected (with PML, vmx's cpu_dirty_log_size:
  // D bits of 4K SPTEs cleared, huge SPTEs protected); with it only huge leaves are (start
  // level 2M): the bitmap says every page is dirty, so 4K SPTEs wait for the first clear.
  lock(a, shared_);
  size_t n = write_protect(a, log_gpa_, log_len_, shared_, pml_enabled(), initially_set);
  unlock(a, shared_);
  if (n) flush_.flush_range(a, -1, log_gpa_, log_len_);
}

void TdpMmu::arch_sync_dirty_log(Agent& a) {
  // kvm_arch_sync_dirty_log: with PML, kick the vCPUs so their logs reach the bitmap
  // (tdp_pml.cpp), before a get and before a clear.
  if (pml_enabled() && p_.pml_drain == PmlDrain::Kvm) kick_for_pml(a);
}

void TdpMmu::arch_protect_masked(Agent& a, size_t word, uint64_t mask) {
  // kvm_arch_mmu_enable_log_dirty_pt_masked: each page of the mask is write-protected again
  // (with PML its D bit cleared; huge pages are still write-protected), mmu_lock for write.
  // With eager splitting, the huge SPTEs over the span from the first to the last page of the
  // mask are split first (kvm_mmu_try_split_huge_pages), so only 4K SPTEs are protected.
  // KVM does so only with initially-set (without it, the slot was split when logging started).
  if (p_.eager_split == EagerSplit::On && max_level_ > 1 && mask && log_initially_set_) {
    const unsigned first = unsigned(__builtin_ctzll(mask));
    const unsigned last = 63u - unsigned(__builtin_clzll(mask));
    const Addr start = log_gpa_ + ((uint64_t(word) * 64 + first) << kPageShift);
    try_split_huge_pages(a, start, uint64_t(last - first + 1) << kPageShift, false);
  }
  for (unsigned b = 0; b < 64; ++b)
    if (mask & (uint64_t(1) << b))
      write_protect(a, log_gpa_ + ((uint64_t(word) * 64 + b) << kPageShift), kPageSize, false,
                    pml_enabled());
}

void TdpMmu::arch_flush_logged(Agent& a) { flush_.flush_range(a, -1, log_gpa_, log_len_); }

void TdpMmu::arch_disable_dirty_log(Agent& a) {
  // The memslot without KVM_MEM_LOG_DIRTY_PAGES is in place first, so faults from now on may
  // map huge; then kvm_mmu_slot_apply_flags zaps the collapsible tables (tdp_recover.cpp), and
  // the guest's next faults there map huge pages again.
  const Addr gpa = log_gpa_;
  const uint64_t len = log_len_;
  log_len_ = 0;
  if (!len || max_level_ == 1) return;
  lock(a, shared_);
  zap_collapsible_sptes(a, gpa, len);
  unlock(a, shared_);
}

}  // namespace mmusim
