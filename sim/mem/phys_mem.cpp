#include "sim/mem/phys_mem.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Words are the unit of everything the model stores; a misaligned address would silently alias
// the word below it, so it is a model bug.
void check_aligned(Addr hpa) {
  if (hpa & 7) throw ModelError("PhysMem: misaligned 8-byte access at " + hex(hpa));
}

size_t word_index(Addr hpa) { return size_t((hpa & (kPageSize - 1)) >> 3); }

}  // namespace

// Walks re-read the same table page many times in a row, so one remembered page saves most
// hash lookups. Only backed pages are remembered: an absent page may be backed a moment later.
PhysMem::Page* PhysMem::find(Addr hpa) const {
  const Addr pfn = hpa >> kPageShift;
  if (pfn == last_pfn_) return last_page_;
  auto it = pages_.find(pfn);
  if (it == pages_.end()) return nullptr;
  last_pfn_ = pfn;
  last_page_ = it->second.get();
  return last_page_;
}

uint64_t PhysMem::read64(Addr hpa) const {
  check_aligned(hpa);
  const Page* p = find(hpa);
  return p ? (*p)[word_index(hpa)] : 0;
}

void PhysMem::write64(Addr hpa, uint64_t value) { *word(hpa) = value; }

uint64_t* PhysMem::word(Addr hpa) {
  check_aligned(hpa);
  Page* p = find(hpa);
  if (!p) {
    const Addr pfn = hpa >> kPageShift;
    auto page = std::make_unique<Page>();
    page->fill(0);
    p = page.get();
    pages_.emplace(pfn, std::move(page));
    last_pfn_ = pfn;
    last_page_ = p;
  }
  return &(*p)[word_index(hpa)];
}

// Both page operations accept any address inside the page. An unbacked page already reads as
// zero, so zeroing it must not allocate it.
void PhysMem::zero_page(Addr page_hpa) {
  if (Page* p = find(page_hpa)) p->fill(0);
}

void PhysMem::drop_page(Addr page_hpa) {
  const Addr pfn = page_hpa >> kPageShift;
  if (pfn == last_pfn_) {
    last_pfn_ = ~Addr(0);
    last_page_ = nullptr;
  }
  pages_.erase(pfn);
}

// ---------------------------------------------------------------------------------------------

PagePool::PagePool(PhysMem& mem, Addr base, uint64_t max_pages)
    : mem_(mem), base_(base), max_pages_(max_pages) {
  if (base & (kPageSize - 1)) throw ModelError("PagePool: base " + hex(base) + " not page aligned");
  if (max_pages == 0) throw ModelError("PagePool: empty pool");
}

Addr PagePool::alloc() {
  uint64_t idx;
  if (!free_list_.empty()) {
    // Last freed, first reused: the kernel's per-CPU page lists behave this way, and it makes a
    // use-after-free of a table page land on a live page again quickly, as it would for real.
    idx = free_list_.back();
    free_list_.pop_back();
  } else {
    if (next_ >= max_pages_)
      throw ModelError("PagePool: all " + std::to_string(max_pages_) + " pages in use");
    idx = next_++;
    if (live_.size() <= idx) live_.resize(std::max<size_t>(64, live_.size() * 2), 0);
  }
  live_[idx] = 1;
  ++in_use_;
  if (in_use_ > peak_) peak_ = in_use_;
  const Addr hpa = base_ + idx * kPageSize;
  mem_.zero_page(hpa);  // a reused page still holds its old tables
  return hpa;
}

void PagePool::free(Addr hpa) {
  if (!owns(hpa) || (hpa & (kPageSize - 1)))
    throw ModelError("PagePool: free of " + hex(hpa) + ", which is not a page of this pool");
  const uint64_t idx = (hpa - base_) >> kPageShift;
  if (idx >= next_ || !live_[idx])
    throw ModelError("PagePool: double free of page " + hex(hpa));
  live_[idx] = 0;
  --in_use_;
  free_list_.push_back(idx);
  // Contents stay until reuse, as freed memory does: the oracle catches readers through live().
}

bool PagePool::live(Addr hpa) const {
  if (!owns(hpa)) return false;
  const uint64_t idx = (hpa - base_) >> kPageShift;
  return idx < live_.size() && live_[idx] != 0;
}

}  // namespace mmusim
