#include "sim/hv/page_allocator.hpp"

#include "sim/core/error.hpp"
#include "sim/hv/page_lru.hpp"

namespace mmusim {

PageAllocator::PageAllocator(const PageAllocatorParams& p, KernelHeap& heap, PhysMem& phys,
                             Stats& stats)
    : p_(p),
      heap_(heap),
      phys_(phys),
      zone_free_area_(heap.alloc()),
      zone_lock_("host.mm.zone_lock", heap.alloc(), stats),
      next_frame_(p.first_frame),
      stats_(stats) {
  if (p_.pcp_batch == 0 || p_.pcp_high < p_.pcp_batch)
    throw ModelError("page allocator: pcp batch must be at least 1 and high at least the batch");
}

PageAllocator::PerCpuPages& PageAllocator::pcp(Agent& a) {
  PerCpuPages& c = pcps_[a.port().cpu()];
  if (!c.line) c.line = heap_.alloc();
  return c;
}

Addr PageAllocator::take_from_zone(unsigned order) {
  std::vector<Addr>& free = zone_free_[order];
  if (!free.empty()) {
    const Addr f = free.back();
    free.pop_back();
    return f;
  }
  const uint64_t bytes = kPageSize << order;
  next_frame_ = (next_frame_ + bytes - 1) & ~(bytes - 1);
  const Addr f = next_frame_;
  next_frame_ += bytes;
  return f;
}

void PageAllocator::give_to_zone(Addr hpa, unsigned order) { zone_free_[order].push_back(hpa); }

Addr PageAllocator::alloc(Agent& a, unsigned order) {
  stats_.allocs.inc();
  Addr page;
  if (order == 0) {
    PerCpuPages& c = pcp(a);
    a.load(c.line);  // the list's count and head
    if (c.pages.empty()) {
      // rmqueue_bulk: a batch off the zone's free lists, each page's link rewritten.
      stats_.refills.inc();
      zone_lock_.lock(a);
      for (unsigned i = 0; i < p_.pcp_batch; ++i) {
        const Addr f = take_from_zone(0);
        a.store(page_struct(f) + kLruOffset, c.line);
        c.pages.push_back(f);
      }
      a.store(zone_free_area_, 0);
      zone_lock_.unlock(a);
    }
    page = c.pages.back();
    c.pages.pop_back();
    a.load(page_struct(page) + kLruOffset);  // list_del: the next page's link
    a.store(c.line, c.pages.size());
  } else {
    zone_lock_.lock(a);
    page = take_from_zone(order);
    a.store(page_struct(page) + kLruOffset, 0);
    a.store(zone_free_area_, 0);
    zone_lock_.unlock(a);
  }
  a.store(refcount_word(page), 1);  // set_page_refcounted
  return page;
}

void PageAllocator::free(Agent& a, Addr hpa, unsigned order) {
  stats_.frees.inc();
  if (order != 0) {
    zone_lock_.lock(a);
    a.store(page_struct(hpa) + kLruOffset, zone_free_area_);
    a.store(zone_free_area_, 0);
    give_to_zone(hpa, order);
    zone_lock_.unlock(a);
    return;
  }
  PerCpuPages& c = pcp(a);
  a.store(page_struct(hpa) + kLruOffset, c.line);
  c.pages.push_back(hpa);
  a.store(c.line, c.pages.size());
  if (c.pages.size() <= p_.pcp_high) return;
  // free_pcppages_bulk: the coldest batch goes back to the zone.
  stats_.drains.inc();
  zone_lock_.lock(a);
  for (unsigned i = 0; i < p_.pcp_batch; ++i) {
    a.store(page_struct(c.pages[i]) + kLruOffset, zone_free_area_);
    give_to_zone(c.pages[i], 0);
  }
  c.pages.erase(c.pages.begin(), c.pages.begin() + p_.pcp_batch);
  a.store(zone_free_area_, 0);
  zone_lock_.unlock(a);
  a.store(c.line, c.pages.size());
}

void PageAllocator::get_page(Agent& a, Addr head) {
  stats_.gets.inc();
  a.fetch_add(refcount_word(head), 1);
}

bool PageAllocator::try_get_page(Agent& a, Addr head) {
  const Addr w = refcount_word(head);
  uint64_t seen = a.load(w);
  for (;;) {
    if (seen == 0) return false;  // being freed: the caller backs off to the slow path
    const uint64_t old = a.cmpxchg(w, seen, seen + 1);
    if (old == seen) break;
    stats_.try_get_retries.inc();
    seen = old;
  }
  stats_.gets.inc();
  return true;
}

bool PageAllocator::put_page(Agent& a, Addr head, unsigned order) {
  stats_.puts.inc();
  const uint64_t old = a.fetch_add(refcount_word(head), ~uint64_t(0));
  if (old == 0) throw ModelError("host page allocator: put_page on a page with no reference");
  if (old != 1) return false;
  // As release_pages and __page_cache_release: off the LRU list, uncharged, then freed.
  if (lru_) lru_->remove_freed(a, head);
  if (memcg_) memcg_->uncharge(a, memcg_word(head), uint64_t(1) << order);
  free(a, head, order);
  return true;
}

Addr PageAllocator::alloc_functional(unsigned order) {
  const Addr page = take_from_zone(order);
  set_refcount_functional(page, 1);
  return page;
}

}  // namespace mmusim
