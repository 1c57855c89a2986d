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

}  // namespace

// Words are the unit of everything the model stores; a misaligned address would silently alias
// the word below it, so it is a model bug.
void PhysMem::misaligned(Addr hpa) {
  throw ModelError("PhysMem: misaligned 8-byte access at " + hex(hpa));
}

PhysMem::Page* PhysMem::find_sparse(Addr pfn) const {
  auto it = sparse_.find(pfn);
  return it == sparse_.end() ? nullptr : it->second.get();
}

uint64_t PhysMem::read64_sparse(Addr hpa) const {
  const Page* p = find_sparse(hpa >> kPageShift);
  return p ? (*p)[word_index(hpa)] : 0;
}

PhysMem::Page* PhysMem::back(Addr hpa) {
  auto page = std::make_unique<Page>();
  page->fill(0);
  Page* p = page.get();
  ++backed_;
  const uint64_t w = hpa >> kWindowShift;
  if (w < kWindows && !windows_[w].anchored) {
    // Nothing is backed in this window yet, so nothing moves: its vector starts here.
    windows_[w].first_pfn = hpa >> kPageShift;
    windows_[w].anchored = true;
  } else if (w < kWindows && (hpa >> kPageShift) < windows_[w].first_pfn) {
    extend_down(windows_[w], storage_[w], hpa >> kPageShift);
  }
  uint64_t i;
  if (window_of(hpa, i)) {
    Window& win = windows_[w];
    if (i >= win.size) {
      // Windows fill upwards, so doubling keeps resizing rare.
      std::vector<std::unique_ptr<Page>>& storage = storage_[w];
      storage.resize(std::min(kDensePages, std::max<uint64_t>(i + 1, 2 * win.size)));
      win.slots = storage.data();
      win.size = storage.size();
    }
    win.slots[i] = std::move(page);
    return p;
  }
  sparse_.emplace(hpa >> kPageShift, std::move(page));
  return p;
}

// A page backed just below where a window's vector starts (the first page written in a region
// need not be its lowest: a table is often written before the page under it) would otherwise
// live in the hash map and cost a hash lookup at every access: the vector starts at it instead,
// when everything it holds still fits in the dense range. Pages of the map now inside the
// vector's range move into it; the pages themselves stay where they are (pointers stay valid).
void PhysMem::extend_down(Window& win, std::vector<std::unique_ptr<Page>>& storage, Addr pfn) {
  const uint64_t shift = win.first_pfn - pfn;
  if (win.size + shift > kDensePages) return;
  std::vector<std::unique_ptr<Page>> moved(win.size + shift);
  for (uint64_t i = 0; i < win.size; ++i) moved[i + shift] = std::move(storage[i]);
  for (auto it = sparse_.begin(); it != sparse_.end();) {
    if (it->first >= pfn && it->first < win.first_pfn) {
      moved[it->first - pfn] = std::move(it->second);
      it = sparse_.erase(it);
    } else {
      ++it;
    }
  }
  storage = std::move(moved);
  win.first_pfn = pfn;
  win.slots = storage.data();
  win.size = storage.size();
}

// Both page operations accept any address inside the page. An unbacked page already reads as
// zero, so zeroing it must not allocate it.
void PhysMem::zero_page(Addr page_hpa) {
  if (Page* p = find(page_hpa)) p->fill(0);
}

void PhysMem::drop_page(Addr page_hpa) {
  uint64_t i;
  if (window_of(page_hpa, i)) {
    Window& win = windows_[page_hpa >> kWindowShift];
    if (i < win.size && win.slots[i]) {
      win.slots[i].reset();
      --backed_;
    }
    return;
  }
  backed_ -= sparse_.erase(page_hpa >> kPageShift);
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

}  // namespace mmusim
