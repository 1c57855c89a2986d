#include "models/arm64/stage2_mmu.hpp"

#include <algorithm>

#include "sim/core/error.hpp"
#include "sim/hv/mmu_notifier.hpp"

namespace mmusim {

namespace {
unsigned level_of_page_size(uint64_t page_size) {
  return page_size >= (uint64_t(1) << 30) ? 3 : page_size >= (uint64_t(1) << 21) ? 2 : 1;
}
}  // namespace

Stage2Mmu::Stage2Mmu(const Stage2MmuParams& p, ArchDeps& d, const Arm64S2Format& fmt)
    : p_(p), fmt_(fmt), phys_(d.phys), pool_(d.pool), host_(d.host), flush_(d.flush),
      rcu_(d.rcu), timeline_(d.timeline), oracle_(d.oracle),
      shared_(p.mmu_lock == MmuLockMode::Shared),
      max_level_(level_of_page_size(p.page_size)),
      fault_cmo_(p.cmo_policy != CmoPolicy::None && !p.fwb),
      lock_entries_(shared_ || p.exclusive_break == S2ExclusiveBreak::Locked),
      mmu_lock_("hv.lock.mmu_lock", d.heap.alloc(), d.stats, &d.timeline),
      heap_(d.heap), touched_(d.touched),
      faults_(d.faults),
      stats_(d.stats) {
  if (p.eager_split_chunk) split_stats_ = std::make_unique<EagerSplitStats>(d.stats);
  // Concatenated start-level tables must be contiguous and aligned to their total size.
  const unsigned n = fmt_.root_pages();
  root_ = pool_.alloc();
  for (unsigned i = 1; i < n; ++i)
    if (pool_.alloc() != root_ + Addr(i) * kPageSize)
      throw ModelError("arm64 stage 2: concatenated root tables are not contiguous");
  if (root_ & (Addr(n) * kPageSize - 1))
    throw ModelError("arm64 stage 2: concatenated root tables are not aligned");
}

uint64_t Stage2Mmu::read_pte(Agent& a, Addr ptep) {
  if (!pool_.live(ptep))
    oracle_.report("freed_table_access", a.now(), a.name(), ptep,
                   "hypervisor read a stage-2 descriptor in a freed table page");
  return a.load(ptep, MemClass::PageTable);
}

void Stage2Mmu::lock(Agent& a) {
  if (shared_) mmu_lock_.read_lock(a); else mmu_lock_.write_lock(a);
}

void Stage2Mmu::unlock(Agent& a) {
  if (shared_) mmu_lock_.read_unlock(a); else mmu_lock_.write_unlock(a);
}

Addr Stage2Mmu::load_root(Agent& a, int vcpu_id) {
  if (run_hook_) run_hook_(a, vcpu_id);
  return root_;
}

FaultOutcome Stage2Mmu::handle_fault(Agent& a, int vcpu_id, const TranslationFault& f) {
  check_fault_space(f, FaultSpace::Gpa);
  const Addr gpa = f.addr;
  const Access access = f.access;
  const Cycles t0 = a.now();
  faults_.count.inc();
  a.advance(p_.fault_entry);
  if (gpa >> fmt_.ipa_bits())
    throw ModelError("arm64 stage-2 fault beyond the IPA size (--ipa-bits)");
  const bool write = access == Access::Write;
  // mmu_seq = kvm->mmu_invalidate_seq before the host page is resolved outside the lock.
  const uint64_t mmu_seq = notifier_ ? notifier_->read_seq(a) : 0;
  // gfn_to_pfn_prot before mmu_lock: a host fault may sleep.
  const HostPage hp = host_.resolve(a, gpa >> kPageShift, write);
  // While the slot logs dirty pages every mapping is a 4 KiB page (force_pte), and only a
  // write fault gets write permission: the first write to each page must fault to be logged.
  const bool log = logging(gpa);
  const unsigned level = log ? 1 : std::min(max_level_, hp.level);
  const Addr hpa_base = hp.hpa & ~(fmt_.span(level) - 1);
  // KVM gives write when the host page is writable, execute only to an instruction fetch (a
  // later fetch from the page relaxes the mapping).
  const Perms prot{true, hp.writable && (write || !log), access == Access::Fetch};

  lock(a);
  rcu_.read_lock(a);
  FaultOutcome out = FaultOutcome::Retry;
  // mmu_invalidate_retry: an invalidation ran since mmu_seq was read, the page may be stale.
  if (!notifier_ || !notifier_->retry(a, mmu_seq)) {
    // Before 5.14 user_mem_abort cleaned the frame before the walk, whatever the walk found.
    const bool early = fault_cmo_ && p_.fault_cmo == S2FaultCmo::BeforeMap;
    if (early) clean_inval_poc(a, hpa_base, fmt_.span(level));
    out = map(a, vcpu_id, gpa, level, hpa_base, prot, write, fault_cmo_ && !early);
  }
  rcu_.read_unlock(a);
  unlock(a);
  host_.release(a, hp);  // kvm_release_faultin_page after the unlock
  // mark_page_dirty_in_slot for every mapping made writable while logging (to the vCPU's
  // dirty ring when the VM has one).
  if (out == FaultOutcome::Fixed && log && prot.write && !dirty_ring_push(a, vcpu_id, gpa))
    mark_dirty(a, gpa);

  const Cycles t1 = a.now();
  faults_.record(out, t1 - t0);
  if (a.track() >= 0)
    timeline_.span(a.track(), out == FaultOutcome::Retry ? "stage-2 abort (retry)" : "stage-2 abort",
                   t0, t1);
  return out;
}

FaultOutcome Stage2Mmu::map(Agent& a, int vcpu_id, Addr gpa, unsigned level, Addr hpa_base,
                            Perms prot, bool write, bool cmo) {
  lockdep_assert_held_mode(a, mmu_lock_, shared_, __func__);
  lockdep_assert_rcu(a, __func__);
  a.advance(p_.s2_map_work);
  const Addr page_hpa = hpa_base + ((gpa & (fmt_.span(level) - 1)) & ~(kPageSize - 1));
  PtIter it(fmt_, root_, gpa);
  while (true) {
    it.set_entry(read_pte(a, it.entry_addr()));
    if (fmt_.locked(it.entry())) {  // another thread is changing it: back off (-EAGAIN)
      if (cmo && it.level() == level) stats_.cmo_skipped_by_loser.inc();
      return FaultOutcome::Retry;
    }
    if (it.leaf()) {
      // A leaf already covers the address (maybe a block above the wanted level). If it maps
      // the right frame this is a permission fault or a race someone else already fixed.
      const Addr mapped = fmt_.address(it.entry(), it.level()) +
                          ((gpa & (it.span() - 1)) & ~(kPageSize - 1));
      // While logging, a block is never relaxed: the write maps one page instead (the block
      // is broken and replaced by a table below), so the other pages still fault to be logged.
      const bool fits = it.level() == level || (it.level() > level && !logging(gpa));
      if (mapped == page_hpa && fits) {
        const Perms have = fmt_.perms(it.entry());
        const Perms want{have.read || prot.read, have.write || prot.write, have.exec || prot.exec};
        if (want == have) return FaultOutcome::Spurious;
        // Relaxation in place (kvm_pgtable_stage2_relax_perms): widening rights needs no BBM.
        if (!set_pte(a, it, fmt_.relax(it.entry(), want))) {
          // -EAGAIN: another vCPU changed the entry first. The TLB entry this vCPU faulted on
          // may be stale, so from 6.7 it is invalidated all the same (with a local TLBI the
          // winner's invalidation did not reach this core).
          stats_.relax_lost.inc();
          if (p_.relax_race_tlbi == S2RelaxRaceTlbi::Always) relax_tlbi(a, vcpu_id, gpa);
          return FaultOutcome::Retry;
        }
        stats_.perm_relax.inc();
        relax_tlbi(a, vcpu_id, gpa);
        return FaultOutcome::Fixed;
      }
    }
    if (it.level() == level) break;
    if (!it.present() || it.leaf()) {
      // An empty entry, or a block in the way (while logging, a write maps 4 KiB: force_pte):
      // link a new table (stage2_map_walk_leaf). The table page is taken from the vCPU's cache
      // first; then the entry is locked (in shared mode, and from 6.2 in exclusive mode too)
      // or, for a block, broken -- its translation invalidated everywhere -- and the table
      // linked. The block's other pages are not mapped: each faults on its own first use.
      const bool block = it.leaf();
      const Addr child = alloc_table(a);
      if (((block || lock_entries_) && !break_pte(a, vcpu_id, it)) ||
          !set_pte(a, it, fmt_.make_table(child))) {
        pool_.free(child);  // never visible to anyone
        stats_.tables_unused.inc();
        return FaultOutcome::Retry;
      }
      if (block && logging(gpa)) stats_.split.inc();
    }
    it.descend();
  }
  // stage2_map_walker_try_leaf: the entry is locked before the CMOs, so in shared mode only
  // the thread that wins it cleans the frame; exclusive mode (the lock held for write) stores
  // the marker too from 6.2, and before it breaks only a valid entry and stores into an empty
  // one.
  if ((it.present() || lock_entries_) && !break_pte(a, vcpu_id, it)) {
    if (cmo) stats_.cmo_skipped_by_loser.inc();
    return FaultOutcome::Retry;
  }
  if (cmo) clean_inval_poc(a, hpa_base, fmt_.span(level));
  // The install is a cmpxchg from our locked marker in shared mode (KVM stores it): a removed
  // table's entries are taken by free_subtree at once here, not after a grace period.
  if (!set_pte(a, it, fmt_.make_leaf(hpa_base, level, prot, true, write && prot.write)))
    return FaultOutcome::Retry;
  return FaultOutcome::Fixed;
}

bool Stage2Mmu::set_pte(Agent& a, PtIter& it, uint64_t v) {
  lockdep_assert_may_change(a, mmu_lock_, shared_, __func__);
  if (shared_) {
    const uint64_t seen = a.cmpxchg(it.entry_addr(), it.entry(), v, MemClass::PageTable);
    if (seen != it.entry()) {
      stats_.cmpxchg_fail.inc();
      return false;
    }
  } else {
    a.store(it.entry_addr(), v, MemClass::PageTable);
  }
  it.set_entry(v);
  a.advance(p_.spte_change_work);
  return true;
}

bool Stage2Mmu::break_pte(Agent& a, int vcpu_id, PtIter& it) {
  lockdep_assert_may_change(a, mmu_lock_, shared_, __func__);
  lockdep_assert_rcu(a, __func__);
  const uint64_t old = it.entry();
  // Before 6.2 exclusive mode cleared a valid entry to 0 (kvm_clear_pte); no one else walks
  // the tables meanwhile, so both are just invalid to the hardware walker.
  const uint64_t marker = lock_entries_ ? Arm64S2Format::kInvalidLocked : 0;
  if (!set_pte(a, it, marker)) return false;
  if (marker != 0) stats_.entry_locked.inc();
  if (!fmt_.present(old)) return true;  // an empty entry locked: no translation to remove
  stats_.bbm.inc();
  const bool was_table = !fmt_.is_leaf(old, it.level());
  flush_.note_zap(it.base(), it.span());
  // TLBI by IPA (+DSB) before anything new may be written at this IPA: one TLBI with the
  // leaf's level for a page or a block (__kvm_tlb_flush_vmid_ipa), the range for a table.
  flush_.flush_range(a, vcpu_id, it.base(), it.span(),
                     was_table ? TlbiShape::PerPage : TlbiShape::OneLeaf);
  if (was_table) free_subtree(a, fmt_.address(old, it.level()), it.level() - 1, shared_);
  return true;
}

void Stage2Mmu::relax_tlbi(Agent& a, int vcpu_id, Addr gpa) {
  stats_.relax_tlbi.inc();
  // Nothing was removed (no note_zap): a stale entry has fewer rights and only faults again.
  if (p_.relax_tlbi == S2RelaxTlbi::Local)
    flush_.flush_current(a, vcpu_id);  // the faulting core, before it re-enters the guest
  else
    flush_.flush_range(a, vcpu_id, gpa & ~(kPageSize - 1), kPageSize);
}

void Stage2Mmu::unmap_cmo(Agent& a, uint64_t old, unsigned level) {
  if (!fault_cmo_ || !fmt_.present(old)) return;
  stats_.unmap_cmo.inc();
  clean_inval_poc(a, fmt_.address(old, level), fmt_.span(level));
}

void Stage2Mmu::free_subtree(Agent& a, Addr table, unsigned level, bool shared) {
  lockdep_assert_may_change(a, mmu_lock_, shared, __func__);
  // Threads that descended before the break may still update entries of the removed table:
  // take each one atomically in shared mode so nothing they do is lost unnoticed.
  for (PtIter it = PtIter::table(fmt_, table, level, 0); it.valid(); it.next()) {
    const Addr ptep = it.entry_addr();
    const uint64_t old = shared ? a.xchg(ptep, 0, MemClass::PageTable)
                                : a.load_nosync(ptep, MemClass::PageTable);
    if (fmt_.present(old) && !fmt_.is_leaf(old, level))
      free_subtree(a, fmt_.address(old, level), level - 1, shared);
  }
  rcu_.call_rcu(a, [this, table]() {
    pool_.free(table);
    stats_.tables_freed.inc();
  });
}

Addr Stage2Mmu::alloc_table(Agent& a) {
  a.advance(p_.page_alloc);
  stats_.tables_alloc.inc();
  return pool_.alloc();
}

void Stage2Mmu::clean_inval_poc(Agent& a, Addr hpa, uint64_t len) {
  a.sync();  // other agents' caches change: do it at true time
  const Cycles t0 = a.now();
  a.cmo(hpa, len, MemOp::CmoCleanInval);
  stats_.cmo_ops.inc();
  stats_.cmo_lines.inc((len + kLineSize - 1) / kLineSize);
  stats_.cmo_cycles.inc(a.now() - t0);
}

void Stage2Mmu::flush_dcache_range(Agent& a, Addr gpa, uint64_t len) {
  lock(a);
  if (p_.fwb) {  // kvm_pgtable_stage2_flush returns before walking: nothing to clean
    unlock(a);
    return;
  }
  rcu_.read_lock(a);
  const Addr end = gpa + len;
  // Each walk is for it.addr(): gpa, then the end of the previous walk's entry.
  for_each_walk_end(PtIter::range(fmt_, root_, gpa, end), [&](Addr e) { return read_pte(a, e); },
                    [&](PtIter& it) {
                      if (!it.leaf()) return;
                      const Addr g = it.addr(), next = std::min(end, it.base() + it.span());
                      const Addr frame = fmt_.address(it.entry(), it.level()) + (g - it.base());
                      clean_inval_poc(a, frame, next - g);
                    });
  rcu_.read_unlock(a);
  unlock(a);
}

void Stage2Mmu::for_each_leaf(Agent& a, Addr gpa, uint64_t len,
                              const std::function<void(PtIter&)>& f) {
  mmusim::for_each_walk_end(PtIter::range(fmt_, root_, gpa, gpa + len),
                            [&](Addr e) { return read_pte(a, e); }, [&](PtIter& it) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  lockdep_assert_rcu(a, __func__);
                              if (it.leaf()) f(it);
                            });
}

void Stage2Mmu::teardown(Agent& host) {
  // kvm_free_stage2_pgd: mmu_lock for write, every table freed (after RCU), the VMID flushed.
  mmu_lock_.write_lock(host);
  rcu_.read_lock(host);
  const unsigned top = fmt_.levels();
  for (PtIter it = PtIter::table(fmt_, root_, top, 0); it.valid(); it.next()) {
    const Addr ptep = it.entry_addr();
    const uint64_t old = host.load_nosync(ptep, MemClass::PageTable);
    if (!fmt_.present(old)) continue;
    host.store(ptep, 0, MemClass::PageTable);
    flush_.note_zap(it.base(), it.span());
    if (!fmt_.is_leaf(old, top)) free_subtree(host, fmt_.address(old, top), top - 1, false);
  }
  flush_.flush_all(host, -1);
  rcu_.read_unlock(host);
  mmu_lock_.write_unlock(host);
  free_split_cache();  // kvm_uninit_stage2_mmu
  const Addr root = root_;
  const unsigned n = fmt_.root_pages();
  rcu_.call_rcu(host, [this, root, n]() {
    for (unsigned i = 0; i < n; ++i) pool_.free(root + Addr(i) * kPageSize);
    stats_.tables_freed.inc(n);
  });
  rcu_.barrier(host);
}

void Stage2Mmu::map_functional(Addr gpa, unsigned level, Addr hpa_base) {
  PtIter it(fmt_, root_, gpa);
  while (true) {
    it.set_entry(phys_.read64(it.entry_addr()));
    if (it.level() == level) break;
    if (!it.present()) {
      const Addr child = pool_.alloc();
      stats_.tables_alloc.inc();
      phys_.write64(it.entry_addr(), fmt_.make_table(child));
      it.set_entry(fmt_.make_table(child));
    }
    if (!it.can_descend()) throw ModelError("arm64 map_functional: a block is in the way");
    it.descend();
  }
  phys_.write64(it.entry_addr(),
                fmt_.make_leaf(hpa_base, level, Perms{true, true, true}, true, false));
}

void Stage2Mmu::visit_leaves(const LeafVisitor& visit) const {
  if (!pool_.live(root_)) return;
  visit_tree_leaves(fmt_, root_, [&](Addr e) { return phys_.read64(e); }, visit);
}

}  // namespace mmusim
