// Dirty logging in the TDP MMU (one slot, KVM_MEM_LOG_DIRTY_PAGES with manual protect, as
// dirty_log_perf_test uses it): write-protect the slot when logging starts; a write fault on
// a write-protected 4K page is fixed by the lockless fast path (one cmpxchg, no mmu_lock) and
// sets the page's bit in the dirty bitmap; get copies the bitmap; clear clears bits and
// write-protects those pages again, then flushes. Bitmap words and SPTEs are simulated memory.
// Huge SPTEs are split eagerly when logging starts (--eager-split on; tdp_split.cpp) and the
// collapsible tables zapped when it stops (tdp_recover.cpp).
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

void TdpMmu::mark_dirty(Agent& a, Addr gpa) {
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

bool TdpMmu::fast_page_fault(Agent& a, int vcpu_id, Addr gpa) {
  Root* r = vcpu_id >= 0 && size_t(vcpu_id) < vcpu_root_.size() ? vcpu_root_[size_t(vcpu_id)]
                                                                 : host_root_;
  if (!r) return false;
  rcu_.read_lock(a);  // walk_shadow_page_lockless_begin: no mmu_lock, tables kept by RCU
  PtIter it = walk_down(a, r->table, gpa);
  bool fixed = false;
  // KVM retries the cmpxchg a few times when the SPTE changes under it.
  for (int tries = 0; tries < kFastPfRetries && !fixed; ++tries) {
    uint64_t old = it.entry();
    if (it.level() != 1 || !it.leaf() || fmt_.perms(old).write || !(old & kMmuWritable)) break;
    uint64_t updated = old | uint64_t(2) | (uint64_t(1) << 9);  // W, and D (bit 9)
    uint64_t seen = a.cmpxchg(it.entry_addr(), old, updated, MemClass::PageTable);
    if (seen == old) {
      fixed = true;
    } else {
      stats_.cmpxchg_fail.inc();
      it.set_entry(seen);
    }
  }
  rcu_.read_unlock(a);
  if (fixed) mark_dirty(a, it.base());
  return fixed;
}

size_t TdpMmu::write_protect(Agent& a, Addr gpa, uint64_t len, bool held_shared,
                             bool clear_dirty) {
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
    while (it.leaf() && (d_only ? fmt_.dirty(it.entry()) : fmt_.perms(it.entry()).write)) {
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

void TdpMmu::enable_dirty_log(Agent& a, Addr gpa, uint64_t len) {
  if (len == 0 || len % kPageSize) throw ModelError("dirty log slot must be whole pages");
  log_gpa_ = gpa;
  log_len_ = len;
  if (!log_bitmap_) log_bitmap_ = heap_.alloc(((len >> kPageShift) + 63) / 64 * 8);
  // kvm_mmu_slot_apply_flags: with eager_page_split, first split the slot's huge SPTEs
  // (kvm_mmu_slot_try_split_huge_pages, mmu_lock for read when shared), so the protection
  // below leaves 4K SPTEs only and no write of the logging passes has to split or zap.
  if (p_.eager_split == EagerSplit::On && max_level_ > 1) {
    lock(a, shared_);
    try_split_huge_pages(a, gpa, len, shared_);
    unlock(a, shared_);
  }
  // Then kvm_tdp_mmu_wrprot_slot: mmu_lock for read when shared.
  lock(a, shared_);
  // With PML (vmx's cpu_dirty_log_size): D bits of 4K SPTEs cleared, huge SPTEs protected.
  size_t n = write_protect(a, gpa, len, shared_, pml_enabled());
  unlock(a, shared_);
  if (n) flush_.flush_range(a, -1, gpa, len);
}

std::vector<uint64_t> TdpMmu::get_dirty_log(Agent& a) {
  // KVM_GET_DIRTY_LOG with manual protect: copy the bitmap as it is -- with PML after
  // kvm_arch_sync_dirty_log kicked the vCPUs so their logs reach the bitmap (tdp_pml.cpp).
  if (pml_enabled() && p_.pml_drain == PmlDrain::Kvm) kick_for_pml(a);
  std::vector<uint64_t> out(((log_len_ >> kPageShift) + 63) / 64);
  for (size_t i = 0; i < out.size(); ++i) out[i] = a.load(log_bitmap_ + i * 8);
  return out;
}

void TdpMmu::clear_dirty_log(Agent& a, const std::vector<uint64_t>& bits) {
  // KVM_CLEAR_DIRTY_LOG: for each word, clear the given bits atomically, and write-protect the
  // pages that were dirty again (kvm_arch_mmu_enable_log_dirty_pt_masked), under mmu_lock;
  // with PML their D bits are cleared instead (huge pages are still write-protected).
  lock(a, false);
  size_t protected_pages = 0;
  for (size_t i = 0; i < bits.size(); ++i) {
    if (!bits[i]) continue;
    Addr word = log_bitmap_ + i * 8;
    uint64_t old = a.load(word);
    while (true) {
      uint64_t seen = a.cmpxchg(word, old, old & ~bits[i]);
      if (seen == old) break;
      old = seen;
    }
    uint64_t mask = old & bits[i];
    for (unsigned b = 0; b < 64; ++b)
      if (mask & (uint64_t(1) << b))
        protected_pages +=
            write_protect(a, log_gpa_ + ((uint64_t(i) * 64 + b) << kPageShift), kPageSize, false,
                          pml_enabled());
  }
  unlock(a, false);
  if (protected_pages) flush_.flush_range(a, -1, log_gpa_, log_len_);
}

void TdpMmu::disable_dirty_log(Agent& a) {
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
