// Dirty logging in KVM MIPS (arch/mips/kvm/mmu.c and mips.c of the GPA-table era): no write
// protection of its own -- a GPA PTE that is clean has EntryLo.D clear, so the first guest
// write to it raises a TLB modified exception, and the fault fast path makes it dirty and sets
// the page's bit in the memslot's dirty bitmap (MipsGpaMmu::map_page_fast). Logging therefore
// only needs PTEs cleaned: all of the slot's when logging starts (initially-set or not), and the
// pages whose bits KVM's generic protocol takes (sim/hv/dirty_logging.hpp: the get without
// manual protect, else the clear), each time followed by flush_shadow_all so no vCPU keeps a
// TLB entry that still allows the write silently.
#include <algorithm>

#include "models/mips/mips_gpa_mmu.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

uint64_t MipsGpaMmu::mkclean_range(Agent& a, uint64_t first, uint64_t last) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  // The pre-order walk of the GPA table over the frames, as the recursion over pgd, pmd and
  // pte tables of KVM's visits them.
  uint64_t cleaned = 0;
  for_each_entry(PtIter::range(fmt_, pgd_, first << kPageShift, (last + 1) << kPageShift),
                 [&](Addr ep) { return a.load(ep, MemClass::PageTable); },
                 [&](PtIter& it) {
                   if (it.level() > 1 || !it.present() || !MipsPteFormat::modified(it.entry()))
                     return;
                   set_pte(a, it.entry_addr(), MipsPteFormat::mkclean(it.entry()));
                   // Downgraded: no TLB may keep D after the flush.
                   flush_.note_zap(it.base(), kPageSize);
                   stats_.cleaned.inc();
                   ++cleaned;
                 });
  return cleaned;
}

const Memslot& MipsGpaMmu::log_slot() const { return slots_.slots().at(log_slot_); }

Addr MipsGpaMmu::arch_dirty_bitmap(Agent& a, Addr gpa, uint64_t len) {
  (void)a;
  const Memslot* s = slots_.find(gpa >> kPageShift);
  if (!s || !s->has_gfn((gpa + len - 1) >> kPageShift))
    throw ModelError("dirty log range must lie in one memslot");
  if (((gpa >> kPageShift) - s->base_gfn) % 64)
    throw ModelError("dirty log range must start on a 64-page boundary of its memslot");
  log_slot_ = s->id;
  log_gpa_ = gpa;
  log_len_ = len;
  // The slot logs from here on: turning the flag on allocates its bitmap.
  slots_.set_flags(s->id, s->flags | kMemLogDirtyPages);
  const Memslot& logged = log_slot();
  return logged.dirty_bitmap + ((gpa >> kPageShift) - logged.base_gfn) / 64 * 8;
}

void MipsGpaMmu::arch_enable_dirty_log(Agent& a, bool initially_set) {
  // kvm_arch_commit_memory_region: the slot now logs; every PTE of it is cleaned under
  // mmu_lock and the shadow mappings are flushed if any was dirty -- with initially-set too,
  // which KVM MIPS does not look at.
  (void)initially_set;
  const Memslot& s = log_slot();
  mmu_lock_.lock(a);
  const uint64_t n = mkclean_range(a, s.base_gfn, s.base_gfn + s.npages - 1);
  if (n) flush_shadow_all(a, -1);
  mmu_lock_.unlock(a);
}

void MipsGpaMmu::arch_protect_masked(Agent& a, size_t word, uint64_t mask) {
  // kvm_arch_mmu_enable_log_dirty_pt_masked -> kvm_mips_mkclean_gpa_pt: the pages whose bits
  // were cleared are cleaned again.
  const uint64_t gfn0 = (log_gpa_ >> kPageShift) + uint64_t(word) * 64;
  for (unsigned b = 0; b < 64; ++b)
    if (mask & (uint64_t(1) << b)) mkclean_range(a, gfn0 + b, gfn0 + b);
}

void MipsGpaMmu::arch_disable_dirty_log(Agent& a) {
  (void)a;
  // The slot stops logging; PTEs keep whatever state they have (4K only, nothing to rebuild).
  if (log_len_) slots_.set_flags(log_slot_, log_slot().flags & ~uint32_t(kMemLogDirtyPages));
  log_len_ = 0;
}

}  // namespace mmusim
