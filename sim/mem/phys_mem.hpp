// Functional contents of host physical memory that the model really reads: page-table pages
// (EPT and guest tables) and the words of simulated locks and counters. Sparse, 4 KiB pages,
// allocated on first write; an unbacked word reads as 0. Data pages of the guest are never
// backed (only their timing is simulated).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "sim/core/types.hpp"

namespace mmusim {

// Host physical address map. Data frames come from the bottom, page-table pages and kernel
// words from regions of their own, so a stray address is easy to recognise in a report.
namespace phys_layout {
constexpr Addr kDataBase = 0;                   // host frames backing guest data
constexpr Addr kPageTableBase = Addr(1) << 44;  // page-table page pool
constexpr Addr kKernelBase = Addr(1) << 45;     // lock words, counters, request bits
}  // namespace phys_layout

class PhysMem {
 public:
  using Page = std::array<uint64_t, kPageSize / 8>;

  uint64_t read64(Addr hpa) const;
  void write64(Addr hpa, uint64_t value);
  // Pointer to the word, backing its page (zeroed) if needed. Valid until drop_page().
  uint64_t* word(Addr hpa);
  void zero_page(Addr page_hpa);
  void drop_page(Addr page_hpa);
  size_t backed_pages() const { return pages_.size(); }

 private:
  Page* find(Addr hpa) const;
  std::unordered_map<Addr, std::unique_ptr<Page>> pages_;  // keyed by page number
  mutable Addr last_pfn_ = ~Addr(0);
  mutable Page* last_page_ = nullptr;
};

// Allocator of host pages for page tables, with liveness: the oracle asks whether a page a
// walker or the hypervisor touches is still allocated ("no use of a freed page-table page").
// Freed pages are reused last-in first-out, as a kernel page allocator tends to.
class PagePool {
 public:
  PagePool(PhysMem& mem, Addr base = phys_layout::kPageTableBase, uint64_t max_pages = 1ull << 30);
  Addr alloc();           // returns the host physical address of a zeroed page
  void free(Addr hpa);    // throws ModelError on a double free or foreign page
  bool live(Addr hpa) const;  // any address within the page
  uint64_t in_use() const { return in_use_; }
  uint64_t peak() const { return peak_; }
  bool owns(Addr hpa) const { return hpa >= base_ && hpa < base_ + max_pages_ * kPageSize; }

 private:
  PhysMem& mem_;
  Addr base_;
  uint64_t max_pages_;
  uint64_t next_ = 0;  // pages never handed out start here
  std::vector<uint64_t> free_list_;
  std::vector<uint8_t> live_;  // indexed by page index
  uint64_t in_use_ = 0, peak_ = 0;
};

}  // namespace mmusim
