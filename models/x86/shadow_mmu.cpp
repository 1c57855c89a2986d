// Shadow MMU: faults, shadow-page lookup/creation and linking, write protection, emulated writes
// to write-protected guest tables, roots per guest CR3, teardown and the consistency oracle.
// The unsync side (unsync pages, the unsync walk, kvm_sync_page) is in shadow_unsync.cpp.
#include "models/x86/shadow_mmu.hpp"

#include <algorithm>
#include <sstream>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {
std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}
}  // namespace

uint64_t ShadowMmu::max_mmu_pages(const ShadowMmuParams& p) {
  if (p.shadow_max_pages) return p.shadow_max_pages;
  const uint64_t guest_pages = p.guest_mem_bytes >> kPageShift;
  return std::max(kMinAllocMmuPages, guest_pages * kPermilleMmuPages / 1000);
}

ShadowMmu::ShadowMmu(const ShadowMmuParams& p, PhysMem& phys, PagePool& pool, HostMm& host,
                     RemoteFlush& flush, KernelHeap& heap, Stats& stats, FaultStats& faults,
                     LockStats& mmu_lock_stats, Timeline& timeline, Violations& oracle)
    : p_(p), fmt_(4), phys_(phys), pool_(pool), host_(host), flush_(flush), heap_(heap),
      oracle_(oracle), mmu_lock_(mmu_lock_stats, heap.alloc(), &timeline),
      walk_kind_(p.unsync_walk),
      cr3_(p.vcpus, 0), cur_root_(p.vcpus, SIZE_MAX), prev_roots_(p.vcpus),
      faults_(faults),
      stats_(stats) {
  max_pages_ = max_mmu_pages(p);
  // The largest shadow leaf --page-size allows; guest pages of 2 MiB at most are modelled.
  max_level_ = p.page_size >= (uint64_t(2) << 20) ? 2 : 1;
}

size_t ShadowMmu::root_for(Agent& a, int vcpu_id, bool& flush) {
  return get_page(a, vcpu_id, cr3_[size_t(vcpu_id)] >> kPageShift, 4, flush);
}

// kvm_mmu_get_page: the shadow page for (gfn, level), created if there is none. A new shadow
// page makes its guest table write-tracked: writable leaves mapping that gfn lose W.
size_t ShadowMmu::get_page(Agent& a, int vcpu_id, uint64_t gfn, unsigned level, bool& flush) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  auto it = by_gfn_.find({gfn, level});
  if (it != by_gfn_.end()) {
    const size_t sp = it->second;
    // An unsync page found by a lookup gets its entries synced with the guest PTEs before it
    // is linked, but is neither write-protected nor marked sync: the guest keeps writing its
    // table until it flushes its TLB, and the unsync walk of that flush syncs it for good.
    if (level == 1 && a.load(pages_[sp].meta + ShadowMeta::kUnsync) != 0) {
      stats_.lookup_synced.inc();
      const bool changed = sync_page(a, sp);
      if (p_.lookup_sync_flush == LookupSyncFlush::Remote)
        flush |= changed;
      else
        flush_.flush_current(a, vcpu_id);  // KVM_REQ_TLB_FLUSH_CURRENT, whatever changed
    }
    return sp;
  }
  const size_t sp = new_page(a, gfn, level, false);
  by_gfn_[{gfn, level}] = sp;
  ++tracked_2m_[gfn >> 9];  // account_shadowed: no 2 MiB shadow leaf over this gfn
  flush |= rmap_write_protect(a, gfn);
  return sp;
}

size_t ShadowMmu::new_page(Agent& a, uint64_t gfn, unsigned level, bool direct) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  size_t sp;
  if (!free_slots_.empty()) {
    sp = free_slots_.back();
    free_slots_.pop_back();
  } else {
    sp = pages_.size();
    pages_.emplace_back();
    pages_[sp].meta = heap_.alloc(kLineSize);
    pages_[sp].bitmap = heap_.alloc(kLineSize);
  }
  Page& p = pages_[sp];
  p.spt = pool_.alloc();
  p.level = level;
  p.gfn = gfn;
  p.parent_sptes.clear();
  p.live = true;
  p.root_count = 0;
  p.invalid = false;
  p.seq = ++seq_;
  p.direct = direct;
  p.direct_w = false;
  a.advance(p_.page_alloc);
  a.store(p.meta + ShadowMeta::kRole, level | (gfn << 8) | (uint64_t(direct) << 62));
  a.store(p.meta + ShadowMeta::kUnsync, 0);
  a.store(p.meta + ShadowMeta::kUnsyncChildren, 0);
  a.store(p.meta + ShadowMeta::kParents, 0);
  a.store(p.meta + ShadowMeta::kFlood, 0);
  a.store(p.meta + ShadowMeta::kRootCount, 0);
  for (unsigned w = 0; w < 8; ++w) a.store(p.bitmap + 8 * w, 0);
  by_spt_[p.spt] = sp;
  stats_.pages_created.inc();
  return sp;
}

// link_shadow_page: the parent entry points at the child; an unsync child (or one with unsync
// children) makes the parent's bit and count follow (mark_unsync).
void ShadowMmu::link(Agent& a, size_t parent, unsigned idx, size_t child) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  const Addr sptep = PtIter::entry_at(pages_[parent].spt, idx);
  a.store(sptep, fmt_.make_table(pages_[child].spt), MemClass::PageTable);
  Page& c = pages_[child];
  c.parent_sptes.push_back(sptep);
  a.store(c.meta + ShadowMeta::kParents, c.parent_sptes.size());
  if (a.load(c.meta + ShadowMeta::kUnsyncChildren) != 0 || a.load(c.meta + ShadowMeta::kUnsync) != 0)
    mark_unsync(a, parent, idx);
}

// Clears one present shadow entry; a non-leaf entry unlinks its child, which stays in the
// hash (and can be linked again) as KVM's do.
void ShadowMmu::zap_spte(Agent& a, size_t sp, unsigned idx, uint64_t spte) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  const Addr sptep = PtIter::entry_at(pages_[sp].spt, idx);
  a.store(sptep, 0, MemClass::PageTable);
  const unsigned level = pages_[sp].level;
  if (level == 1 || fmt_.is_leaf(spte, level)) {  // a leaf (4 KiB, or 2 MiB at level 2)
    auto g = spte_gfn_.find(sptep);
    if (g != spte_gfn_.end()) {
      auto& v = (level == 1 ? rmap_ : huge_rmap_)[g->second];
      v.erase(std::remove(v.begin(), v.end(), sptep), v.end());
      spte_gfn_.erase(g);
    }
    return;
  }
  Page& c = pages_[by_spt_.at(fmt_.address(spte, pages_[sp].level))];
  c.parent_sptes.erase(std::remove(c.parent_sptes.begin(), c.parent_sptes.end(), sptep),
                       c.parent_sptes.end());
  a.store(c.meta + ShadowMeta::kParents, c.parent_sptes.size());
}

// rmap_write_protect: every writable leaf mapping `gfn` becomes read-only; true if any changed
// (the caller flushes remote TLBs).
bool ShadowMmu::rmap_write_protect(Agent& a, uint64_t gfn) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  bool changed = zap_huge_over(a, gfn);
  auto it = rmap_.find(gfn);
  if (it == rmap_.end()) return changed;
  for (Addr sptep : it->second) {
    const uint64_t e = a.load(sptep, MemClass::PageTable);
    if (fmt_.present(e) && (e & X86PageFormat::kRw)) {
      a.store(sptep, e & ~X86PageFormat::kRw, MemClass::PageTable);
      note_leaf_zap(e);
      changed = true;
    }
  }
  return changed;
}

bool ShadowMmu::shadowed(uint64_t gfn) const {
  for (unsigned level = 1; level <= 4; ++level)
    if (by_gfn_.count({gfn, level})) return true;
  return false;
}

// A gfn is write-protected while some shadow page shadows it and is in sync.
bool ShadowMmu::write_protected(Agent& a, uint64_t gfn) {
  for (unsigned level = 1; level <= 4; ++level) {
    auto it = by_gfn_.find({gfn, level});
    if (it == by_gfn_.end()) continue;
    if (level > 1 || a.load(pages_[it->second].meta + ShadowMeta::kUnsync) == 0) return true;
  }
  return false;
}

// mmu_try_to_unsync_pages: only last-level shadow pages may go unsync; any upper-level shadow
// of the gfn keeps it write-protected (the write is emulated instead).
bool ShadowMmu::try_unsync(Agent& a, uint64_t gfn) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  if (!p_.unsync) return false;
  for (unsigned level = 2; level <= 4; ++level)
    if (by_gfn_.count({gfn, level})) return false;
  auto it = by_gfn_.find({gfn, 1});
  if (it != by_gfn_.end() && a.load(pages_[it->second].meta + ShadowMeta::kUnsync) == 0)
    unsync_page(a, it->second);
  return true;
}

// FNAME(page_fault): the guest walk runs first, without mmu_lock (FNAME(walk_addr)); other
// vCPUs may rewrite the guest tables meanwhile. Under mmu_lock, FNAME(fetch) builds the shadow
// path and, after getting (and so write-protecting) the shadow page of each guest table,
// checks that the entry the walk read there is unchanged (gpte_changed); if one changed the
// fault returns RET_PF_RETRY and the vCPU faults again on a fresh walk. The shadow MMU takes
// mmu_lock for write only, as KVM's does (the read-mode fault path is the TDP MMU's).
FaultOutcome ShadowMmu::handle_fault(Agent& a, int vcpu_id, const TranslationFault& f) {
  check_fault_space(f, FaultSpace::Gva);
  const Addr gva = f.addr;
  const Access access = f.access;
  const Cycles t0 = a.now();
  faults_.count.inc();
  a.advance(p_.fault_entry);
  const uint64_t cr3_gfn = cr3_.at(size_t(vcpu_id)) >> kPageShift;
  GuestWalk gw;
  if (!walk_guest(a, cr3_gfn, gva, access, gw))
    throw ModelError("shadow MMU: guest page fault at gva " + hex(gva) +
                     " (the workload accessed an address its guest does not map)");
  const Perms gperms = fmt_.perms(gw.leaf);
  if (access == Access::Write && !gperms.write)
    throw ModelError("shadow MMU: guest write-protection fault at gva " + hex(gva));
  // kvm_faultin_pfn: the host frame is looked up before mmu_lock is taken, too. In a guest
  // 2 MiB page the gfn is the frame's first gfn plus the 4 KiB index of gva.
  const uint64_t gfn = gw.leaf_level == 2
                           ? (fmt_.address(gw.leaf, 2) >> kPageShift) + fmt_.index(gva, 1)
                           : fmt_.address(gw.leaf, 1) >> kPageShift;
  const HostPage hp = host_.resolve(a, gfn, access == Access::Write);
  mmu_lock_.lock(a);
  bool flush = false;
  // The root this vCPU runs on; a zapped (obsolete) root answers RET_PF_RETRY: the vCPU
  // reloads (KVM_REQ_MMU_RELOAD is pending) and faults again on the new one.
  size_t sp = cur_root_.at(size_t(vcpu_id));
  if (sp == SIZE_MAX || pages_[sp].invalid) {
    mmu_lock_.unlock(a);
    host_.release(a, hp);
    return counted(a, t0, FaultOutcome::Retry);
  }
  make_pages_available(a, vcpu_id);
  bool changed = gpte_changed(a, gw, 4);
  // Down to the shadow of the last guest table: the page table, or the page directory of a
  // guest 2 MiB page.
  const unsigned last = gw.leaf_level + 1;
  PtIter it(fmt_, pages_[sp].spt, gva);
  while (it.level() >= last && !changed) {
    const unsigned level = it.level(), idx = it.index();
    clear_flooding(a, sp);  // the page is in use: its write-flooding count starts again
    const uint64_t e = a.load(it.entry_addr(), MemClass::PageTable);
    if (level == 2 && fmt_.present(e) && fmt_.is_leaf(e, 2)) {
      // A 2 MiB leaf where the guest now has a page table (the emulated PDE store zaps it
      // first; this is the same for safety).
      zap_spte(a, sp, idx, e);
      note_subtree_zap(e, level);
      flush = true;
    }
    const bool present = links_child(e, level);
    const size_t child = present ? by_spt_.at(fmt_.address(e, level))
                                 : get_page(a, vcpu_id, gw.table_gfn[level - 1], level - 1, flush);
    // The guest table below is write-protected now: is the entry read in it still there?
    changed = gpte_changed(a, gw, level - 1);
    if (!changed && !present) link(a, sp, idx, child);
    sp = child;
    it.resume_below(level, pages_[sp].spt);
  }
  if (changed) {
    stats_.gpte_changed.inc();
    if (flush) flush_.flush_all(a, vcpu_id);
    mmu_lock_.unlock(a);
    host_.release(a, hp);
    return counted(a, t0, FaultOutcome::Retry);
  }
  const FaultOutcome out =
      gw.leaf_level == 2
          ? map_guest_huge(a, sp, gva, gw, hp, access, flush)
          : set_leaf(a, sp, it.index(), gw.leaf, hp, access, false, flush);
  a.advance(p_.shadow_fault_work);
  if (flush) flush_.flush_all(a, vcpu_id);
  mmu_lock_.unlock(a);
  host_.release(a, hp);  // kvm_release_pfn_clean
  return counted(a, t0, out);
}

FaultOutcome ShadowMmu::counted(const Agent& a, Cycles t0, FaultOutcome out) {
  faults_.record(out, a.now() - t0);
  return out;
}

FaultOutcome ShadowMmu::set_leaf(Agent& a, size_t sp, unsigned idx, uint64_t gpte,
                                 const HostPage& hp, Access access, bool prefetch, bool& flush) {
  lockdep_assert_held(a, mmu_lock_, __func__);
  const Addr hpa = hp.hpa;
  const Perms gperms = fmt_.perms(gpte);
  const uint64_t gfn = fmt_.address(gpte, 1) >> kPageShift;
  const bool write = access == Access::Write && !prefetch;
  FaultOutcome out = FaultOutcome::Fixed;
  // protect_clean_gpte: a clean guest PTE is mapped read-only even where the guest allows
  // writes, so that the guest's first write faults and the walk sets its dirty bit.
  bool w = gperms.write && fmt_.dirty(gpte) && hp.writable;
  // make_spte -> mmu_try_to_unsync_pages: a writable entry for a shadowed guest table lets the
  // table go unsync, on a read fault as on a write (docs/ARCHITECTURE.md, Shadow MMU).
  if (w && write_protected(a, gfn)) {
    const bool may_unsync = !prefetch || p_.prefetch_unsync == PrefetchUnsync::On;
    if (may_unsync && try_unsync(a, gfn)) {
      w = true;
    } else {
      w = false;
      if (write) out = FaultOutcome::Emulate;
    }
  }
  const Addr sptep = PtIter::entry_at(pages_[sp].spt, idx);
  const uint64_t old = a.load(sptep, MemClass::PageTable);
  const uint64_t spte =
      fmt_.make_leaf(hpa, 1, Perms{gperms.read, w, gperms.exec}, !prefetch, write && w) |
      (hp.writable ? kSpteHostWritable : 0);
  if (fmt_.present(old)) {
    // Another frame, or less than the old entry allowed: the old translation must be flushed.
    if (fmt_.address(old, 1) != hpa || ((old & X86PageFormat::kRw) && !w)) {
      note_leaf_zap(old);
      flush = true;
    }
    zap_spte(a, sp, idx, old);
  }
  a.store(sptep, spte, MemClass::PageTable);
  rmap_[gfn].push_back(sptep);
  spte_gfn_[sptep] = gfn;
  return out;
}

// x86_emulate_insn + kvm_mmu_pte_write: the emulator translates the address and stores to
// guest memory without mmu_lock (kvm_vcpu_write_guest); the page-track hook then takes mmu_lock
// and every in-sync shadow page of that guest table drops its entry at the written offset (it
// refaults later).
void ShadowMmu::emulate_guest_write(Agent& a, int vcpu_id, Addr gva, uint64_t value) {
  stats_.emulated.inc();
  a.advance(p_.shadow_emulate);
  GuestWalk gw;
  if (!walk_guest(a, cr3_.at(size_t(vcpu_id)) >> kPageShift, gva, Access::Write, gw))
    throw ModelError("shadow MMU: emulated write to unmapped gva " + hex(gva));
  const uint64_t gfn = fmt_.address(gw.leaf, 1) >> kPageShift;
  const Addr off = gva & (kPageSize - 1) & ~Addr(7);
  a.store(host_.user_access(a, gfn, true).hpa + off, value, MemClass::PageTable);
  mmu_lock_.lock(a);
  bool flush = false, reload = false;
  std::vector<size_t> freed;
  for (unsigned level = 1; level <= 4; ++level) {
    auto it = by_gfn_.find({gfn, level});
    if (it == by_gfn_.end()) continue;
    const size_t sp = it->second;
    if (level == 1 && a.load(pages_[sp].meta + ShadowMeta::kUnsync) != 0) continue;
    if (flooded(a, sp, gva & 7, 8)) {  // the whole page goes (shadow_reclaim.cpp)
      // A page no shadow entry links any more (a root, or a table the guest unlinked and
      // most likely freed) is a stale shadow page: what flooding detection is there for.
      if (pages_[sp].parent_sptes.empty()) stats_.flood_unlinked.inc();
      reload |= zap_page(a, sp, freed);
      stats_.flood_zapped.inc();
      flush = true;
      continue;
    }
    const uint64_t e = a.load(pages_[sp].spt + off, MemClass::PageTable);
    if (!fmt_.present(e)) continue;
    zap_spte(a, sp, unsigned(off / 8), e);
    note_subtree_zap(e, level);
    flush = true;
  }
  if (!freed.empty() || reload) commit_zap(a, vcpu_id, freed, reload);
  else if (flush) flush_.flush_all(a, vcpu_id);
  mmu_lock_.unlock(a);
}

size_t ShadowMmu::unsync_pages() const {
  size_t n = 0;
  for (const Page& p : pages_)
    if (p.live && p.level == 1 && phys_.read64(p.meta + ShadowMeta::kUnsync) != 0) ++n;
  return n;
}

size_t ShadowMmu::orphan_unsync_pages() const {
  size_t n = 0;
  for (const Page& p : pages_)
    if (p.live && p.level == 1 && p.parent_sptes.empty() &&
        phys_.read64(p.meta + ShadowMeta::kUnsync) != 0)
      ++n;
  return n;
}

// The shadow oracle (functional): every present leaf of an in-sync shadow page maps the host
// frame of the page its guest PTE names, no more writable than the guest allows, and never
// writable while the page it maps is a write-protected guest table.
uint64_t ShadowMmu::check_shadow_consistency(Cycles now, const std::string& who) {
  uint64_t bad = 0;
  auto wp = [&](uint64_t gfn) {
    for (unsigned level = 1; level <= 4; ++level) {
      auto it = by_gfn_.find({gfn, level});
      if (it == by_gfn_.end()) continue;
      if (level > 1 || phys_.read64(pages_[it->second].meta + ShadowMeta::kUnsync) == 0)
        return true;
    }
    return false;
  };
  for (const Page& p : pages_) {
    if (!p.live || p.level != 1 || p.direct) continue;  // direct pages: check_huge_consistency
    const bool unsync = phys_.read64(p.meta + ShadowMeta::kUnsync) != 0;
    const Addr guest = host_.lookup(p.gfn).hpa;
    for (PtIter it = PtIter::table(fmt_, p.spt, 1, 0); it.valid(); it.next()) {
      const unsigned i = it.index();
      const uint64_t s = phys_.read64(it.entry_addr());
      if (!fmt_.present(s)) continue;
      const uint64_t g = phys_.read64(PtIter::entry_at(guest, i));
      const uint64_t gfn = fmt_.address(g, 1) >> kPageShift;
      if (!unsync) {
        // Writable only where the guest PTE is writable and dirty (protect_clean_gpte).
        const bool ok = fmt_.present(g) && host_.lookup(gfn).hpa == fmt_.address(s, 1) &&
                        (!(s & X86PageFormat::kRw) ||
                         ((g & X86PageFormat::kRw) && fmt_.dirty(g)));
        if (!ok) {
          ++bad;
          oracle_.report("shadow_mismatch", now, who, p.gfn << kPageShift,
                         "in-sync shadow leaf " + std::to_string(i) + " of guest table gfn " +
                             hex(p.gfn) + " disagrees with the guest PTE");
        }
      }
      auto m = spte_gfn_.find(it.entry_addr());
      if ((s & X86PageFormat::kRw) && m != spte_gfn_.end() && wp(m->second)) {
        ++bad;
        oracle_.report("writable_protected_table", now, who, m->second << kPageShift,
                       "writable shadow leaf maps write-protected guest table gfn " +
                           hex(m->second));
      }
    }
  }
  return bad + check_huge_consistency(now, who);
}

void ShadowMmu::teardown(Agent& a) {
  if (oracle_.enabled()) check_shadow_consistency(a.now(), a.name());
  mmu_lock_.lock(a);
  for (Page& p : pages_) {
    if (!p.live) continue;
    pool_.free(p.spt);
    a.advance(p_.page_alloc);
    p.live = false;
  }
  pages_.clear();
  free_slots_.clear();
  by_gfn_.clear();
  by_spt_.clear();
  rmap_.clear();
  spte_gfn_.clear();
  direct_by_gfn_.clear();
  huge_rmap_.clear();
  tracked_2m_.clear();
  mmu_lock_.unlock(a);
}

}  // namespace mmusim
