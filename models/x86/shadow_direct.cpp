// Guest 2 MiB pages under shadow paging. A guest PDE with the PS bit has no guest page table
// below it, so the shadow MMU has nothing to shadow or write-protect there:
//  - if the host backs the whole 2 MiB frame with one 2 MiB page (x86 --page-size 2M, THP),
//    --page-size allows 2 MiB mappings and no gfn of the frame is a shadowed guest table
//    (KVM's disallow_lpage count, here tracked_2m_), the shadow page of the guest page
//    directory gets a 2 MiB leaf (kvm_mmu_hugepage_adjust: the host level caps the guest's);
//  - otherwise a direct last-level shadow page (role.direct) stands for the 2 MiB frame: its
//    gfn is the frame's first gfn, it is found by (gfn, W) rather than in the gfn hash of
//    shadowed tables, it write-protects nothing, never goes unsync, and its entry i maps
//    gfn + i, still honouring write protection of that gfn if it is a guest table.
// A guest store to the PDE is emulated like any store to a shadowed directory: the shadow
// entry (the 2 MiB leaf, or the link to the direct page) is zapped and the next access
// refaults.
#include <sstream>

#include "models/x86/shadow_mmu.hpp"

namespace mmusim {

size_t ShadowMmu::get_direct_page(Agent& a, uint64_t base_gfn, bool writable) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  auto it = direct_by_gfn_.find({base_gfn, writable});
  if (it != direct_by_gfn_.end()) return it->second;
  const size_t sp = new_page(a, base_gfn, 1, true);
  pages_[sp].direct_w = writable;
  direct_by_gfn_[{base_gfn, writable}] = sp;
  stats_.direct_created.inc();
  return sp;
}

FaultOutcome ShadowMmu::map_guest_huge(Agent& a, size_t pd, Addr gva, const GuestWalk& gw,
                                       const HostPage& hp, Access access, bool& flush) {
  const Addr hpa = hp.hpa;
  const unsigned host_level = hp.level;
  lockdep_assert_held(a, mmu_lock_, __func__);
  const unsigned idx = fmt_.index(gva, 2);
  const unsigned i1 = fmt_.index(gva, 1);
  const Addr sptep = PtIter::entry_at(pages_[pd].spt, idx);
  const uint64_t base = fmt_.address(gw.leaf, 2) >> kPageShift;
  // protect_clean_gpte: a clean guest PDE maps read-only (a direct page without W) until a
  // write sets its dirty bit.
  Perms gp = fmt_.perms(gw.leaf);
  gp.write = gp.write && fmt_.dirty(gw.leaf) && hp.writable;
  const Addr hbase = hpa - (Addr(i1) << kPageShift);
  const bool large = max_level_ >= 2 && host_level >= 2 && (hbase & (fmt_.span(2) - 1)) == 0 &&
                     tracked_2m_.count(base >> 9) == 0;
  clear_flooding(a, pd);
  const uint64_t old = a.load(sptep, MemClass::PageTable);
  if (large) {
    if (fmt_.present(old)) {
      // The direct page it replaces, or a 2 MiB leaf of another frame or more permissive.
      if (links_child(old, 2) || fmt_.address(old, 2) != hbase ||
          ((old & X86PageFormat::kRw) && !gp.write)) {
        note_subtree_zap(old, 2);
        flush = true;
      }
      zap_spte(a, pd, idx, old);
    }
    const bool write = access == Access::Write;
    a.store(sptep, fmt_.make_leaf(hbase, 2, gp, true, write && gp.write), MemClass::PageTable);
    huge_rmap_[base].push_back(sptep);
    spte_gfn_[sptep] = base;
    stats_.huge_leaves.inc();
    return FaultOutcome::Fixed;
  }
  size_t child = SIZE_MAX;
  if (links_child(old, 2)) {
    const size_t c = by_spt_.at(fmt_.address(old, 2));
    if (pages_[c].direct && pages_[c].gfn == base && pages_[c].direct_w == gp.write) child = c;
  }
  if (child == SIZE_MAX) {
    if (fmt_.present(old)) {
      note_subtree_zap(old, 2);
      zap_spte(a, pd, idx, old);
      flush = true;
    }
    child = get_direct_page(a, base, gp.write);
    link(a, pd, idx, child);
  }
  // The 4 KiB piece of the guest page, as a guest PTE would map it.
  const uint64_t gpte = fmt_.make_leaf((base + i1) << kPageShift, 1, gp, fmt_.accessed(gw.leaf),
                                       fmt_.dirty(gw.leaf));
  return set_leaf(a, child, i1, gpte, hp, access, false, flush);
}

bool ShadowMmu::zap_huge_over(Agent& a, uint64_t gfn) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  auto it = huge_rmap_.find(gfn & ~uint64_t(511));
  if (it == huge_rmap_.end() || it->second.empty()) return false;
  const std::vector<Addr> sptes = it->second;  // zap_spte edits the list
  for (Addr sptep : sptes) {
    const uint64_t e = a.load(sptep, MemClass::PageTable);
    if (!fmt_.present(e)) continue;
    zap_spte(a, page_of_spte(sptep), unsigned((sptep & (kPageSize - 1)) / 8), e);
    note_subtree_zap(e, 2);
  }
  return true;
}

// The oracle for guest 2 MiB pages (functional): every present entry of a direct page maps
// the host frame of its gfn, writable only if the guest PDE was; every 2 MiB leaf, and every
// link to a direct page, in a guest directory's shadow page agrees with the guest PDE there
// (writable only while that PDE is writable and dirty).
uint64_t ShadowMmu::check_huge_consistency(Cycles now, const std::string& who) {
  uint64_t bad = 0;
  auto report = [&](const Page& p, unsigned i, const char* what) {
    ++bad;
    std::ostringstream m;
    m << what << ": entry " << i << " of the shadow page of gfn 0x" << std::hex << p.gfn;
    oracle_.report("shadow_mismatch", now, who, p.gfn << kPageShift, m.str());
  };
  for (const Page& p : pages_) {
    if (!p.live || p.invalid) continue;
    if (p.direct) {
      for (PtIter it = PtIter::table(fmt_, p.spt, 1, 0); it.valid(); it.next()) {
        const unsigned i = it.index();
        const uint64_t s = phys_.read64(it.entry_addr());
        if (!fmt_.present(s)) continue;
        if (host_.lookup(p.gfn + i).hpa != fmt_.address(s, 1) ||
            ((s & X86PageFormat::kRw) && !p.direct_w))
          report(p, i, "direct shadow leaf disagrees with the guest 2 MiB page");
      }
      continue;
    }
    if (p.level != 2) continue;
    const Addr guest = host_.lookup(p.gfn).hpa;
    for (PtIter it = PtIter::table(fmt_, p.spt, 2, 0); it.valid(); it.next()) {
      const unsigned i = it.index();
      const uint64_t s = phys_.read64(it.entry_addr());
      if (!fmt_.present(s)) continue;
      const uint64_t g = phys_.read64(PtIter::entry_at(guest, i));
      const bool huge = fmt_.present(g) && fmt_.is_leaf(g, 2);
      if (fmt_.is_leaf(s, 2)) {
        if (!huge || host_.lookup(fmt_.address(g, 2) >> kPageShift).hpa != fmt_.address(s, 2) ||
            ((s & X86PageFormat::kRw) && !((g & X86PageFormat::kRw) && fmt_.dirty(g))))
          report(p, i, "2 MiB shadow leaf disagrees with the guest PDE");
        continue;
      }
      const Page& c = pages_[by_spt_.at(fmt_.address(s, 2))];
      if (c.direct && (!huge || fmt_.address(g, 2) >> kPageShift != c.gfn ||
                       (c.direct_w && !((g & X86PageFormat::kRw) && fmt_.dirty(g)))))
        report(p, i, "direct shadow page linked where the guest PDE maps something else");
    }
  }
  return bad;
}

}  // namespace mmusim
