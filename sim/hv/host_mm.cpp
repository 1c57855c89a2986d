#include "sim/hv/host_mm.hpp"

#include <vector>

#include "sim/core/error.hpp"

namespace mmusim {

using namespace host_pte;

namespace {
constexpr unsigned kLevelBits = 9;  // host tables of 512 entries (PTRS_PER_PTE): fixed by Linux
uint64_t pages_in_level(unsigned level) { return uint64_t(1) << (kLevelBits * (level - 1)); }
// The 4 KiB page of gfn inside the leaf entry `e` at `level`.
HostPage page_in_leaf(uint64_t gfn, uint64_t e, unsigned level) {
  const uint64_t base = gfn & ~(pages_in_level(level) - 1);
  return HostPage{address(e) + (gfn - base) * kPageSize, level, writable(e)};
}
}  // namespace

bool HostMm::usable(uint64_t e, unsigned level, bool write) {
  return present(e) && (level == 1 || (e & kHuge)) && (!write || writable(e));
}

HostMm::HostMm(const HostMmParams& p, KernelHeap& heap, PhysMem& phys, Stats& stats)
    : HostMm(p, heap, phys,
             std::make_unique<HostMemory>(p.alloc, p.memcg, p.lru, heap, phys, stats),
             nullptr, stats) {}

HostMm::HostMm(const HostMmParams& p, KernelHeap& heap, PhysMem& phys, HostMemory& shared,
               Stats& stats)
    : HostMm(p, heap, phys, nullptr, &shared, stats) {}

HostMm::HostMm(const HostMmParams& p, KernelHeap& heap, PhysMem& phys,
               std::unique_ptr<HostMemory> own, HostMemory* shared, Stats& stats)
    : p_(p),
      phys_(phys),
      own_memory_(std::move(own)),
      memory_(shared ? *shared : *own_memory_),
      alloc_(memory_.alloc),
      pt_(alloc_, heap, phys, stats),
      mmap_lock_("host.mm.mmap_lock", heap.alloc(), stats),
      vma_word_(heap.alloc()),
      hugetlb_mutex_stats_(stats, "host.mm.hugetlb_fault_mutex"),
      heap_(heap),
      backed_bytes_(memory_.backed_bytes),
      stats_(memory_.stats) {}

void HostMm::set_backing_level(uint64_t gfn, uint64_t count, unsigned level) {
  if (level < 1 || level > 3) throw ModelError("host backing level must be 1..3");
  level_ranges_[gfn] = {gfn + count, level};
}

unsigned HostMm::level_of(uint64_t gfn) const {
  auto it = level_ranges_.upper_bound(gfn);
  if (it != level_ranges_.begin()) {
    --it;
    if (gfn < it->second.first) return it->second.second;
  }
  return p_.backing_level;
}

HostPage HostMm::lookup(uint64_t gfn) const {
  // The host page tables in simulated memory are the only record of what backs a gfn.
  for (unsigned level = 3; level >= 1; --level) {
    const uint64_t e = pt_.get_functional(gfn, level);
    if (!present(e)) {
      if (level == 1) break;
      continue;
    }
    if (level > 1 && !(e & kHuge)) continue;  // a table: look one level down
    return page_in_leaf(gfn, e, level);
  }
  return HostPage{0, 0, false};
}

HostPage HostMm::resolve_functional(uint64_t gfn) {
  HostPage p = lookup(gfn);
  if (p.level) return p;
  const unsigned level = level_of(gfn);
  const uint64_t base = gfn & ~(pages_in_level(level) - 1);
  const Addr page = alloc_.alloc_functional(order_of(level));
  if (level == 1) phys_.zero_page(page);
  if (level == 1 || (level == 2 && !p_.hugetlb)) memory_.lru.add_functional(page);
  const uint64_t e = leaf(page, level, true);
  pt_.set_functional(base, level, e);
  backed_bytes_ += pages_in_level(level) * kPageSize;
  return page_in_leaf(gfn, e, level);
}

bool HostMm::gup_fast(Agent& a, uint64_t gfn, bool write, HostPage& out) {
  const HostPageTables::Walk w = pt_.walk(a, gfn);
  if (!usable(w.entry, w.level, write)) return false;
  const Addr head = address(w.entry);
  if (!alloc_.try_get_page(a, head)) return false;  // try_grab_folio
  // The entry may have changed while the reference was taken: GUP fast re-reads it and backs
  // off to the slow path if so.
  if (a.load(w.entry_addr, MemClass::PageTable) != w.entry) {
    alloc_.put_page(a, head, order_of(w.level));
    return false;
  }
  set_page_referenced(a, head);
  out = page_in_leaf(gfn, w.entry, w.level);
  return true;
}

bool HostMm::follow_page(Agent& a, uint64_t gfn, bool write, HostPage& out) {
  const HostPageTables::Walk w = pt_.walk(a, gfn);
  if (!present(w.entry) || w.level > 3) return false;
  SpinLock& ptl = pt_.lock_for(gfn, w.level);
  ptl.lock(a);
  const uint64_t e = a.load(w.entry_addr, MemClass::PageTable);
  const bool ok = usable(e, w.level, write);
  if (ok) {
    alloc_.get_page(a, address(e));
    // FOLL_TOUCH: follow_page_pte marks a small page accessed under the PTE lock. Its
    // set_page_dirty, for a write through a clean PTE, has nothing to do on the model's paths:
    // a writable entry is taken by the lockless path, so a write comes here only right after
    // the write fault that made the entry writable and dirty. A huge leaf's FOLL_TOUCH only
    // sets young and dirty bits the model's entries do not carry.
    if (w.level == 1) mark_page_accessed(a, address(e));
    out = page_in_leaf(gfn, e, w.level);
  }
  ptl.unlock(a);
  return ok;
}

// gup_pte_range and its huge-leaf forms: SetPageReferenced, a locked OR on the struct page line
// whether or not the flag is set already, after the reference is taken and the entry re-read.
void HostMm::set_page_referenced(Agent& a, Addr page) {
  stats_.referenced.inc();
  a.fetch_or(PageAllocator::flags_word(page), PageAllocator::kPgReferenced);
}

// mark_page_accessed with the classic LRU (not the multi-generational one). The model keeps the
// inactive list only (sim/hv/page_lru.hpp) and never activates a page: an unreferenced page
// becomes referenced; for a referenced one the kernel would activate it (folio_activate: a
// reference, the CPU's activate batch, then lru_lock and a move to the active list), which is
// not modelled; the model clears its flag, as for a page still in another CPU's LRU batch.
// Not modelled there either: the search of this CPU's batch (a local line) and
// workingset_activation's atomic add on the lruvec's age, a line every CPU shares.
void HostMm::mark_page_accessed(Agent& a, Addr page) {
  stats_.referenced.inc();
  const Addr flags = PageAllocator::flags_word(page);
  if (!(a.load(flags) & PageAllocator::kPgReferenced))
    a.fetch_or(flags, PageAllocator::kPgReferenced);
  else
    a.fetch_and(flags, ~PageAllocator::kPgReferenced);
}

HostPage HostMm::resolve(Agent& a, uint64_t gfn, bool write) {
  stats_.lookups.inc();
  HostPage out;
  if (gup_fast(a, gfn, write, out)) {
    stats_.gup_fast.inc();
    return out;
  }
  stats_.gup_slow.inc();
  mmap_lock_.read_lock(a);
  a.load(vma_word_);  // find_vma
  // Each fault installs the page, breaks COW or finds a racer's page, so the next look finds it
  // unless a host event took it away meanwhile; a loop that makes no progress is a model bug.
  for (unsigned tries = 0; !follow_page(a, gfn, write, out); ++tries) {
    if (tries == 64) throw ModelError("host mm: get_user_pages made no progress on a page");
    handle_fault(a, gfn, write);
  }
  mmap_lock_.read_unlock(a);
  return out;
}

HostPage HostMm::user_access(Agent& a, uint64_t gfn, bool write) {
  HostPageTables::Walk w = pt_.walk(a, gfn);
  if (!usable(w.entry, w.level, write)) {
    mmap_lock_.read_lock(a);
    for (unsigned tries = 0;; ++tries) {
      w = pt_.walk(a, gfn);
      if (usable(w.entry, w.level, write)) break;
      if (tries == 64) throw ModelError("host mm: a user access made no progress on a page");
      handle_fault(a, gfn, write);
    }
    mmap_lock_.read_unlock(a);
  }
  return page_in_leaf(gfn, w.entry, w.level);
}

void HostMm::release(Agent& a, const HostPage& page) {
  if (!page.level) return;
  const Addr head = page.hpa & ~(pages_in_level(page.level) * kPageSize - 1);
  // The mapping still holds its own reference unless the page was unmapped meanwhile; then
  // this put frees it.
  alloc_.put_page(a, head, order_of(page.level));
}

// ---------------------------------------------------------------------------------------------
// Host events on huge backing pages (functional)

bool HostMm::split_backing(uint64_t gfn) {
  HostPage p = lookup(gfn);
  if (p.level <= 1) return false;
  const uint64_t n = pages_in_level(p.level);
  const uint64_t base = gfn & ~(n - 1);
  const Addr head = p.hpa - (gfn - base) * kPageSize;
  const bool w = p.writable;
  // split_huge_page refuses a page with references beyond its mappings (can_split_folio:
  // -EAGAIN), such as KVM's between resolve and release or an LRU batch's: the split would
  // leave them on a head that no longer covers the 2 MiB.
  if (alloc_.refcount(head) != 1) return false;
  // split_huge_page: every small page gets its own reference (the mapping's) and the head's
  // memory cgroup (split_page_memcg), so each uncharges itself when freed.
  const uint64_t memcg = phys_.read64(PageAllocator::memcg_word(head));
  for (uint64_t i = 0; i < n; ++i) {
    pt_.set_functional(base + i, 1, leaf(head + i * kPageSize, 1, w));
    alloc_.set_refcount_functional(head + i * kPageSize, 1);
    if (memcg) *phys_.word(PageAllocator::memcg_word(head + i * kPageSize)) = memcg;
  }
  memory_.lru.split_functional(head, n);
  level_ranges_[base] = {base + n, 1};
  return true;
}

void HostMm::collapse_backing(uint64_t gfn, unsigned level) {
  const uint64_t n = pages_in_level(level);
  const uint64_t base = gfn & ~(n - 1);
  for (uint64_t i = 0; i < n; ++i) {
    const HostPage p = lookup(base + i);
    if (p.level == 1) {
      backed_bytes_ -= kPageSize;  // khugepaged frees the small pages
      memory_.lru.remove_functional(p.hpa);
    }
  }
  level_ranges_[base] = {base + n, level};
  const Addr page = alloc_.alloc_functional(order_of(level));
  if (level == 2 && !p_.hugetlb) memory_.lru.add_functional(page);
  pt_.set_functional(base, level, leaf(page, level, true));
  backed_bytes_ += n * kPageSize;
}

// ---------------------------------------------------------------------------------------------
// Host memory-manager events

bool HostMm::small_backing(uint64_t gfn) {
  HostPage p = lookup(gfn);
  if (p.level == 0) return false;
  return p.level == 1 || split_backing(gfn);
}

Addr HostMm::new_shared_frame() {
  // KSM's stable page: its own reference is the stable tree's.
  backed_bytes_ += kPageSize;
  const Addr page = alloc_.alloc_functional(0);
  memory_.lru.add_functional(page);
  return page;
}

uint64_t HostMm::clear_pte(Agent& a, uint64_t gfn) {
  const Addr pte = pt_.entry_for(a, gfn, 1);
  SpinLock& ptl = pt_.lock_for(gfn, 1);
  ptl.lock(a);
  const uint64_t old = a.load(pte, MemClass::PageTable);
  a.advance(p_.host_pte_update);
  a.store(pte, 0, MemClass::PageTable);
  ptl.unlock(a);
  if (present(old)) alloc_.put_page(a, address(old), 0);
  return old;
}

void HostMm::replace_frame(Agent& a, uint64_t gfn, Addr frame, bool writable, bool young,
                           bool dirty, Cycles work, LruAdd lru) {
  const Addr hva = hva_of(gfn);
  // Linux's order (wp_page_copy, replace_page, migration): invalidate the range, switch the
  // host PTE and announce it with change_pte, then end the invalidation.
  // The copy (or compare) happens before the mapping is touched; only the PTE switch sits
  // inside the invalidation, so faults retry only while the switch itself is in progress.
  a.advance(work);
  if (notifier_) notifier_->invalidate_range_start(a, hva, hva + kPageSize);
  const Addr pte = pt_.entry_for(a, gfn, 1);
  SpinLock& ptl = pt_.lock_for(gfn, 1);
  ptl.lock(a);
  const uint64_t old = a.load(pte, MemClass::PageTable);
  a.advance(p_.host_pte_update);
  if (lru == LruAdd::UnderEntryLock) memory_.lru.add(a, frame, 0);
  a.store(pte, leaf(frame, 1, writable), MemClass::PageTable);
  ptl.unlock(a);
  if (lru == LruAdd::AfterEntryLock) memory_.lru.add(a, frame, 0);
  if (present(old)) alloc_.put_page(a, address(old), 0);  // the old frame's mapping reference
  if (notifier_) {
    HostPte hp;
    hp.hpa = frame;
    hp.present = true;
    hp.writable = writable;
    hp.young = young;
    hp.dirty = dirty;
    notifier_->change_pte(a, hva, hp);
    notifier_->invalidate_range_end(a, hva, hva + kPageSize);
  }
}

bool HostMm::cow_break(Agent& a, uint64_t gfn) {
  if (!small_backing(gfn)) return false;
  stats_.ev_cow.inc();
  const Addr frame = alloc_.alloc(a, 0);  // the private copy
  // Charged before the copy, as wp_page_copy does from 6.8 (folio_prealloc); earlier
  // releases charge it after the copy (the order is not on the release timeline).
  charge(a, frame, 0);
  backed_bytes_ += kPageSize;
  // wp_page_copy adds the copy to the LRU under the PTE lock, before the entry switch.
  replace_frame(a, gfn, frame, true, true, true, p_.host_page_copy, LruAdd::UnderEntryLock);
  return true;
}

bool HostMm::ksm_merge(Agent& a, uint64_t gfn, Addr shared) {
  if (!small_backing(gfn) || lookup(gfn).hpa == shared) return false;
  stats_.ev_ksm.inc();
  // ksmd works under mmap_lock for read. It write-protects the page, compares it with the
  // stable page and maps that one read-only; the new mapping is clean and old (mk_pte sets
  // neither bit). The private frame goes back to the allocator with its last reference.
  mmap_lock_.read_lock(a);
  alloc_.get_page(a, shared);
  backed_bytes_ -= kPageSize;
  replace_frame(a, gfn, shared, false, false, false, p_.host_page_copy, LruAdd::None);
  mmap_lock_.read_unlock(a);
  return true;
}

bool HostMm::migrate(Agent& a, uint64_t gfn) {
  if (!small_backing(gfn)) return false;
  stats_.ev_migrate.inc();
  const bool w = lookup(gfn).writable;
  const Addr frame = alloc_.alloc(a, 0);
  memory_.memcg.migrate(a, PageAllocator::memcg_word(lookup(gfn).hpa),
                        PageAllocator::memcg_word(frame));
  // The new frame joins the LRU when migration puts it back, after the entries point at it;
  // the old one leaves the list when freed (migration isolated it first: not modelled apart).
  replace_frame(a, gfn, frame, w, true, false, p_.host_page_copy, LruAdd::AfterEntryLock);
  return true;
}

void HostMm::drop_backing(Agent& a, uint64_t gfn, Cycles work) {
  const Addr hva = hva_of(gfn);
  // try_to_unmap clears the PTE inside the invalidation; writing the page to swap comes after.
  if (notifier_) notifier_->invalidate_range_start(a, hva, hva + kPageSize);
  clear_pte(a, gfn);
  backed_bytes_ -= kPageSize;
  if (notifier_) notifier_->invalidate_range_end(a, hva, hva + kPageSize);
  a.advance(work);
}

bool HostMm::swap_out(Agent& a, uint64_t gfn) {
  if (!small_backing(gfn)) return false;
  stats_.ev_swap_out.inc();
  swapped_.insert(gfn);
  drop_backing(a, gfn, p_.host_swap_io);
  return true;
}

bool HostMm::balloon(Agent& a, uint64_t gfn) {
  if (!small_backing(gfn)) return false;
  stats_.ev_balloon.inc();
  drop_backing(a, gfn, 0);
  return true;
}

uint64_t HostMm::unmap_range(Agent& a, uint64_t gfn, uint64_t count) {
  std::vector<uint64_t> backed;
  for (uint64_t g = gfn; g < gfn + count; ++g)
    if (small_backing(g)) backed.push_back(g);
  if (backed.empty()) return 0;
  // MADV_DONTNEED (zap_page_range) runs under mmap_lock for read.
  mmap_lock_.read_lock(a);
  const Addr hva = hva_of(gfn), hva_end = hva_of(gfn + count);
  if (notifier_) notifier_->invalidate_range_start(a, hva, hva_end);
  for (uint64_t g : backed) {
    stats_.ev_balloon.inc();
    clear_pte(a, g);
    backed_bytes_ -= kPageSize;
  }
  if (notifier_) notifier_->invalidate_range_end(a, hva, hva_end);
  mmap_lock_.read_unlock(a);
  return backed.size();
}

void HostMm::vma_change(Agent& a) {
  stats_.vma_changes.inc();
  constexpr unsigned kLines = 4 + 3;  // a maple tree leaf node, a vm_area_struct
  if (vma_update_lines_.empty())
    for (unsigned i = 0; i < kLines; ++i) vma_update_lines_.push_back(heap_.alloc());
  mmap_lock_.write_lock(a);
  // The tree is walked from the root; the writer fills a new node and a new VMA, then
  // publishes the node in the root, where every later find_vma reads it.
  const uint64_t root = a.load(vma_word_);
  for (Addr line : vma_update_lines_) a.store(line, root + 1);
  a.store(vma_word_, root + 1);
  mmap_lock_.write_unlock(a);
}

bool HostMm::clear_young(Agent& a, uint64_t gfn) {
  a.advance(p_.host_pte_update);
  return notifier_ && small_backing(gfn) &&
         notifier_->clear_young(a, hva_of(gfn), hva_of(gfn + 1));
}

bool HostMm::test_young(Agent& a, uint64_t gfn) {
  return notifier_ && small_backing(gfn) && notifier_->test_young(a, hva_of(gfn));
}

}  // namespace mmusim
