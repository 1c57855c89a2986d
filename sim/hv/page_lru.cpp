#include "sim/hv/page_lru.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

PageLru::PageLru(const PageLruParams& p, PageAllocator& alloc, KernelHeap& heap, PhysMem& phys,
                 Stats& stats)
    : p_(p),
      alloc_(alloc),
      heap_(heap),
      phys_(phys),
      // Lines are taken only when the lists are kept, so a run without them lays out the
      // kernel heap exactly as before they were modelled.
      lists_line_(enabled() ? heap.alloc() : 0),
      size_line_(enabled() ? heap.alloc() : 0),
      lock_("host.mm.lru_lock", enabled() ? heap.alloc() : 0, stats),
      stats_(stats) {}

PageLru::Batch& PageLru::batch(Agent& a) {
  Batch& b = batches_[a.port().cpu()];
  if (!b.line) b.line = heap_.alloc();
  return b;
}

size_t PageLru::batched(int cpu) const {
  auto it = batches_.find(cpu);
  return it == batches_.end() ? 0 : it->second.pages.size();
}

void PageLru::link_after(Addr page, Addr prev) {
  const Addr next = prev ? links_.at(prev).second : first_;
  if (!links_.emplace(page, std::make_pair(prev, next)).second)
    throw ModelError("host LRU: a page added twice");
  if (prev) links_.at(prev).second = page; else first_ = page;
  if (next) links_.at(next).first = page;
}

void PageLru::unlink(Addr page) {
  const auto [prev, next] = links_.at(page);
  if (prev) links_.at(prev).second = next; else first_ = next;
  if (next) links_.at(next).first = prev;
  links_.erase(page);
}

// The batch is per CPU and worked on with preemption off (a local lock), so the VMM and host
// threads that share a CPU cannot interleave on it: its contents are kept in C++, as the page
// allocator keeps its per-CPU lists, and the line's load and store are performed for timing.
void PageLru::add(Agent& a, Addr head, unsigned order) {
  if (!enabled()) return;
  stats_.adds.inc();
  alloc_.get_page(a, head);  // the batch's own reference
  Batch& b = batch(a);
  a.load(b.line);
  b.pages.emplace_back(head, order);
  a.store(b.line, b.pages.size());
  if (b.pages.size() >= p_.batch || order != 0) move_to_list(a, b);
}

void PageLru::move_to_list(Agent& a, Batch& b) {
  stats_.moves.inc();
  std::vector<std::pair<Addr, unsigned>> pages;
  pages.swap(b.pages);
  a.store(b.line, 0);
  lock_.lock(a);
  for (const auto& [page, order] : pages) {
    a.fetch_or(PageAllocator::flags_word(page), PageAllocator::kPgLru);  // folio_set_lru
    // list_add: the page's own link, the old first page's back link, the head.
    const Addr old_first = first_;
    link_after(page, 0);
    a.store(lru_line(page), old_first);
    a.store(lru_line(old_first) + 8, page);
    a.store(lists_line_, page);
    a.store(size_line_, links_.size());  // update_lru_size
  }
  lock_.unlock(a);
  // release_pages / folios_put: the batch's references go; a page unmapped meanwhile is freed
  // here, and its put takes it off the list again.
  for (const auto& [page, order] : pages) alloc_.put_page(a, page, order);
}

void PageLru::remove_freed(Agent& a, Addr head) {
  if (!on_list(head)) return;
  stats_.removes.inc();
  lock_.lock(a);
  const auto [prev, next] = links_.at(head);
  unlink(head);
  // list_del: the neighbours' links (the head's line at either end).
  a.store(lru_line(prev), next);
  a.store(lru_line(next) + 8, prev);
  a.store(size_line_, links_.size());
  // __folio_clear_lru_flags: a plain store, nobody else holds the page any more.
  const Addr flags = PageAllocator::flags_word(head);
  a.store(flags, a.load(flags) & ~PageAllocator::kPgLru);
  lock_.unlock(a);
}

void PageLru::add_functional(Addr head) {
  if (!enabled()) return;
  link_after(head, 0);
  *phys_.word(PageAllocator::flags_word(head)) |= PageAllocator::kPgLru;
}

void PageLru::remove_functional(Addr head) {
  // khugepaged drains every CPU's batch first (lru_add_drain_all): a page still in one leaves
  // it with the batch's reference.
  for (auto& [cpu, b] : batches_)
    for (auto it = b.pages.begin(); it != b.pages.end(); ++it)
      if (it->first == head) {
        b.pages.erase(it);
        alloc_.set_refcount_functional(head, alloc_.refcount(head) - 1);
        break;
      }
  if (!on_list(head)) return;
  unlink(head);
  *phys_.word(PageAllocator::flags_word(head)) &= ~PageAllocator::kPgLru;
}

// __split_huge_page takes the tails from the last down to the first and links each just
// before the head (lru_add_page_tail: list_add_tail on the head's link), so the list reads
// tail n-1, ..., tail 1, head.
void PageLru::split_functional(Addr head, uint64_t pages) {
  if (!on_list(head)) return;
  for (uint64_t i = pages - 1; i >= 1; --i) {
    const Addr tail = head + i * kPageSize;
    link_after(tail, links_.at(head).first);
    *phys_.word(PageAllocator::flags_word(tail)) |= PageAllocator::kPgLru;
  }
}

}  // namespace mmusim
