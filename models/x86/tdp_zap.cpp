// Zapping in the TDP MMU: whole roots (with yielding), GFN ranges across roots, "zap all",
// VM teardown; plus the untimed views the harness and the oracle use.
#include <sstream>

#include "models/x86/tdp_mmu.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

PtIter TdpMmu::walk_down(Agent& a, Addr root, Addr gpa) {
  PtIter it(fmt_, root, gpa);
  it.set_entry(read_spte(a, it.entry_addr()));
  while (it.can_descend()) {
    it.descend();
    it.set_entry(read_spte(a, it.entry_addr()));
  }
  return it;
}

bool TdpMmu::should_yield(Agent& a, unsigned& since) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  lockdep_assert_rcu(a, __func__);
  // The model's walks resume at the entry after a yield, so a yield always follows forward
  // progress (KVM needs yielded_gfn for that because its iterator restarts at the same gfn).
  ++since;
  const bool yield = (p_.zap_yield_every && since >= p_.zap_yield_every) || a.need_resched() ||
                     (p_.yield_on_contention && mmu_lock_.contended(a));
  if (yield) since = 0;  // the caller yields now
  return yield;
}

void TdpMmu::yield_lock(Agent& a, bool shared) {
  lockdep_assert_held_mode(a, mmu_lock_, shared, __func__);
  stats_.zap_yields.inc();
  rcu_.read_unlock(a);
  unlock(a, shared);
  a.wait_cycles(p_.cond_resched);
  lock(a, shared);
  rcu_.read_lock(a);
}

bool TdpMmu::zap_entry(Agent& a, const ChangeCtx& c, Addr sptep, Addr gpa, unsigned level) {
  assert_may_change(a, c, __func__);
  uint64_t old = read_spte(a, sptep);
  while (fmt_.present(old)) {
    if (c.shared) {
      uint64_t seen = a.cmpxchg(sptep, old, 0, MemClass::PageTable);
      if (seen != old) {  // someone changed it meanwhile: zap what is there now
        stats_.cmpxchg_fail.inc();
        old = seen;
        continue;
      }
    } else {
      a.store(sptep, 0, MemClass::PageTable);
    }
    a.advance(p_.spte_change_work);
    handle_changed(a, c, gpa, old, 0, level);
    return true;
  }
  return false;
}

void TdpMmu::zap_root(Agent& a, Root& r, bool shared) {
  lockdep_assert_held_mode(a, mmu_lock_, shared, __func__);
  if (++r.zaps > 1)
    oracle_.report("root_zapped_twice", a.now(), a.name(), r.table,
                   "root " + std::to_string(r.id) + " zapped " + std::to_string(r.zaps) + " times");
  stats_.root_zaps.inc();
  // The root is invalid: no vCPU can reach it, so nothing is flushed and nothing it maps is
  // expected in the final tables.
  const ChangeCtx c{-1, shared, false, false};
  const unsigned top = fmt_.levels();
  unsigned since = 0;
  rcu_.read_lock(a);
  // Zap the entries below each top-level entry first, yielding between them, then the
  // top-level entry itself (whose teardown is then cheap): long zaps let others in.
  for (PtIter t = PtIter::table(fmt_, r.table, top, 0); t.valid(); t.next()) {
    const uint64_t e = read_spte(a, t.entry_addr());
    t.set_entry(e);
    if (!t.present()) continue;
    if (!t.leaf()) {
      PtIter child = PtIter::table(fmt_, fmt_.address(e, top), top - 1, t.base());
      for (; child.valid(); child.next()) {
        maybe_yield(a, shared, since);
        // Another zapper may have removed the whole subtree while we yielded.
        if (a.load_nosync(t.entry_addr(), MemClass::PageTable) != e) break;
        zap_entry(a, c, child.entry_addr(), child.base(), top - 1);
      }
    }
    zap_entry(a, c, t.entry_addr(), t.base(), top);
  }
  rcu_.read_unlock(a);
}

size_t TdpMmu::zap_range_in_root(Agent& a, Root& r, Addr gpa, uint64_t len, bool shared) {
  lockdep_assert_held_mode(a, mmu_lock_, shared, __func__);
  const bool current = !root_invalid(r);
  const ChangeCtx c{-1, shared, current, current};
  size_t unflushed = 0;
  unsigned since = 0;
  rcu_.read_lock(a);
  for_each_walk_end(a, r.table, gpa, len, [&](PtIter& it) {
    if (it.leaf()) unflushed += zap_entry(a, c, it.entry_addr(), it.base(), it.level());
    if (!should_yield(a, since)) return;
    // Zapped leaves may still be in vCPUs' TLBs: flush before others can take mmu_lock
    // (tdp_mmu_iter_cond_resched with flush set).
    if (unflushed && current) {
      flush_.flush_range(a, -1, gpa, len);
      unflushed = 0;
    }
    yield_lock(a, shared);
  });
  rcu_.read_unlock(a);
  return unflushed;
}

void TdpMmu::zap_range(Agent& a, Addr gpa, uint64_t len) {
  stats_.range_zaps.inc();
  // A slot-walking operation (like zapping collapsible SPTEs or write-protecting a slot): mmu_lock
  // in the configured mode (for read when shared), every root still listed, valid or not;
  // for_each_tdp_mmu_root_yield_safe takes a reference to each root while it works on it. Under
  // the read lock it runs beside the zapper of invalidated roots, whose last put it can meet.
  lock(a, shared_);
  size_t unflushed = 0;
  for (size_t i = 0; i < roots_.size(); ++i) {
    Root& r = *roots_[i];
    if (!r.on_list || !get_root(a, r, false)) continue;
    unflushed += zap_range_in_root(a, r, gpa, len, shared_);
    put_root(a, r, shared_);
  }
  if (unflushed) flush_.flush_range(a, -1, gpa, len);
  unlock(a, shared_);
}

void TdpMmu::zap_all(Agent& a) {
  stats_.zap_alls.inc();
  // kvm_tdp_mmu_invalidate_all_roots under mmu_lock for write: each valid root gets a
  // reference for the zapper below and is marked invalid.
  lock(a, false);
  std::vector<Root*> invalidated;
  for (size_t i = 0; i < roots_.size(); ++i) {
    Root& r = *roots_[i];
    if (!r.on_list || !get_root(a, r, true)) continue;
    a.store(r.invalid_word, 1);
    invalidated.push_back(&r);
  }
  // Nothing mapped so far is expected in the final tables any more.
  touched_.clear_all();
  Root* vm_ref = host_root_;
  host_root_ = nullptr;
  // KVM_REQ_MMU_RELOAD to every vCPU: each drops its root before it enters the guest again.
  flush_.request_all(a, -1, kReqMmuReload);
  if (vm_ref) put_root(a, *vm_ref, false);
  unlock(a, false);
  // kvm_tdp_mmu_zap_invalidated_roots: mmu_lock for read in shared mode, yielding.
  lock(a, shared_);
  for (Root* r : invalidated) {
    zap_root(a, *r, shared_);
    put_root(a, *r, shared_);
  }
  unlock(a, shared_);
}

void TdpMmu::teardown(Agent& host) {
  // VM destruction: every vCPU's root reference and the VM's own are put; the last put of
  // each root zaps and frees it.
  lock(host, false);
  for (Root*& r : vcpu_root_)
    if (r) {
      put_root(host, *r, false);
      r = nullptr;
    }
  if (host_root_) put_root(host, *host_root_, false);
  host_root_ = nullptr;
  unlock(host, false);
  for (const auto& r : roots_)
    if (!r->freed)
      oracle_.report("leaked_root", host.now(), host.name(), r->table,
                     "root " + std::to_string(r->id) + " still has " +
                         std::to_string(phys_.read64(r->count_word)) +
                         " reference(s) after every holder put its own");
  rcu_.barrier(host);
}

void TdpMmu::map_functional(Addr gpa, unsigned level, Addr hpa_base) {
  if (!host_root_) throw ModelError("map_functional: no root");
  PtIter it(fmt_, host_root_->table, gpa);
  while (true) {
    it.set_entry(phys_.read64(it.entry_addr()));
    if (it.level() == level) break;
    if (!it.present()) {
      Addr child = pool_.alloc();
      stats_.tables_alloc.inc();
      uint64_t link = fmt_.make_table(child);
      phys_.write64(it.entry_addr(), link);
      pages_[child] = MmuPage{it.base(), it.level() - 1, heap_.alloc()};
      it.set_entry(link);
    }
    if (!it.can_descend()) throw ModelError("map_functional: a huge leaf is in the way");
    it.descend();
  }
  phys_.write64(it.entry_addr(), fmt_.make_leaf(hpa_base, level, Perms{true, true, true}, true, false));
}

void TdpMmu::visit_leaves(const LeafVisitor& visit) const {
  const Addr root = stage2_root();
  if (!root || !pool_.live(root)) return;
  visit_tree_leaves(fmt_, root, [&](Addr e) { return phys_.read64(e); }, visit);
}

}  // namespace mmusim
