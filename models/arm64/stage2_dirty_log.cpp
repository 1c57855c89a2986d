// Dirty logging on arm64 stage 2 (KVM_MEM_LOG_DIRTY_PAGES), the arm64 hooks of KVM's generic
// protocol (sim/hv/dirty_logging.hpp):
//   - enable: every writable leaf of the slot loses S2AP write (kvm_mmu_wp_memory_region,
//     mmu_lock taken for write), blocks included -- nothing with initially-set; reducing
//     rights needs no break-before-make,
//     only a TLB invalidation of the range afterwards;
//   - a write then takes a stage-2 permission fault. On a 4 KiB page the fault path relaxes the
//     entry in place; on a block it maps just the written page (force_pte while logging): a
//     table page is taken from the vCPU's cache, the block is broken (one TLBI by IPA with its
//     level) and the table linked, so the block's other pages fault on their own first use
//     and each write is logged per page (hv.dirty_log.block_split counts those breaks). The
//     fault path sets the page's bit (mark_page_dirty) whenever it made a mapping writable
//     while logging (stage2_mmu.cpp);
//   - the get (without manual protect) or the clear write-protects the logged pages again
//     (kvm_arch_mmu_enable_log_dirty_pt_masked under mmu_lock: one walk from the first to the
//     last page of each bitmap word), then the TLBs are invalidated;
//   - with a chunk size set by the VMM (6.5 on), the blocks are split eagerly instead: after
//     enabling's protection, or with initially-set in each clear over the span it protected
//     (stage2_split.cpp), so the logging passes take permission faults on 4 KiB pages only.
// There is no lockless fast path as on x86: the relaxation runs under mmu_lock (for read in
// --mmu-lock shared, where it is a cmpxchg). The bitmap is words of simulated memory.
#include "models/arm64/stage2_mmu.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

void Stage2Mmu::mark_dirty(Agent& a, Addr gpa) {
  // set_bit_le: a locked OR on the bitmap word, as a cmpxchg loop.
  const uint64_t page = (gpa - log_gpa_) >> kPageShift;
  const Addr word = log_bitmap_ + (page / 64) * 8;
  const uint64_t bit = uint64_t(1) << (page % 64);
  uint64_t old = a.load(word);
  while (!(old & bit)) {
    const uint64_t seen = a.cmpxchg(word, old, old | bit);
    if (seen == old) {
      stats_.dirty_marked.inc();
      return;
    }
    old = seen;
  }
}

size_t Stage2Mmu::write_protect(Agent& a, Addr gpa, uint64_t len) {
  lockdep_assert_held_write(a, mmu_lock_, __func__);
  size_t done = 0;
  for_each_leaf(a, gpa, len, [&](PtIter& it) {
    // A lost cmpxchg (the hardware walker setting AF, or a concurrent relaxation in shared
    // mode) leaves the iterator stale: read the entry again and retry.
    while (it.leaf() && fmt_.perms(it.entry()).write) {
      const uint64_t ro = it.entry() & ~(Arm64S2Format::kS2apWrite | Arm64S2Format::kSwDirty);
      if (set_pte(a, it, ro)) {
        ++done;
        break;
      }
      it.set_entry(read_pte(a, it.entry_addr()));
    }
  });
  stats_.wrprot.inc(done);
  return done;
}

Addr Stage2Mmu::arch_dirty_bitmap(Agent& a, Addr gpa, uint64_t len) {
  (void)a;
  if (!log_bitmap_ || len > log_len_) log_bitmap_ = heap_.alloc(((len >> kPageShift) + 63) / 64 * 8);
  log_gpa_ = gpa;
  log_len_ = len;
  return log_bitmap_;
}

void Stage2Mmu::arch_enable_dirty_log(Agent& a, bool initially_set) {
  // kvm_arch_commit_memory_region: with initially-set nothing is protected at enable, blocks
  // included (the first clear's range walk protects them).
  if (initially_set) return;
  // kvm_mmu_wp_memory_region: mmu_lock for write whatever the fault path's mode.
  arch_mmu_lock(a);
  const size_t n = write_protect(a, log_gpa_, log_len_);
  arch_mmu_unlock(a);
  if (n) flush_.flush_range(a, -1, log_gpa_, log_len_);
  // kvm_mmu_split_memory_region (6.5 on; nothing with chunk 0): the blocks just protected
  // become tables of read-only 4 KiB pages, so no write of the logging passes breaks a block.
  if (!p_.eager_split_chunk) return;
  arch_mmu_lock(a);
  split_huge_pages(a, log_gpa_, log_len_);
  arch_mmu_unlock(a);
}

void Stage2Mmu::arch_mmu_lock(Agent& a) {
  mmu_lock_.write_lock(a);
  rcu_.read_lock(a);
}

void Stage2Mmu::arch_mmu_unlock(Agent& a) {
  rcu_.read_unlock(a);
  mmu_lock_.write_unlock(a);
}

void Stage2Mmu::arch_protect_masked(Agent& a, size_t word, uint64_t mask) {
  // kvm_arch_mmu_enable_log_dirty_pt_masked: one range walk from the first to the last page
  // of the mask (__ffs to __fls), pages between them included (stage2_wp_range).
  const unsigned first = unsigned(__builtin_ctzll(mask));
  const unsigned last = 63u - unsigned(__builtin_clzll(mask));
  const Addr start = log_gpa_ + ((uint64_t(word) * 64 + first) << kPageShift);
  const uint64_t len = uint64_t(last - first + 1) << kPageShift;
  write_protect(a, start, len);
  // With initially-set, enabling split nothing: each clear splits (after protecting them) the
  // blocks over the same span (kvm_mmu_split_huge_pages, 6.5 on, with a chunk size).
  if (p_.eager_split_chunk && dirty_log_caps().initially_set) split_huge_pages(a, start, len);
}

void Stage2Mmu::arch_flush_logged(Agent& a) { flush_.flush_range(a, -1, log_gpa_, log_len_); }

void Stage2Mmu::arch_disable_dirty_log(Agent& a) {
  (void)a;
  // The 4 KiB pages stay; blocks come back only as the guest faults on newly unmapped ranges.
  // The split cache's leftover pages are freed (kvm_arch_commit_memory_region).
  log_len_ = 0;
  free_split_cache();
}

}  // namespace mmusim
