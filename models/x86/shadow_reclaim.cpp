// Zapping whole shadow pages, and the two reasons the shadow MMU does it during a run:
//  - reclaim: more shadow pages than n_max_mmu_pages (--shadow-max-pages). Before a fault or a
//    root load allocates, make_mmu_pages_available zaps the oldest pages (creation order, the
//    tail of active_mmu_pages) that no root reference holds, once fewer than
//    KVM_MIN_FREE_MMU_PAGES are free, until KVM_REFILL_PAGES are;
//  - write flooding: an emulated guest write to a shadowed table of level 2 or more counts
//    against the shadow page (last-level pages can go unsync instead and are not counted); the
//    third write without a fault using the page in between, or a misaligned write, zaps the
//    page instead of one entry: the guest has most likely stopped using it as a table.
// A zapped page first zaps its unsync descendants (the unsync walk from it, shadow_unsync.cpp:
// no walk would reach them once their parent is gone), then leaves its parents, its entries
// are cleared (other children stay in the hash) and it leaves the hash (its guest table is no
// longer write-protected). After one remote flush the pages no root references go back to the
// pool; a root still referenced is marked invalid and its vCPUs reload (KVM_REQ_MMU_RELOAD);
// it is freed when the last reference goes.
#include <algorithm>

#include "models/x86/shadow_mmu.hpp"

namespace mmusim {

namespace {
constexpr uint64_t kMinFreePages = 5;  // KVM_MIN_FREE_MMU_PAGES
constexpr uint64_t kRefillPages = 25;  // KVM_REFILL_PAGES
// detect_write_flooding: the emulated write that brings write_flooding_count to this zaps the
// page (a constant of KVM's, not a model tunable).
constexpr uint64_t kWriteFloodCount = 3;
constexpr uint64_t kInvalidRole = uint64_t(1) << 63;
}  // namespace

bool ShadowMmu::zap_page(Agent& a, size_t sp, std::vector<size_t>& freed, unsigned* children) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  const unsigned nr = zap_unsync_children(a, sp, freed);  // mmu_zap_unsync_children
  if (children) *children = nr;
  Page& p = pages_[sp];
  // The translations below it go with it (the oracle's record; flushed by commit_zap).
  if (oracle_.enabled())
    for (PtIter it = PtIter::table(fmt_, p.spt, p.level, 0); it.valid(); it.next()) {
      const uint64_t e = phys_.read64(it.entry_addr());
      if (fmt_.present(e)) note_subtree_zap(e, p.level);
    }
  // kvm_mmu_unlink_parents. The parents' unsync bits for it go stale; the unsync walk clears
  // bits whose entry is not present.
  for (Addr sptep : p.parent_sptes) a.store(sptep, 0, MemClass::PageTable);
  p.parent_sptes.clear();
  a.store(p.meta + ShadowMeta::kParents, 0);
  // kvm_mmu_page_unlink_children
  for (PtIter it = PtIter::table(fmt_, p.spt, p.level, 0); it.valid(); it.next()) {
    const uint64_t e = a.load(it.entry_addr(), MemClass::PageTable);
    if (fmt_.present(e)) zap_spte(a, sp, it.index(), e);
  }
  if (p.level == 1 && a.load(p.meta + ShadowMeta::kUnsync) != 0)
    a.store(p.meta + ShadowMeta::kUnsync, 0);  // kvm_unlink_unsync_page
  if (p.direct) {
    direct_by_gfn_.erase({p.gfn, p.direct_w});
  } else {
    by_gfn_.erase({p.gfn, p.level});
    if (--tracked_2m_[p.gfn >> 9] == 0) tracked_2m_.erase(p.gfn >> 9);
  }
  a.store(p.meta + ShadowMeta::kRole, p.level | (p.gfn << 8) | kInvalidRole);
  p.invalid = true;
  if (p.root_count > 0) return true;  // in use as a root: freed when the last reference goes
  freed.push_back(sp);
  return false;
}

void ShadowMmu::commit_zap(Agent& a, int vcpu_id, std::vector<size_t>& freed, bool reload) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  if (reload) {
    stats_.reloads.inc();
    flush_.request_all(a, vcpu_id, kReqMmuReload);
  }
  flush_.flush_all(a, vcpu_id);
  for (size_t sp : freed) {
    Page& p = pages_[sp];
    pool_.free(p.spt);
    a.advance(p_.page_alloc);
    by_spt_.erase(p.spt);
    p.live = false;
    free_slots_.push_back(sp);
    // A page that reuses the slot is a new page: if it is lost too, the oracle reports it again.
    lost_reported_.erase(std::remove(lost_reported_.begin(), lost_reported_.end(), sp),
                         lost_reported_.end());
    stats_.pages_freed.inc();
    if (p.level == 4) stats_.roots_freed.inc();
  }
  freed.clear();
}

void ShadowMmu::make_pages_available(Agent& a, int vcpu_id) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  const uint64_t used = shadow_pages();
  const uint64_t avail = max_pages_ > used ? max_pages_ - used : 0;
  if (avail >= kMinFreePages) return;
  std::vector<std::pair<uint64_t, size_t>> oldest;  // active_mmu_pages from its tail
  for (size_t i = 0; i < pages_.size(); ++i)
    if (pages_[i].live && !pages_[i].invalid) oldest.push_back({pages_[i].seq, i});
  std::sort(oldest.begin(), oldest.end());
  std::vector<size_t> freed;
  bool reload = false;
  uint64_t zapped = 0;  // kvm_mmu_zap_oldest_mmu_pages' total_zapped: unsync children count
  for (size_t k = 0; k < oldest.size(); ++k) {
    if (zapped >= kRefillPages - avail) break;
    const size_t sp = oldest[k].second;
    if (pages_[sp].invalid) continue;  // zapped as an unsync child: off the list already
    if (a.load(pages_[sp].meta + ShadowMeta::kRootCount) != 0) continue;  // a root in use
    unsigned children = 0;
    reload |= zap_page(a, sp, freed, &children);
    stats_.reclaim_zapped.inc();
    zapped += 1 + children;
    // Zapping children made the list unstable: KVM restarts from its tail (the roots skipped
    // are looked at again; the pages zapped are gone from it).
    if (children) k = SIZE_MAX;
  }
  if (zapped) commit_zap(a, vcpu_id, freed, reload);
}

bool ShadowMmu::flooded(Agent& a, size_t sp, Addr offset, unsigned bytes) {
  const bool misaligned = (offset & 7) + bytes > 8 || bytes < 4;  // detect_write_misaligned
  if (misaligned) return true;
  if (pages_[sp].level == 1) return false;
  const uint64_t n = a.load(pages_[sp].meta + ShadowMeta::kFlood) + 1;
  a.store(pages_[sp].meta + ShadowMeta::kFlood, n);
  return n >= kWriteFloodCount;
}

void ShadowMmu::clear_flooding(Agent& a, size_t sp) {
  a.store(pages_[sp].meta + ShadowMeta::kFlood, 0);
}

}  // namespace mmusim
