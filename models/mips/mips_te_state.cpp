// The state KVM's trap-and-emulate mode keeps per vCPU in memory: the emulated guest TLB and
// the GVA page tables (models/mips/mips_te_walker.hpp).
#include "models/mips/mips_te_walker.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

int MipsTeWalker::guest_tlb_lookup(uint64_t hi, Ctx& c) {
  // kvm_mips_guest_tlb_lookup: entries in order, EntryHi compared (VPN2 and ASID).
  for (unsigned i = 0; i < kGuestTlbEntries; ++i)
    if (load(guest_tlb_ + Addr(i) * kEntryBytes, c.delay, c.thread, c.refs) == hi) return int(i);
  return -1;
}

void MipsTeWalker::guest_tlb_write(unsigned idx, uint64_t hi, const uint64_t lo[2], Ctx& c) {
  const Addr e = guest_tlb_ + Addr(idx) * kEntryBytes;
  // The entry being replaced: its host mappings go (kvm_mips_invalidate_guest_tlb).
  const uint64_t old = load(e, c.delay, c.thread, c.refs);
  if (old != 0 && old != hi) gva_clear_pair(old & ~Addr(2 * kPageSize - 1), c);
  store(e, hi, c.delay);
  store(e + 8, lo[0], c.delay);
  store(e + 16, lo[1], c.delay);
  store(e + 24, 0, c.delay);  // PageMask: 4 KiB pages
}

void MipsTeWalker::guest_tlb_invalidate(Addr gva, Addr guest_root_gpa, Ctx& c) {
  const int i = guest_tlb_lookup(entryhi(gva, guest_root_gpa), c);
  if (i < 0) return;
  store(guest_tlb_ + Addr(i) * kEntryBytes, 0, c.delay);
  gva_clear_pair(gva, c);
}

Addr MipsTeWalker::gva_pair(Addr gva, bool create, Ctx& c) {
  if (!gva_root_) {
    if (!create) return 0;
    gva_root_ = pool_->alloc();
    gva_pages_.push_back(gva_root_);
  }
  PtIter it(guest_fmt_, gva_root_, gva);
  while (it.level() > 1) {
    it.set_entry(load(it.entry_addr(), c.delay, c.thread, c.refs));
    if (!it.can_descend()) {
      if (!create) return 0;
      const Addr page = pool_->alloc();
      gva_pages_.push_back(page);
      const uint64_t t = guest_fmt_.make_table(page);
      store(it.entry_addr(), t, c.delay);
      it.set_entry(t);
    }
    it.descend();
  }
  return it.entry_addr() & ~Addr(15);
}

void MipsTeWalker::gva_write_pair(Addr gva, const uint64_t pte[2], Ctx& c) {
  const Addr even = gva_pair(gva, true, c);
  store(even, pte[0], c.delay);
  store(even + 8, pte[1], c.delay);
  gva_written_.push_back(gva & ~Addr(2 * kPageSize - 1));
}

void MipsTeWalker::gva_clear_pair(Addr gva, Ctx& c) {
  const Addr even = gva_pair(gva, false, c);
  if (!even) return;
  store(even, 0, c.delay);
  store(even + 8, 0, c.delay);
  const Addr base = gva & ~Addr(2 * kPageSize - 1);
  gpa_of_.erase(base);
  gpa_of_.erase(base + kPageSize);
}

void MipsTeWalker::run_pending(Addr guest_root_gpa, Ctx& c) {
  // A new guest address space: its mappings are not the old one's.
  if (guest_root_gpa != last_guest_root_) {
    if (last_guest_root_ != 0) flush_pending_ = true;
    last_guest_root_ = guest_root_gpa;
  }
  for (Addr gva : invalidate_pending_) guest_tlb_invalidate(gva, guest_root_gpa, c);
  invalidate_pending_.clear();
  if (!flush_pending_) return;
  flush_pending_ = false;
  // kvm_mips_flush_gva_pt: every GVA mapping goes (the model clears the leaves it wrote).
  std::vector<Addr> written;
  written.swap(gva_written_);
  for (Addr gva : written) gva_clear_pair(gva, c);
  gpa_of_.clear();
  kseg0_tlb_.flush_all();
}

void MipsTeWalker::flush_caches() { flush_pending_ = true; kseg0_tlb_.flush_all(); }

void MipsTeWalker::free_tables() {
  // kvm_mips_emul_free_gva_pt on vCPU destruction.
  for (Addr page : gva_pages_) pool_->free(page);
  gva_pages_.clear();
  gva_root_ = 0;
  gva_written_.clear();
  gpa_of_.clear();
}

void MipsTeWalker::flush_va(Addr gva) { invalidate_pending_.push_back(gva); }

void MipsTeWalker::tag_changed(bool) {
  // A new host ASID for the guest: KVM also flushes the GVA tables (on the next entry).
  flush_caches();
}

}  // namespace mmusim
