#include "models/mips/mips_gpa_mmu.hpp"

#include <algorithm>

#include "sim/core/error.hpp"
#include "sim/mmu/pt_iter.hpp"

namespace mmusim {

MipsGpaMmu::MipsGpaMmu(const MipsGpaMmuParams& p, const MipsPteFormat& fmt, PhysMem& phys,
                       PagePool& pool, HostMm& host, RemoteFlush& flush, Rcu& rcu,
                       KernelHeap& heap, Stats& stats, FaultStats& faults,
                       Timeline& timeline, Violations& /*oracle*/,
                       TouchedPages& touched, Memslots& slots)
    : p_(p), fmt_(fmt), phys_(phys), pool_(pool), host_(host), flush_(flush), rcu_(rcu),
      timeline_(timeline), touched_(touched), slots_(slots), sync_mmu_(p.mips_sync_mmu),
      mmu_lock_("hv.lock.mmu_lock", heap.alloc(), stats, &timeline),
      pgd_(pool.alloc()),
      faults_(faults),
      stats_(stats) {}

Addr MipsGpaMmu::pte_for_gpa(Agent& a, Addr gpa, bool alloc) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  PtIter it(fmt_, pgd_, gpa);
  while (it.level() > 1) {
    it.set_entry(a.load(it.entry_addr(), MemClass::PageTable));
    if (!it.present()) {
      if (!alloc) return 0;
      // From the vCPU's MMU memory cache, topped up before the lock was taken.
      a.advance(p_.page_alloc);
      stats_.tables_alloc.inc();
      uint64_t link = fmt_.make_table(pool_.alloc());
      a.store(it.entry_addr(), link, MemClass::PageTable);
      it.set_entry(link);
    }
    it.descend();
  }
  return it.entry_addr();
}

void MipsGpaMmu::mark_page_dirty(Agent& a, uint64_t gfn) {
  if (slots_.mark_page_dirty(a, gfn)) stats_.dirty_logged.inc();
}

MipsGpaMmu::Fast MipsGpaMmu::map_page_fast(Agent& a, Addr gpa, bool write) {
  const uint64_t gfn = gpa >> kPageShift;
  Fast ret = Fast::Done;
  mmu_lock_.lock(a);
  Addr ptep = pte_for_gpa(a, gpa, false);
  uint64_t pte = ptep ? a.load(ptep, MemClass::PageTable) : 0;
  if (!fmt_.present(pte)) {
    ret = Fast::NotPresent;
  } else {
    // Track accesses to pages marked old (idle page tracking); not before the seed, when
    // nothing ever made a GPA PTE old.
    if (sync_mmu_ && !MipsPteFormat::young(pte)) {
      pte = MipsPteFormat::mkyoung(pte);
      set_pte(a, ptep, pte);
      stats_.fast_young.inc();
      ret = Fast::Changed;
    }
    if (write && !MipsPteFormat::modified(pte)) {
      if (sync_mmu_ && !MipsPteFormat::writable(pte)) {
        // A shared or read-only page must not be dirtied here: the slow path asks the host.
        stats_.fast_efault.inc();
        mmu_lock_.unlock(a);
        return Fast::Efault;
      }
      // Before the seed every GPA PTE carried write permission.
      pte = MipsPteFormat::mkdirty(pte | (sync_mmu_ ? 0 : MipsPteFormat::kWrite));
      set_pte(a, ptep, pte);
      mark_page_dirty(a, gfn);
      stats_.fast_dirty.inc();
      ret = Fast::Changed;
    }
  }
  mmu_lock_.unlock(a);
  return ret;
}

FaultOutcome MipsGpaMmu::map_page_slow(Agent& a, Addr gpa, bool write) {
  const uint64_t gfn = gpa >> kPageShift;
  stats_.slow.inc();
  for (;;) {
    uint64_t seq = 0;
    if (sync_mmu_ && notifier_) seq = notifier_->read_seq(a);
    if (between_seq_and_lock) between_seq_and_lock(a);
    // gfn_to_pfn_prot: the host page and whether it may be written. Before the seed, gfn_to_pfn
    // always asked for a writable page (breaking COW even on a read) and kept the reference.
    HostPage hp = host_.resolve(a, gfn, sync_mmu_ ? write : true);
    mmu_lock_.lock(a);
    if (sync_mmu_ && notifier_ && notifier_->retry(a, seq)) {
      // An invalidation ran since the sequence was read: the frame may already be stale.
      mmu_lock_.unlock(a);
      host_.release(a, hp);  // kvm_release_pfn_clean before the retry
      faults_.retry.inc();
      continue;
    }
    a.advance(p_.mips_map_work);
    Addr ptep = pte_for_gpa(a, gpa, true);
    const bool writable = hp.writable || !sync_mmu_;
    uint64_t pte = fmt_.make_leaf(hp.hpa & ~(kPageSize - 1), 1, Perms{true, writable, true}, true,
                                  false);
    if (writable && write) {
      pte = MipsPteFormat::mkdirty(pte);
      mark_page_dirty(a, gfn);
    }
    if (!writable) stats_.slow_readonly.inc();
    set_pte(a, ptep, pte);
    mmu_lock_.unlock(a);
    // With MMU notifiers the reference is dropped once mapped; without them KVM kept it, as
    // the host could not take the page away behind its back anyway.
    if (sync_mmu_) host_.release(a, hp);
    return FaultOutcome::Fixed;
  }
}

FaultOutcome MipsGpaMmu::handle_fault(Agent& a, int /*vcpu_id*/, const TranslationFault& f) {
  check_fault_space(f, FaultSpace::Gpa);
  const Addr gpa = f.addr;
  const Access access = f.access;
  const Cycles t0 = a.now();
  faults_.count.inc();
  a.advance(p_.fault_entry);
  const bool write = access == Access::Write;
  FaultOutcome out;
  switch (map_page_fast(a, gpa, write)) {
    case Fast::Changed:
      stats_.fast_ok.inc();
      out = FaultOutcome::Fixed;
      break;
    case Fast::Done:  // someone else fixed it meanwhile (or the TLB held an older entry)
      stats_.fast_ok.inc();
      out = FaultOutcome::Spurious;
      break;
    default:
      out = map_page_slow(a, gpa, write);
  }
  const Cycles t1 = a.now();
  faults_.record(out, t1 - t0);  // the slow path retries inside: out is Fixed or Spurious
  if (a.track() >= 0) timeline_.span(a.track(), "gpa fault", t0, t1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// MMU-notifier callbacks (mmu_lock held by the notifier)

void MipsGpaMmu::prepare_flush_remote(Agent&) { stats_.flush_shadow_all.inc(); }

void MipsGpaMmu::flush_shadow_all(Agent& a, int self) {
  stats_.flush_shadow_all.inc();
  flush_.flush_all(a, self);
}

bool MipsGpaMmu::flush_gpa_range(Agent& a, Addr table, unsigned level, Addr base,
                                 uint64_t first, uint64_t last) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  // This table's entries that meet the range (a one-table walk clipped to it): the recursion
  // below must see each lower table through before its parent entry may be cleared.
  const Addr lo = first << kPageShift, hi = (last + 1) << kPageShift;
  const Addr table_end = PtIter::table(fmt_, table, level, base).end();
  PtIter it(fmt_, table, level, std::max(lo, base), std::min(hi, table_end), level);
  // As KVM's safe_to_remove: the range reaches into the first entry and into the last one
  // (absent entries it only partly covers do not keep the table).
  bool whole = it.valid() && it.index() == 0 && it.end() > table_end - it.span();
  for (; it.valid(); it.next()) {
    const Addr ep = it.entry_addr();
    const uint64_t e = a.load(ep, MemClass::PageTable);
    if (!fmt_.present(e)) continue;
    const Addr g = it.base();
    if (level == 1) {
      set_pte(a, ep, 0);
      stats_.unmapped.inc();
      flush_.note_zap(g, kPageSize);
      // The mapping is gone legitimately: the lost-update oracle no longer expects it.
      touched_.clear(g >> kPageShift);
      continue;
    }
    if (flush_gpa_range(a, fmt_.address(e, level), level - 1, g, first, last)) {
      // The range covered the whole lower table: unlink it (its entries are all clear now).
      set_pte(a, ep, 0);
      stats_.tables_unlinked.inc();
      freed_tables_.push_back(fmt_.address(e, level));
    } else {
      whole = false;
    }
  }
  return whole;
}

void MipsGpaMmu::flush_then_free_tables(Agent& a) {
  flush_shadow_all(a, -1);
  for (Addr t : freed_tables_)
    rcu_.call_rcu(a, [this, t]() {
      pool_.free(t);
      stats_.tables_freed.inc();
    });
  freed_tables_.clear();
}

bool MipsGpaMmu::unmap_gfn_range(Agent& a, const GfnRange& r) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  if (r.end <= r.start) return false;
  flush_gpa_range(a, pgd_, fmt_.levels(), 0, r.start, r.end - 1);  // the pgd itself stays
  if (freed_tables_.empty()) return true;  // kvm_unmap_hva_range always flushes
  // Tables were unlinked: flush now, before they go to RCU; the zapped PTEs are covered too.
  flush_then_free_tables(a);
  return false;
}

uint64_t MipsGpaMmu::pte_from_host(const HostPte& p) const {
  if (!p.present) return 0;
  return fmt_.make_leaf(p.hpa & ~(kPageSize - 1), 1, Perms{true, p.writable, true}, p.young,
                        p.dirty);
}

bool MipsGpaMmu::set_spte_gfn(Agent& a, const GfnRange& r, const HostPte& hpte) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  bool flush = false;
  for (uint64_t gfn = r.start; gfn < r.end; ++gfn) {
    Addr ptep = pte_for_gpa(a, gfn << kPageShift, false);
    if (!ptep) continue;
    stats_.set_spte.inc();
    const uint64_t old = a.load(ptep, MemClass::PageTable);
    uint64_t pte = pte_from_host(hpte);
    // The GPA mapping keeps KVM's view: a page clean to KVM under dirty logging stays clean
    // (its first write must still be logged), and a read-only slot stays read-only.
    if ((r.slot->flags & kMemLogDirtyPages) && !fmt_.dirty(old))
      pte = MipsPteFormat::mkclean(pte);
    else if (r.slot->flags & kMemReadonly)
      pte = MipsPteFormat::wrprotect(pte);
    set_pte(a, ptep, pte);
    if (fmt_.present(pte)) touched_.set(gfn);
    else touched_.clear(gfn);
    // Replacing an absent or old entry needs no flush: no TLB can hold it.
    if (!fmt_.present(old) || !MipsPteFormat::young(old)) continue;
    const bool need = !fmt_.present(pte) || !MipsPteFormat::young(pte) ||
                      MipsPteFormat::pfn_bits(old) != MipsPteFormat::pfn_bits(pte) ||
                      (fmt_.dirty(old) && !fmt_.dirty(pte));
    if (need) {
      stats_.set_spte_flush.inc();
      flush_.note_zap(gfn << kPageShift, kPageSize);
      flush = true;
    }
  }
  return flush;
}

bool MipsGpaMmu::age_gfn_range(Agent& a, const GfnRange& r) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  bool young = false;
  for (uint64_t gfn = r.start; gfn < r.end; ++gfn) {
    Addr ptep = pte_for_gpa(a, gfn << kPageShift, false);
    if (!ptep) continue;
    uint64_t pte = a.load(ptep, MemClass::PageTable);
    if (!fmt_.present(pte) || !MipsPteFormat::young(pte)) continue;
    set_pte(a, ptep, MipsPteFormat::mkold(pte));
    stats_.aged.inc();
    young = true;
  }
  return young;
}

bool MipsGpaMmu::test_age_gfn(Agent& a, const GfnRange& r) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  for (uint64_t gfn = r.start; gfn < r.end; ++gfn) {
    Addr ptep = pte_for_gpa(a, gfn << kPageShift, false);
    if (!ptep) continue;
    uint64_t pte = a.load(ptep, MemClass::PageTable);
    if (fmt_.present(pte) && MipsPteFormat::young(pte)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Harness, oracle and teardown

void MipsGpaMmu::map_functional(Addr gpa, unsigned level, Addr hpa_base) {
  if (level != 1) throw ModelError("MIPS GPA table maps 4K pages only");
  PtIter it(fmt_, pgd_, gpa);
  while (it.level() > 1) {
    uint64_t e = phys_.read64(it.entry_addr());
    if (!fmt_.present(e)) {
      e = fmt_.make_table(pool_.alloc());
      stats_.tables_alloc.inc();
      phys_.write64(it.entry_addr(), e);
    }
    it.set_entry(e);
    it.descend();
  }
  phys_.write64(it.entry_addr(), fmt_.make_leaf(hpa_base, 1, Perms{true, true, true}, true, false));
}

uint64_t MipsGpaMmu::pte_functional(Addr gpa) const {
  PtIter it(fmt_, pgd_, gpa);
  while (it.level() > 1) {
    it.set_entry(phys_.read64(it.entry_addr()));
    if (!it.present()) return 0;
    it.descend();
  }
  return phys_.read64(it.entry_addr());
}

void MipsGpaMmu::visit_leaves(const LeafVisitor& visit) const {
  if (!pool_.live(pgd_)) return;
  visit_tree_leaves(fmt_, pgd_, [&](Addr e) { return phys_.read64(e); }, visit);
}

void MipsGpaMmu::free_tables(Agent& a, Addr table, unsigned level) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  if (level > 1) {
    for (PtIter it = PtIter::table(fmt_, table, level, 0); it.valid(); it.next()) {
      const uint64_t e = a.load_nosync(it.entry_addr(), MemClass::PageTable);
      if (fmt_.present(e)) free_tables(a, fmt_.address(e, level), level - 1);
    }
  }
  rcu_.call_rcu(a, [this, table]() {
    pool_.free(table);
    stats_.tables_freed.inc();
  });
}

void MipsGpaMmu::teardown(Agent& host) {
  // kvm_mips_free_gpa_pt at VM destruction: every table goes, after the readers have left.
  mmu_lock_.lock(host);
  rcu_.read_lock(host);
  free_tables(host, pgd_, fmt_.levels());
  rcu_.read_unlock(host);
  mmu_lock_.unlock(host);
  rcu_.barrier(host);
}

}  // namespace mmusim
