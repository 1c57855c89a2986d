#include "models/x86/tdp_mmu.hpp"

#include <algorithm>
#include <sstream>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
unsigned level_of_page_size(uint64_t page_size) {
  return page_size >= (uint64_t(1) << 30) ? 3 : page_size >= (uint64_t(1) << 21) ? 2 : 1;
}
}  // namespace

TdpMmu::TdpMmu(const TdpMmuParams& p, const EptFormat& fmt, PhysMem& phys, PagePool& pool,
               HostMm& host, RemoteFlush& flush, Rcu& rcu, KernelHeap& heap, Stats& stats,
               FaultStats& faults, LockStats& mmu_lock_stats, Timeline& timeline,
               Violations& oracle, TouchedPages& touched)
    : p_(p), fmt_(fmt.levels(), fmt.ad(), EptFormat::View::Kvm), phys_(phys), pool_(pool), host_(host), flush_(flush), rcu_(rcu),
      timeline_(timeline), oracle_(oracle), touched_(touched),
      shared_(p.mmu_lock == MmuLockMode::Shared),
      max_level_(level_of_page_size(p.page_size)),
      heap_(heap),
      mmu_lock_(mmu_lock_stats, heap.alloc(), &timeline),
      pages_head_(heap.alloc()),
      pages_lock_("hv.lock.pages_lock", pages_head_ + 8, stats, &timeline),
      roots_head_(heap.alloc()),
      faults_(faults),
      stats_(stats),
      stats_registry_(stats) {
  vcpu_root_.assign(p.vcpus, nullptr);
  if (p.pml == PmlMode::On) pml_stats_ = std::make_unique<PmlStats>(stats);
  if (p.aging_stats) age_stats_ = std::make_unique<AgeStats>(stats);
  // The VM's own reference to a first root, so the harness can map guest page tables before
  // any vCPU runs (KVM would allocate it at the first vCPU's kvm_mmu_load).
  auto r = std::make_unique<Root>();
  r->id = 0;
  r->table = pool_.alloc();
  r->count_word = heap_.alloc();
  r->invalid_word = r->count_word + 8;
  r->link_word = heap_.alloc();
  r->holders = 1;
  phys_.write64(r->count_word, 1);
  pages_[r->table] = MmuPage{0, fmt_.levels(), r->link_word};
  host_root_ = r.get();
  roots_.push_back(std::move(r));
  stats_.roots_alloc.inc();
}

uint64_t TdpMmu::read_spte(Agent& a, Addr sptep) {
  if (!pool_.live(sptep)) {
    std::ostringstream d;
    d << "hypervisor read an SPTE in a freed table page";
    oracle_.report("freed_table_access", a.now(), a.name(), sptep, d.str());
  }
  return a.load(sptep, MemClass::PageTable);
}

FaultOutcome TdpMmu::handle_fault(Agent& a, int vcpu_id, const TranslationFault& f) {
  check_fault_space(f, FaultSpace::Gpa);
  const Addr gpa = f.addr;
  const Access access = f.access;
  Cycles t0 = a.now();
  faults_.count.inc();
  a.advance(p_.fault_entry);
  const bool write = access == Access::Write;
  // Without EPT A/D flags every fault may find an access-tracked SPTE (page_fault_can_be_fast).
  if (p_.ept_ad == EptAd::Off && p_.fast_fault == TdpFastFault::Lockless &&
      fast_page_fault_acc_track(a, vcpu_id, gpa, write)) {
    Cycles t1 = a.now();
    stats_.fast_fixed.inc();
    faults_.record(FaultOutcome::Fixed, t1 - t0);
    if (a.track() >= 0) timeline_.span(a.track(), "tdp fast fault (access-tracked)", t0, t1);
    return FaultOutcome::Fixed;
  }
  // Before the TDP MMU had fast_page_fault (--tdp-fast-fault slow-path) the same write takes
  // the path below: host page, mmu_lock, and map_in makes the SPTE writable (and logs it).
  if (p_.ept_ad == EptAd::On && p_.fast_fault == TdpFastFault::Lockless && write &&
      logging(gpa) &&
      fast_page_fault(a, vcpu_id, gpa)) {
    Cycles t1 = a.now();
    stats_.fast_fixed.inc();
    faults_.record(FaultOutcome::Fixed, t1 - t0);
    if (a.track() >= 0) timeline_.span(a.track(), "tdp fast fault", t0, t1);
    return FaultOutcome::Fixed;
  }
  // mmu_seq = kvm->mmu_notifier_seq, read before the host page is resolved outside mmu_lock.
  const uint64_t mmu_seq = notifier_ ? notifier_->read_seq(a) : 0;
  const uint64_t gfn = gpa >> kPageShift;
  // Whether an invalidation makes the host page this fault resolves stale (is_page_fault_stale
  // under mmu_lock; without it, the early checks of kvm_faultin_pfn).
  auto stale = [&] {
    if (!notifier_) return false;
    return p_.notifier_retry == NotifierRetry::Range ? notifier_->retry_gfn(a, mmu_seq, gfn)
                                                     : notifier_->retry(a, mmu_seq);
  };
  const bool early = notifier_ && p_.notifier_early_check == NotifierEarlyCheck::On;
  auto retry_unlocked = [&] {
    const Cycles t1 = a.now();
    stats_.early_retry.inc();
    faults_.record(FaultOutcome::Retry, t1 - t0);
    if (a.track() >= 0) timeline_.span(a.track(), "tdp fault (early retry)", t0, t1);
    return FaultOutcome::Retry;
  };
  // A gfn being invalidated: retry at once, without resolving the host page.
  if (early && stale()) return retry_unlocked();
  // Resolve the host page first, outside mmu_lock (kvm_faultin_pfn before the lock).
  Cycles th = a.now();
  HostPage hp = host_.resolve(a, gfn, write);
  Cycles tl = a.now();
  stats_.cyc_host.inc(tl - th);
  // Invalidated while it was resolved: retry without waiting for mmu_lock (the reference on
  // the page is dropped first, kvm_release_pfn_clean).
  if (early && stale()) {
    host_.release(a, hp);
    return retry_unlocked();
  }
  // A dirty-logged slot is mapped with 4 KiB pages only, so each write is logged per page.
  unsigned level = logging(gpa) ? 1 : std::min(max_level_, hp.level);
  Addr hpa_base = hp.hpa & ~(fmt_.span(level) - 1);

  lock(a, shared_);
  Cycles tm = a.now();
  stats_.cyc_lock.inc(tm - tl);
  rcu_.read_lock(a);
  FaultOutcome out;
  Root* r = vcpu_id >= 0 && size_t(vcpu_id) < vcpu_root_.size() ? vcpu_root_[size_t(vcpu_id)]
                                                                 : host_root_;
  // is_page_fault_stale: a root invalidated since the vCPU loaded it gets RET_PF_RETRY; the
  // vCPU has a reload request and will fault again on a valid root.
  if (!r || a.load(r->invalid_word) != 0) {
    out = FaultOutcome::Retry;
  } else if (stale()) {
    // An invalidation ran since the host page was resolved: it may be stale (is_page_fault_stale).
    out = FaultOutcome::Retry;
  } else {
    ChangeCtx c{vcpu_id, shared_, true, true};
    out = map_in(a, c, r->table, gpa, level, hpa_base, write, hp.writable);
  }
  rcu_.read_unlock(a);
  unlock(a, shared_);
  host_.release(a, hp);  // kvm_release_pfn_clean once the SPTE is in place (or the fault retries)
  Cycles t1 = a.now();
  stats_.cyc_map.inc(t1 - tm);

  faults_.record(out, t1 - t0);
  if (a.track() >= 0) timeline_.span(a.track(), out == FaultOutcome::Retry ? "tdp fault (retry)" : "tdp fault", t0, t1);
  return out;
}

FaultOutcome TdpMmu::map(Agent& a, int vcpu_id, Addr gpa, unsigned level, Addr hpa_base,
                         bool write, bool writable) {
  lockdep_assert_held_mode(a, mmu_lock_, shared_, __func__);
  lockdep_assert_rcu(a, __func__);
  ChangeCtx c{vcpu_id, shared_, true, true};
  return map_in(a, c, host_root_ ? host_root_->table : stage2_root(), gpa, level, hpa_base, write,
                writable);
}

FaultOutcome TdpMmu::map_in(Agent& a, const ChangeCtx& c, Addr root, Addr gpa, unsigned level,
                            Addr hpa_base, bool write, bool writable) {
  lockdep_assert_held_mode(a, mmu_lock_, c.shared, __func__);
  lockdep_assert_rcu(a, __func__);
  const int vcpu_id = c.vcpu_id;
  a.advance(p_.tdp_map_work);
  PtIter it(fmt_, root, gpa);
  while (true) {
    it.set_entry(read_spte(a, it.entry_addr()));
    // Another thread owns this entry for a change of its own (a removed table being torn down, a
    // huge leaf being zapped): give up and let the vCPU fault again rather than build a table no
    // one could link (docs/KVM_RELEASES.md, removed SPTEs). Never seen with --removed-spte off.
    if (is_frozen(it.entry())) {
      stats_.frozen_retry.inc();
      return FaultOutcome::Retry;
    }
    if (it.level() == level) break;
    if (it.leaf() && p_.huge_split == HugeSplitOnFault::Split) {
      // A huge mapping covers the range but the fault wants a smaller one: split it in place.
      if (!split_huge_leaf(a, c, it, alloc_table(a))) break;
      stats_.huge_split_in_place.inc();
    } else if (it.leaf()) {
      // Before the split on fault (6.2): zap it, flush it from every TLB, then read the entry
      // again (someone may have linked a table meanwhile).
      // Under the read lock with removed SPTEs the leaf stays frozen until the flush is done,
      // so nobody installs a new translation beside the old one still in TLBs
      // (tdp_mmu_zap_spte_atomic).
      const bool freeze = c.shared && p_.removed_spte == RemovedSpte::On;
      if (!set_spte(a, c, it, freeze ? kFrozenSpte : 0)) break;
      stats_.huge_zapped.inc();
      flush_.flush_range(a, vcpu_id, it.base(), it.span());
      // Frozen to 0 is non-present to non-present: a plain store, nothing to account.
      if (freeze) a.store(it.entry_addr(), 0, MemClass::PageTable);
      it.set_entry(read_spte(a, it.entry_addr()));
    }
    if (!it.present() && !link_table(a, c, it, alloc_table(a))) break;
    if (!it.can_descend()) break;
    it.descend();
  }
  if (it.level() != level) return FaultOutcome::Retry;

  Perms p{true, writable, true};
  // Without EPT A/D flags KVM sets neither flag (its accessed/dirty masks are 0).
  const bool ad = p_.ept_ad == EptAd::On;
  uint64_t leaf = fmt_.make_leaf(hpa_base, level, p, ad, ad && write && writable);
  if (writable) leaf |= kHostWritable | kMmuWritable;
  // A present leaf for the same frame whose only difference is the dirty bit we would set on a
  // read is the same mapping: KVM compares the whole SPTE, so do we.
  if (leaf == it.entry()) return FaultOutcome::Spurious;
  // An access-tracked leaf (--ept-ad off, slow path) is replaced: the walker sees no entry.
  if (fmt_.present(it.entry()) && it.leaf() && fmt_.address(it.entry(), level) == hpa_base &&
      !write && !EptFormat::acc_tracked(it.entry()))
    return FaultOutcome::Spurious;
  if (!set_spte(a, c, it, leaf)) return FaultOutcome::Retry;
  return FaultOutcome::Fixed;
}

bool TdpMmu::link_table(Agent& a, const ChangeCtx& c, PtIter& it, Addr child) {
  const uint64_t link = fmt_.make_table(child);
  if (c.shared) {
    if (!set_spte(a, c, it, link)) {
      // Lost the race to install this table: it was never visible, free it now.
      pool_.free(child);
      stats_.tables_unused.inc();
      return false;
    }
    link_page(a, child, it.base(), it.level() - 1, true);
  } else {
    link_page(a, child, it.base(), it.level() - 1, false);
    set_spte(a, c, it, link);
  }
  return true;
}

bool TdpMmu::set_spte(Agent& a, const ChangeCtx& c, PtIter& it, uint64_t new_spte) {
  assert_may_change(a, c, __func__);
  uint64_t old = it.entry();
  if (c.shared) {
    // A frozen SPTE is changed only by the thread that froze it (tdp_mmu_set_spte_atomic).
    if (is_frozen(old)) return false;
    uint64_t seen = a.cmpxchg(it.entry_addr(), old, new_spte, MemClass::PageTable);
    if (seen != old) {
      stats_.cmpxchg_fail.inc();
      return false;
    }
  } else {
    a.store(it.entry_addr(), new_spte, MemClass::PageTable);
  }
  it.set_entry(new_spte);
  a.advance(p_.spte_change_work);
  handle_changed(a, c, it.base(), old, new_spte, it.level());
  return true;
}

void TdpMmu::handle_changed(Agent& a, const ChangeCtx& c, Addr gpa, uint64_t old_spte,
                            uint64_t new_spte, unsigned level) {
  assert_may_change(a, c, __func__);
  bool was_present = fmt_.present(old_spte);
  bool is_present = fmt_.present(new_spte);
  // handle_changed_spte_dirty_log: a 4K leaf that becomes writable in a logged slot is a page
  // the guest is about to write.
  if (c.current && level == 1 && is_present && fmt_.perms(new_spte).write &&
      !(was_present && fmt_.perms(old_spte).write) && logging(gpa))
    mark_dirty(a, c.vcpu_id, gpa);
  if (!was_present) return;
  bool was_leaf = fmt_.is_leaf(old_spte, level);
  bool pfn_changed = !is_present || fmt_.address(old_spte, level) != fmt_.address(new_spte, level) ||
                     fmt_.is_leaf(new_spte, level) != was_leaf;
  if (was_leaf) {
    // A huge leaf replaced by a table of the same translations (split in place): every cached
    // translation stays right, nothing is stale and no page leaves the tables.
    if (is_present && !fmt_.is_leaf(new_spte, level)) return;
    bool downgraded = is_present && fmt_.perms(old_spte).write && !fmt_.perms(new_spte).write;
    if (c.flush && (pfn_changed || downgraded)) flush_.note_zap(gpa, fmt_.span(level));
    // A removed leaf of the root vCPUs use is no longer expected in the final tables.
    if (c.current && !is_present) touched_.clear_range(gpa >> kPageShift, fmt_.span(level) >> kPageShift);
    return;
  }
  if (pfn_changed) {
    if (is_present) stats_.huge_collapse.inc();
    handle_removed_table(a, c, fmt_.address(old_spte, level), gpa, level - 1);
  }
}

void TdpMmu::handle_removed_table(Agent& a, const ChangeCtx& c, Addr table, Addr gpa,
                                  unsigned level) {
  assert_may_change(a, c, __func__);
  lockdep_assert_rcu(a, __func__);
  unlink_page(a, table, c.shared);
  // With removed SPTEs each entry ends frozen, so a thread still walking the removed table
  // retries instead of installing into it; before, each ends 0 (docs/KVM_RELEASES.md).
  const bool frozen = p_.removed_spte == RemovedSpte::On;
  const uint64_t dead = frozen ? kFrozenSpte : 0;
  for (PtIter it = PtIter::table(fmt_, table, level, gpa); it.valid(); it.next()) {
    const Addr sptep = it.entry_addr();
    uint64_t old;
    if (c.shared) {
      // Other threads may still be changing entries of the removed table: take each value
      // atomically so no concurrent update is lost. An entry another thread has frozen is
      // about to be set by that thread: exchange again until the value read back is its own
      // (handle_removed_pt's loop), so the change is not lost either.
      old = a.xchg(sptep, dead, MemClass::PageTable);
      stats_.teardown_xchg.inc();
      while (frozen && is_frozen(old)) {
        stats_.teardown_frozen_wait.inc();
        old = a.xchg(sptep, dead, MemClass::PageTable);
        stats_.teardown_xchg.inc();
      }
    } else {
      old = a.load_nosync(sptep, MemClass::PageTable);
      // Under the write lock nothing can make a non-present entry present, so the frozen form
      // skips those (KVM's "Skip !MMU-present SPTEs when removing SP in exclusive mode", posted
      // for 5.12's removed SPTEs); 5.10 and 5.11 stored 0 to every entry.
      if (!frozen || fmt_.present(old)) {
        a.store(sptep, dead, MemClass::PageTable);
        stats_.teardown_store.inc();
      }
    }
    handle_changed(a, c, it.base(), old, dead, level);
  }
  if (c.flush) {
    flush_.note_zap(gpa, fmt_.span(level + 1));
    flush_.flush_range(a, c.vcpu_id, gpa, fmt_.span(level + 1));
  }
  // Walkers and other threads may still hold pointers into the table: free it only after
  // every reader has left its RCU read-side section.
  rcu_.call_rcu(a, [this, table]() {
    pool_.free(table);
    stats_.tables_freed.inc();
  });
}

Addr TdpMmu::alloc_table(Agent& a) {
  a.advance(p_.page_alloc);
  stats_.tables_alloc.inc();
  return pool_.alloc();
}

void TdpMmu::link_page(Agent& a, Addr table, Addr gpa, unsigned level, bool shared) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  Addr link = heap_.alloc();
  if (shared) pages_lock_.lock(a);
  // list_add: the new page's link and the list head are written.
  a.store(link, pages_head_);
  a.store(pages_head_, link);
  pages_[table] = MmuPage{gpa, level, link};
  if (shared) pages_lock_.unlock(a);
}

void TdpMmu::unlink_page(Agent& a, Addr table, bool shared) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  auto itp = pages_.find(table);
  if (itp == pages_.end()) throw ModelError("TDP MMU: unlinking a table that is not linked");
  if (shared) pages_lock_.lock(a);
  // list_del: the neighbours' links are rewritten; model it as a write of the page's link.
  a.store(itp->second.link_word, 0);
  pages_.erase(itp);
  if (shared) pages_lock_.unlock(a);
}

}  // namespace mmusim
