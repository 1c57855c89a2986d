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

TdpMmu::TdpMmu(const SimConfig& cfg, const EptFormat& fmt, PhysMem& phys, PagePool& pool,
               HostMm& host, RemoteFlush& flush, Rcu& rcu, KernelHeap& heap, Stats& stats,
               Timeline& timeline, Violations& oracle)
    : cfg_(cfg), fmt_(fmt), phys_(phys), pool_(pool), host_(host), flush_(flush), rcu_(rcu),
      stats_(stats), timeline_(timeline), oracle_(oracle),
      shared_(cfg.mmu_lock == "shared"),
      max_level_(level_of_page_size(cfg.page_size)),
      heap_(heap),
      mmu_lock_("hv.lock.mmu_lock", heap.alloc(), stats, &timeline),
      pages_head_(heap.alloc()),
      pages_lock_("hv.lock.pages_lock", pages_head_ + 8, stats, &timeline),
      root_(pool.alloc()),
      faults_(stats.counter("hv.fault.count")),
      fixed_(stats.counter("hv.fault.fixed")),
      retries_(stats.counter("hv.fault.retry")),
      spurious_(stats.counter("hv.fault.spurious")),
      cmpxchg_fail_(stats.counter("hv.spte.cmpxchg_fail")),
      tables_alloc_(stats.counter("hv.tables.allocated")),
      tables_freed_(stats.counter("hv.tables.freed_rcu")),
      tables_unused_(stats.counter("hv.tables.freed_unlinked")),
      huge_split_(stats.counter("hv.huge.zapped_for_table")),
      huge_collapse_(stats.counter("hv.huge.replaced_table")),
      teardown_xchg_(stats.counter("hv.spte.teardown_xchg")),
      teardown_store_(stats.counter("hv.spte.teardown_store")),
      latency_(stats.histogram("hv.fault.latency")),
      cyc_host_(stats.counter("hv.fault.cycles.host_page")),
      cyc_lock_(stats.counter("hv.fault.cycles.lock_wait")),
      cyc_map_(stats.counter("hv.fault.cycles.map")) {
  pages_[root_] = MmuPage{0, fmt_.levels(), heap_.alloc()};
}

uint64_t TdpMmu::read_spte(Agent& a, Addr sptep) {
  if (!pool_.live(sptep)) {
    std::ostringstream d;
    d << "hypervisor read an SPTE in a freed table page";
    oracle_.report("freed_table_access", a.now(), a.name(), sptep, d.str());
  }
  return a.load(sptep, MemClass::PageTable);
}

FaultOutcome TdpMmu::handle_fault(Agent& a, int vcpu_id, Addr gpa, Access access) {
  Cycles t0 = a.now();
  faults_.inc();
  a.advance(cfg_.lat.fault_entry);
  const bool write = access == Access::Write;
  // Resolve the host page first, outside mmu_lock (kvm_faultin_pfn before the lock).
  Cycles th = a.now();
  HostPage hp = host_.resolve(a, gpa >> kPageShift, write);
  Cycles tl = a.now();
  cyc_host_.inc(tl - th);
  unsigned level = std::min(max_level_, hp.level);
  Addr hpa_base = hp.hpa & ~(fmt_.span(level) - 1);

  if (shared_) mmu_lock_.read_lock(a); else mmu_lock_.write_lock(a);
  Cycles tm = a.now();
  cyc_lock_.inc(tm - tl);
  rcu_.read_lock(a);
  FaultOutcome out = map(a, vcpu_id, gpa, level, hpa_base, write, hp.writable);
  rcu_.read_unlock(a);
  if (shared_) mmu_lock_.read_unlock(a); else mmu_lock_.write_unlock(a);
  Cycles t1 = a.now();
  cyc_map_.inc(t1 - tm);

  switch (out) {
    case FaultOutcome::Fixed: fixed_.inc(); break;
    case FaultOutcome::Retry: retries_.inc(); break;
    case FaultOutcome::Spurious: spurious_.inc(); break;
    case FaultOutcome::Emulate: break;
  }
  latency_.sample(t1 - t0);
  if (a.track() >= 0) timeline_.span(a.track(), out == FaultOutcome::Retry ? "tdp fault (retry)" : "tdp fault", t0, t1);
  return out;
}

FaultOutcome TdpMmu::map(Agent& a, int vcpu_id, Addr gpa, unsigned level, Addr hpa_base,
                         bool write, bool writable) {
  a.advance(cfg_.lat.tdp_map_work);
  PtIter it(fmt_, root_, gpa);
  while (true) {
    it.set_entry(read_spte(a, it.entry_addr()));
    if (it.level() == level) break;
    if (it.leaf()) {
      // A huge mapping covers the range but the fault wants a smaller one: zap it, flush it
      // from every TLB, then read the entry again (someone may have linked a table meanwhile).
      if (!set_spte(a, vcpu_id, it, 0)) break;
      huge_split_.inc();
      flush_.flush_range(a, vcpu_id, it.base(), it.span());
      it.set_entry(read_spte(a, it.entry_addr()));
    }
    if (!it.present()) {
      Addr child = alloc_table(a);
      uint64_t link = fmt_.make_table(child);
      if (shared_) {
        if (!set_spte(a, vcpu_id, it, link)) {
          // Lost the race to install this table: it was never visible, free it now.
          pool_.free(child);
          tables_unused_.inc();
          break;
        }
        link_page(a, child, it.base(), it.level() - 1, true);
      } else {
        link_page(a, child, it.base(), it.level() - 1, false);
        set_spte(a, vcpu_id, it, link);
      }
    }
    if (!it.can_descend()) break;
    it.descend();
  }
  if (it.level() != level) return FaultOutcome::Retry;

  Perms p{true, writable, true};
  uint64_t leaf = fmt_.make_leaf(hpa_base, level, p, true, write && writable);
  // A present leaf for the same frame whose only difference is the dirty bit we would set on a
  // read is the same mapping: KVM compares the whole SPTE, so do we.
  if (leaf == it.entry()) return FaultOutcome::Spurious;
  if (fmt_.present(it.entry()) && it.leaf() && fmt_.address(it.entry(), level) == hpa_base &&
      !write)
    return FaultOutcome::Spurious;
  if (!set_spte(a, vcpu_id, it, leaf)) return FaultOutcome::Retry;
  return FaultOutcome::Fixed;
}

bool TdpMmu::set_spte(Agent& a, int vcpu_id, PtIter& it, uint64_t new_spte) {
  uint64_t old = it.entry();
  if (shared_) {
    uint64_t seen = a.cmpxchg(it.entry_addr(), old, new_spte, MemClass::PageTable);
    if (seen != old) {
      cmpxchg_fail_.inc();
      return false;
    }
  } else {
    a.store(it.entry_addr(), new_spte, MemClass::PageTable);
  }
  it.set_entry(new_spte);
  a.advance(cfg_.lat.spte_change_work);
  handle_changed(a, vcpu_id, it.base(), old, new_spte, it.level(), shared_);
  return true;
}

void TdpMmu::handle_changed(Agent& a, int vcpu_id, Addr gpa, uint64_t old_spte,
                            uint64_t new_spte, unsigned level, bool shared) {
  bool was_present = fmt_.present(old_spte);
  bool is_present = fmt_.present(new_spte);
  if (!was_present) return;
  bool was_leaf = fmt_.is_leaf(old_spte, level);
  bool pfn_changed = !is_present || fmt_.address(old_spte, level) != fmt_.address(new_spte, level) ||
                     fmt_.is_leaf(new_spte, level) != was_leaf;
  if (was_leaf) {
    bool downgraded = is_present && fmt_.perms(old_spte).write && !fmt_.perms(new_spte).write;
    if (pfn_changed || downgraded) flush_.note_zap(gpa, fmt_.span(level));
    return;
  }
  if (pfn_changed) {
    if (is_present) huge_collapse_.inc();
    handle_removed_table(a, vcpu_id, fmt_.address(old_spte, level), gpa, level - 1, shared);
  }
}

void TdpMmu::handle_removed_table(Agent& a, int vcpu_id, Addr table, Addr gpa, unsigned level,
                                  bool shared) {
  unlink_page(a, table, shared);
  const unsigned n = 1u << fmt_.index_bits();
  for (unsigned i = 0; i < n; ++i) {
    Addr sptep = table + Addr(i) * 8;
    uint64_t old;
    if (shared) {
      // Other threads may still be changing entries of the removed table: take each value
      // atomically so no concurrent update is lost.
      old = a.xchg(sptep, 0, MemClass::PageTable);
      teardown_xchg_.inc();
    } else {
      old = a.load_nosync(sptep, MemClass::PageTable);
      if (old) {
        a.store(sptep, 0, MemClass::PageTable);
        teardown_store_.inc();
      }
    }
    handle_changed(a, vcpu_id, gpa + Addr(i) * fmt_.span(level), old, 0, level, shared);
  }
  flush_.note_zap(gpa, fmt_.span(level + 1));
  flush_.flush_range(a, vcpu_id, gpa, fmt_.span(level + 1));
  // Walkers and other threads may still hold pointers into the table: free it only after
  // every reader has left its RCU read-side section.
  rcu_.call_rcu(a, [this, table]() {
    pool_.free(table);
    tables_freed_.inc();
  });
}

Addr TdpMmu::alloc_table(Agent& a) {
  a.advance(cfg_.lat.page_alloc);
  tables_alloc_.inc();
  return pool_.alloc();
}

void TdpMmu::link_page(Agent& a, Addr table, Addr gpa, unsigned level, bool shared) {
  Addr link = heap_.alloc();
  if (shared) pages_lock_.lock(a);
  // list_add: the new page's link and the list head are written.
  a.store(link, pages_head_);
  a.store(pages_head_, link);
  pages_[table] = MmuPage{gpa, level, link};
  if (shared) pages_lock_.unlock(a);
}

void TdpMmu::unlink_page(Agent& a, Addr table, bool shared) {
  auto itp = pages_.find(table);
  if (itp == pages_.end()) throw ModelError("TDP MMU: unlinking a table that is not linked");
  if (shared) pages_lock_.lock(a);
  // list_del: the neighbours' links are rewritten; model it as a write of the page's link.
  a.store(itp->second.link_word, 0);
  pages_.erase(itp);
  if (shared) pages_lock_.unlock(a);
}

void TdpMmu::teardown(Agent& host) {
  // kvm_tdp_mmu_zap_all at VM destruction: mmu_lock for write, every top-level entry zapped,
  // which tears down each table beneath it (and flushes), then the root goes after RCU.
  mmu_lock_.write_lock(host);
  rcu_.read_lock(host);
  PtIter it(fmt_, root_, 0);
  const unsigned n = 1u << fmt_.index_bits();
  for (unsigned i = 0; i < n; ++i) {
    Addr sptep = root_ + Addr(i) * 8;
    uint64_t old = host.load_nosync(sptep, MemClass::PageTable);
    if (!fmt_.present(old)) continue;
    host.store(sptep, 0, MemClass::PageTable);
    handle_changed(host, -1, Addr(i) * fmt_.span(fmt_.levels()), old, 0, fmt_.levels(), false);
  }
  rcu_.read_unlock(host);
  mmu_lock_.write_unlock(host);
  Addr root = root_;
  pages_.erase(root);
  rcu_.call_rcu(host, [this, root]() {
    pool_.free(root);
    tables_freed_.inc();
  });
  rcu_.barrier(host);
}

void TdpMmu::map_functional(Addr gpa, unsigned level, Addr hpa_base) {
  PtIter it(fmt_, root_, gpa);
  while (true) {
    it.set_entry(phys_.read64(it.entry_addr()));
    if (it.level() == level) break;
    if (!it.present()) {
      Addr child = pool_.alloc();
      tables_alloc_.inc();
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

void TdpMmu::collect_leaves(Addr table, unsigned level, Addr gpa,
                            std::vector<Stage2Leaf>& out) const {
  const unsigned n = 1u << fmt_.index_bits();
  for (unsigned i = 0; i < n; ++i) {
    uint64_t e = phys_.read64(table + Addr(i) * 8);
    if (!fmt_.present(e)) continue;
    Addr g = gpa + Addr(i) * fmt_.span(level);
    if (fmt_.is_leaf(e, level))
      out.push_back({g, level, fmt_.address(e, level), fmt_.perms(e)});
    else
      collect_leaves(fmt_.address(e, level), level - 1, g, out);
  }
}

std::vector<Stage2Leaf> TdpMmu::leaves() const {
  std::vector<Stage2Leaf> out;
  if (pool_.live(root_)) collect_leaves(root_, fmt_.levels(), 0, out);
  return out;
}

}  // namespace mmusim
