// Dirty logging on arm64 stage 2 (KVM_MEM_LOG_DIRTY_PAGES with manual protect), the arm64 way:
//   - enable: every writable leaf of the slot loses S2AP write (kvm_mmu_wp_memory_region,
//     mmu_lock taken for write), blocks included; reducing rights needs no break-before-make,
//     only a TLB invalidation of the range afterwards;
//   - a write then takes a stage-2 permission fault. On a 4 KiB page the fault path relaxes the
//     entry in place; on a block it maps just the written page (force_pte while logging): the
//     block is broken and replaced by a table, so the block's other pages fault on their own
//     first use and each write is logged per page. The fault path sets the page's bit
//     (mark_page_dirty) whenever it made a mapping writable while logging (stage2_mmu.cpp);
//   - get copies the bitmap; clear clears the given bits and write-protects those pages again
//     (kvm_arch_mmu_enable_log_dirty_pt_masked under mmu_lock), then invalidates the TLBs.
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

void Stage2Mmu::enable_dirty_log(Agent& a, Addr gpa, uint64_t len) {
  if (len == 0 || len % kPageSize) throw ModelError("dirty log slot must be whole pages");
  if (!log_bitmap_ || len > log_len_) log_bitmap_ = heap_.alloc(((len >> kPageShift) + 63) / 64 * 8);
  log_gpa_ = gpa;
  // kvm_mmu_wp_memory_region: mmu_lock for write whatever the fault path's mode.
  mmu_lock_.write_lock(a);
  rcu_.read_lock(a);
  log_len_ = len;
  const size_t n = write_protect(a, gpa, len);
  rcu_.read_unlock(a);
  mmu_lock_.write_unlock(a);
  if (n) flush_.flush_range(a, -1, gpa, len);
}

std::vector<uint64_t> Stage2Mmu::get_dirty_log(Agent& a) {
  std::vector<uint64_t> out(((log_len_ >> kPageShift) + 63) / 64);
  for (size_t i = 0; i < out.size(); ++i) out[i] = a.load(log_bitmap_ + i * 8);
  return out;
}

void Stage2Mmu::clear_dirty_log(Agent& a, const std::vector<uint64_t>& bits) {
  mmu_lock_.write_lock(a);
  rcu_.read_lock(a);
  size_t protected_leaves = 0;
  for (size_t i = 0; i < bits.size(); ++i) {
    if (!bits[i]) continue;
    const Addr word = log_bitmap_ + i * 8;
    uint64_t old = a.load(word);
    while (true) {
      const uint64_t seen = a.cmpxchg(word, old, old & ~bits[i]);
      if (seen == old) break;
      old = seen;
    }
    const uint64_t mask = old & bits[i];
    // Write-protect each run of consecutive dirty pages of this word in one range walk.
    for (unsigned b = 0; b < 64;) {
      if (!(mask & (uint64_t(1) << b))) {
        ++b;
        continue;
      }
      unsigned e = b;
      while (e < 64 && (mask & (uint64_t(1) << e))) ++e;
      protected_leaves += write_protect(
          a, log_gpa_ + ((uint64_t(i) * 64 + b) << kPageShift), uint64_t(e - b) << kPageShift);
      b = e;
    }
  }
  rcu_.read_unlock(a);
  mmu_lock_.write_unlock(a);
  if (protected_leaves) flush_.flush_range(a, -1, log_gpa_, log_len_);
}

void Stage2Mmu::disable_dirty_log(Agent& a) {
  (void)a;
  // The 4 KiB pages stay; blocks come back only as the guest faults on newly unmapped ranges.
  log_len_ = 0;
}

}  // namespace mmusim
