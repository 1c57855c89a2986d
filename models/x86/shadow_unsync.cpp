// Unsync shadow pages and the unsync walk (the unsync-walk change). A last-level shadow page may go
// unsync instead of staying write-protected; its parents then carry a bit in unsync_child_bitmap
// and a count in unsync_children, up to the root. On a CR3 load or guest TLB flush,
// mmu_sync_children collects unsync pages with mmu_unsync_walk into a vector of 16 (-ENOSPC when
// full: the caller syncs what it has and walks again), write-protects their guest tables and syncs
// them. Zapping an upper-level shadow page runs the same walk from it first and zaps what it
// collects (mmu_zap_unsync_children, called from zap_page in shadow_reclaim.cpp).
//
// --unsync-walk selects where the walk's bits are cleared:
//  rewalk           before the patch: parents are added to the vector too; after a page is
//                   synced, mmu_pages_clear_parents goes back up clearing bits, and stale bits
//                   are found by the next walk;
//  clear-on-add     the review's version: a child's bit is cleared once it is in the vector
//                   (or found already sync), since the caller must sync every entry;
//  clear-before-add the patch as posted: the bit of an unsync child is cleared before adding it.
//                   KVM's add always appends (the vector reports full after it), so the page
//                   is synced with the rest and nothing is lost. Only under the hypothetical
//                   --pvec-full refuse, where a full vector leaves the page out, does its bit
//                   stay cleared with the page unsynced: the page is lost (docs/VALIDATION.md,
//                   Unsync walk).
// Every metadata word the walk touches is a load or store through the cache model; the walk's
// time, loads and the loads that miss the private L1 are counted.
#include <sstream>

#include "models/x86/shadow_mmu.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

uint64_t ShadowMmu::wload(Agent& a, Addr addr) {
  const Cycles t0 = a.now();
  const uint64_t v = a.load(addr);
  if (in_walk_) {
    stats_.walk_loads.inc();
    if (a.now() - t0 > p_.l1_hit) stats_.walk_misses.inc();
  }
  return v;
}

void ShadowMmu::wstore(Agent& a, Addr addr, uint64_t v) { a.store(addr, v); }

void ShadowMmu::unsync_page(Agent& a, size_t sp) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  stats_.unsynced.inc();
  wstore(a, pages_[sp].meta + ShadowMeta::kUnsync, 1);
  mark_parents_unsync(a, sp);
}

void ShadowMmu::mark_parents_unsync(Agent& a, size_t sp) {
  const std::vector<Addr> parents = pages_[sp].parent_sptes;  // copy: recursion may not change it
  for (Addr sptep : parents) mark_unsync(a, page_of_spte(sptep), unsigned((sptep & (kPageSize - 1)) / 8));
}

void ShadowMmu::mark_unsync(Agent& a, size_t sp, unsigned idx) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  const Addr word = pages_[sp].bitmap + (idx / 64) * 8;
  const uint64_t bit = uint64_t(1) << (idx % 64);
  const uint64_t w = wload(a, word);
  if (w & bit) return;
  wstore(a, word, w | bit);
  const uint64_t n = wload(a, pages_[sp].meta + ShadowMeta::kUnsyncChildren);
  wstore(a, pages_[sp].meta + ShadowMeta::kUnsyncChildren, n + 1);
  if (n == 0) mark_parents_unsync(a, sp);
}

void ShadowMmu::clear_unsync_child_bit(Agent& a, size_t sp, unsigned idx) {
  const Addr word = pages_[sp].bitmap + (idx / 64) * 8;
  const uint64_t bit = uint64_t(1) << (idx % 64);
  const uint64_t w = wload(a, word);
  if (!(w & bit)) return;
  wstore(a, word, w & ~bit);
  const uint64_t n = wload(a, pages_[sp].meta + ShadowMeta::kUnsyncChildren);
  if (n == 0) throw ModelError("shadow MMU: unsync_children underflow");
  wstore(a, pages_[sp].meta + ShadowMeta::kUnsyncChildren, n - 1);
}

int ShadowMmu::unsync_walk(Agent& a, size_t root, Pvec& pv) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  pv.nr = 0;
  stats_.walk_visits.inc();
  if (wload(a, pages_[root].meta + ShadowMeta::kUnsyncChildren) == 0) return 0;
  if (walk_kind_ == UnsyncWalk::Rewalk) {
    pv.add(root, false, -1, 0);  // INVALID_INDEX: the vector's first entry is the walk's root
    return walk_rewalk(a, root, 0, pv);
  }
  return walk_and_clear(a, root, pv, walk_kind_ == UnsyncWalk::ClearBeforeAdd);
}

// __mmu_unsync_walk before the patch.
int ShadowMmu::walk_rewalk(Agent& a, size_t sp, int self, Pvec& pv) {
  int nr = 0;
  for (unsigned w = 0; w < 8; ++w) {
    uint64_t bits = wload(a, pages_[sp].bitmap + 8 * w);
    while (bits) {
      const unsigned i = w * 64 + unsigned(__builtin_ctzll(bits));
      bits &= bits - 1;
      const uint64_t ent = wload(a, PtIter::entry_at(pages_[sp].spt, i));
      if (!links_child(ent, pages_[sp].level)) {
        clear_unsync_child_bit(a, sp, i);
        continue;
      }
      const size_t child = by_spt_.at(fmt_.address(ent, pages_[sp].level));
      stats_.walk_visits.inc();
      if (wload(a, pages_[child].meta + ShadowMeta::kUnsyncChildren) != 0) {
        if (pv.add(child, false, self, i)) return -1;
        const int ret = walk_rewalk(a, child, int(pv.nr) - 1, pv);
        if (ret == 0) {
          clear_unsync_child_bit(a, sp, i);
          continue;
        }
        if (ret < 0) return ret;
        nr += ret;
      } else if (wload(a, pages_[child].meta + ShadowMeta::kUnsync) != 0) {
        ++nr;
        if (pv.add(child, true, self, i)) return -1;
      } else {
        clear_unsync_child_bit(a, sp, i);
      }
    }
  }
  return nr;
}

// The streamlined walk from the review (clear_before_add false), or the patch's ordering.
int ShadowMmu::walk_and_clear(Agent& a, size_t sp, Pvec& pv, bool clear_before_add) {
  int nr = 0;
  for (unsigned w = 0; w < 8; ++w) {
    uint64_t bits = wload(a, pages_[sp].bitmap + 8 * w);
    while (bits) {
      const unsigned i = w * 64 + unsigned(__builtin_ctzll(bits));
      bits &= bits - 1;
      const uint64_t ent = wload(a, PtIter::entry_at(pages_[sp].spt, i));
      if (links_child(ent, pages_[sp].level)) {
        const size_t child = by_spt_.at(fmt_.address(ent, pages_[sp].level));
        stats_.walk_visits.inc();
        if (wload(a, pages_[child].meta + ShadowMeta::kUnsyncChildren) != 0) {
          const int ret = walk_and_clear(a, child, pv, clear_before_add);
          if (ret < 0) return ret;
          nr += ret;
        } else {
          if (clear_before_add) clear_unsync_child_bit(a, sp, i);
          if (wload(a, pages_[child].meta + ShadowMeta::kUnsync) != 0) {
            ++nr;
            if (pv.add(child, true, -1, i)) return -1;
          }
          if (clear_before_add) continue;
        }
      }
      // The child is either already sync (stale bit) or will be synced by the caller before
      // mmu_lock is dropped.
      clear_unsync_child_bit(a, sp, i);
    }
  }
  return nr;
}

// mmu_pages_clear_parents: after a page is synced, clear its bit in its parent, and go up
// while that leaves the parent with no unsync children.
void ShadowMmu::clear_parents(Agent& a, const Pvec& pv, unsigned entry) {
  int p = pv.e[entry].parent;
  unsigned idx = pv.e[entry].idx;
  while (p >= 0) {
    const size_t psp = pv.e[p].sp;
    stats_.walk_visits.inc();
    clear_unsync_child_bit(a, psp, idx);
    if (wload(a, pages_[psp].meta + ShadowMeta::kUnsyncChildren) != 0) return;
    idx = pv.e[p].idx;
    p = pv.e[p].parent;
  }
}

// kvm_sync_page: bring every present leaf of an unsync page back in line with the guest PTE
// it shadows: zapped when the guest unmapped or moved it or cleared its accessed bit
// (prefetch_invalid_gpte), otherwise rebuilt from the guest PTE's permissions as make_spte
// does for a sync (prefetch, no unsync): writable when the guest PTE is writable and dirty,
// the host frame writable, and either the entry was writable already or no shadow page
// shadows the target gfn. Returns whether remote TLBs must be flushed.
bool ShadowMmu::sync_page(Agent& a, size_t sp) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  a.advance(p_.shadow_sync_work);
  stats_.pages_synced.inc();
  const Addr guest = guest_page_hpa(a, pages_[sp].gfn);
  bool flush = false;
  for (PtIter it = PtIter::table(fmt_, pages_[sp].spt, 1, 0); it.valid(); it.next()) {
    const unsigned i = it.index();
    const Addr sptep = it.entry_addr();
    const uint64_t s = a.load(sptep, MemClass::PageTable);
    if (!fmt_.present(s)) continue;
    const uint64_t g = a.load(PtIter::entry_at(guest, i), MemClass::PageTable);
    auto m = spte_gfn_.find(sptep);
    const uint64_t gfn = fmt_.address(g, 1) >> kPageShift;
    if (!fmt_.present(g) || !fmt_.accessed(g) || m == spte_gfn_.end() || m->second != gfn) {
      zap_spte(a, sp, i, s);
      note_leaf_zap(s);
      stats_.sptes_zapped.inc();
      flush = true;
      continue;
    }
    const Perms gp = fmt_.perms(g);
    const bool host_w = (s & kSpteHostWritable) != 0;
    const bool w = gp.write && fmt_.dirty(g) && host_w &&
                   ((s & X86PageFormat::kRw) || !shadowed(gfn));
    const uint64_t n = fmt_.make_leaf(fmt_.address(s, 1), 1, Perms{gp.read, w, gp.exec},
                                      fmt_.accessed(s), fmt_.dirty(s)) |
                       (s & kSpteHostWritable);
    if (n != s) {
      a.store(sptep, n, MemClass::PageTable);
      // A translation that lost a permission must be flushed; one that gained W need not be.
      const Perms was = fmt_.perms(s), now = fmt_.perms(n);
      if ((was.write && !now.write) || (was.exec && !now.exec)) {
        note_leaf_zap(s);
        flush = true;
      }
    }
  }
  return flush;
}

// One mmu_unsync_walk from `sp` (round `rounds` of a sync or zap): its loads are counted as
// the walk's and its cycles go to `walk`.
int ShadowMmu::timed_walk(Agent& a, size_t sp, Pvec& pv, unsigned rounds, Cycles& walk) {
  if (rounds > 1000000) throw ModelError("shadow MMU: the unsync walk does not converge");
  const Cycles t0 = a.now();
  in_walk_ = true;
  const int r = unsync_walk(a, sp, pv);
  in_walk_ = false;
  walk = a.now() - t0;
  return r;
}

// Rewalk only: mmu_pages_clear_parents once entry `e` is synced or zapped; its time is the walk's.
void ShadowMmu::timed_clear_parents(Agent& a, const Pvec& pv, unsigned e, Cycles& walk) {
  if (walk_kind_ != UnsyncWalk::Rewalk) return;
  const Cycles c0 = a.now();
  in_walk_ = true;
  clear_parents(a, pv, e);
  in_walk_ = false;
  walk += a.now() - c0;
}

// mmu_sync_children on a root (kvm_mmu_sync_roots), with mmu_lock held.
void ShadowMmu::sync_children(Agent& a, int vcpu_id, size_t root) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  stats_.syncs.inc();
  Pvec pv(p_.pvec_full);
  for (unsigned rounds = 0;; ++rounds) {
    Cycles walk = 0;
    const int r = timed_walk(a, root, pv, rounds, walk);
    if (r == 0) {
      stats_.walk_cycles.inc(walk);
      stats_.walk_hist.sample(walk);
      break;
    }
    if (r < 0) stats_.enospc.inc();
    // Write-protect the guest tables first, so guest writes after the sync fault again.
    bool flush = false;
    for (unsigned e = 0; e < pv.nr; ++e)
      if (pages_[pv.e[e].sp].level == 1) flush |= rmap_write_protect(a, pages_[pv.e[e].sp].gfn);
    if (flush) flush_.flush_all(a, vcpu_id);
    flush = false;
    for (unsigned e = 0; e < pv.nr; ++e) {
      const size_t sp = pv.e[e].sp;
      if (pages_[sp].level != 1 || a.load(pages_[sp].meta + ShadowMeta::kUnsync) == 0) continue;
      a.store(pages_[sp].meta + ShadowMeta::kUnsync, 0);  // kvm_unlink_unsync_page
      flush |= sync_page(a, sp);
      timed_clear_parents(a, pv, e, walk);
    }
    stats_.walk_cycles.inc(walk);
    stats_.walk_hist.sample(walk);
    if (flush) flush_.flush_all(a, vcpu_id);
  }
  if (oracle_.enabled()) check_no_unsync_below(a, root, "after a full sync of its root");
}

// mmu_zap_unsync_children, run by kvm_mmu_prepare_zap_page before it unlinks `sp`: the same
// unsync walk as a sync (the --unsync-walk variant, so the patch's ordering can lose a page
// here too), but every last-level page collected is zapped instead of synced. A last-level
// page has no children to walk. Returns how many pages were zapped; they join `freed`. The
// walk's loads, misses and cycles count with the syncs'; the latency histogram stays per sync.
unsigned ShadowMmu::zap_unsync_children(Agent& a, size_t sp, std::vector<size_t>& freed) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  if (pages_[sp].level == 1) return 0;
  unsigned zapped = 0;
  Pvec pv(p_.pvec_full);
  for (unsigned rounds = 0;; ++rounds) {
    Cycles walk = 0;
    const int r = timed_walk(a, sp, pv, rounds, walk);
    if (r == 0) {
      stats_.walk_cycles.inc(walk);
      break;
    }
    if (r < 0) stats_.enospc.inc();
    for (unsigned e = 0; e < pv.nr; ++e) {
      const size_t child = pv.e[e].sp;
      // Only last-level pages are zapped (the rewalk variant also holds their parents). The
      // unsync flag is loaded as the sync path does: a page the vector holds twice (linked by two
      // parents) is zapped once.
      if (pages_[child].level != 1 || a.load(pages_[child].meta + ShadowMeta::kUnsync) == 0)
        continue;
      zap_page(a, child, freed);
      ++zapped;
      stats_.zap_unsync_children.inc();
      timed_clear_parents(a, pv, e, walk);
    }
    stats_.walk_cycles.inc(walk);
  }
  // The oracle: nothing below the page may be left unsync, or it would stay in the hash
  // unsync under a parent no walk reaches any more.
  if (oracle_.enabled()) check_no_unsync_below(a, sp, "after a shadow page above it was zapped");
  return zapped;
}

// The oracle after a full sync of a root, or after the unsync children of a zapped page were
// zapped: no shadow page reachable from `root` may still be unsync.
void ShadowMmu::check_no_unsync_below(Agent& a, size_t root, const char* after) {
  std::vector<size_t> stack{root};
  while (!stack.empty()) {
    const size_t sp = stack.back();
    stack.pop_back();
    const Page& p = pages_[sp];
    if (p.level == 1) {
      if (phys_.read64(p.meta + ShadowMeta::kUnsync) == 0) continue;
      bool seen = false;
      for (size_t s : lost_reported_) seen |= s == sp;
      if (seen) continue;
      lost_reported_.push_back(sp);
      std::ostringstream m;
      m << "shadow page of guest table gfn 0x" << std::hex << p.gfn
        << " is still unsync " << after << " (its unsync_child_bitmap bit was lost)";
      oracle_.report("unsync_page_lost", a.now(), a.name(), p.gfn << kPageShift, m.str());
      continue;
    }
    for (PtIter it = PtIter::table(fmt_, p.spt, p.level, 0); it.valid(); it.next()) {
      const uint64_t e = phys_.read64(it.entry_addr());
      if (links_child(e, p.level)) stack.push_back(by_spt_.at(fmt_.address(e, p.level)));
    }
  }
}

}  // namespace mmusim
