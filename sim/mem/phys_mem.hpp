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

  PhysMem() = default;
  // Not copyable or movable: the memory system and the MMUs hold references to it, and its
  // windows keep pointers into their own storage.
  PhysMem(const PhysMem&) = delete;
  PhysMem& operator=(const PhysMem&) = delete;

  uint64_t read64(Addr hpa) const {
    check_aligned(hpa);
    const uint64_t* w = peek(hpa);
    return w ? *w : read64_sparse(hpa);
  }
  // For a caller that keeps its fast path free of calls: the word at an aligned hpa inside one
  // of the windows (below), a zero word if its page is unbacked, or nullptr outside the windows,
  // where only read64() can tell. Valid until the next write or drop_page().
  const uint64_t* peek(Addr hpa) const {
    const uint64_t w = hpa >> kWindowShift;
    if (w >= kWindows) return nullptr;
    const Window& win = windows_[w];
    const uint64_t i = (hpa >> kPageShift) - win.first_pfn;  // below first_pfn wraps: huge
    if (i < win.size) {
      const Page* p = win.slots[i].get();
      return p ? &(*p)[word_index(hpa)] : &kZeroWord;
    }
    return i < kDensePages ? &kZeroWord : nullptr;
  }
  void write64(Addr hpa, uint64_t value) { *word(hpa) = value; }
  // Whether the page of hpa holds stored words (an unbacked page reads zero throughout).
  bool backed(Addr hpa) const { return find(hpa & ~Addr(kPageSize - 1)) != nullptr; }
  // Pointer to the word, backing its page (zeroed) if needed. Valid until drop_page().
  uint64_t* word(Addr hpa) {
    check_aligned(hpa);
    Page* p = find(hpa);
    return &(*(p ? p : back(hpa)))[word_index(hpa)];
  }
  void zero_page(Addr page_hpa);
  void drop_page(Addr page_hpa);
  size_t backed_pages() const { return backed_; }

  // Pages this far above the lowest page backed in their window are indexed directly (a page
  // backed below the vector's start moves its start down, while this span still covers it
  // all); anything else (or above the kernel window) goes to the hash map.
  static constexpr uint64_t kDensePages = uint64_t(1) << 22;  // 16 GiB per window

 private:
  // Every page-table and kernel-word access of the model lands here (tens per simulated fault).
  // The address map has three windows of 2^44 bytes (guest data frames, which also hold guest
  // page tables; the page-table pool; kernel words), each filled upwards without big gaps
  // (HostMm, PagePool, KernelHeap), so each window's pages sit in a plain vector indexed by
  // page number, from the first page backed there (guest tables start a gigabyte into the data
  // window): no hashing. The hash map keeps every other address working.
  static constexpr unsigned kWindowShift = 44;
  static constexpr uint64_t kWindows = 3;
  static_assert(phys_layout::kDataBase == 0 &&
                    phys_layout::kPageTableBase == Addr(1) << kWindowShift &&
                    phys_layout::kKernelBase == Addr(2) << kWindowShift,
                "PhysMem windows follow phys_layout");
  // What a lookup reads, kept to 32 bytes so a window is found with a shift.
  struct alignas(32) Window {
    std::unique_ptr<Page>* slots = nullptr;  // storage_[w].data()
    uint64_t size = 0;                       // storage_[w].size()
    Addr first_pfn = 0;  // page number of slots[0]; the window's start until a page is backed
    bool anchored = false;
  };

  // The window whose vector covers hpa's page, with the page's index there (possibly beyond
  // the vector's current size: not backed), or nullptr when the hash map is responsible.
  const Window* window_of(Addr hpa, uint64_t& i) const {
    const uint64_t w = hpa >> kWindowShift;
    if (w >= kWindows) return nullptr;
    const Window& win = windows_[w];
    i = (hpa >> kPageShift) - win.first_pfn;  // below first_pfn wraps to a huge index
    return i < kDensePages ? &win : nullptr;
  }
  Page* find(Addr hpa) const {
    const uint64_t w = hpa >> kWindowShift;
    if (w < kWindows) {
      const Window& win = windows_[w];
      const uint64_t i = (hpa >> kPageShift) - win.first_pfn;
      if (i < win.size) return win.slots[i].get();
      if (i < kDensePages) return nullptr;  // the window's business, never backed
    }
    return find_sparse(hpa >> kPageShift);
  }
  [[gnu::noinline]] Page* find_sparse(Addr pfn) const;
  [[gnu::noinline]] uint64_t read64_sparse(Addr hpa) const;
  static constexpr uint64_t kZeroWord = 0;
  [[gnu::noinline]] Page* back(Addr hpa);  // backs the (unbacked) page of hpa with zeros
  void extend_down(Window& win, std::vector<std::unique_ptr<Page>>& storage, Addr pfn);
  static void check_aligned(Addr hpa) {
    if (hpa & 7) misaligned(hpa);
  }
  [[gnu::noinline, noreturn]] static void misaligned(Addr hpa);
  static size_t word_index(Addr hpa) { return size_t((hpa & (kPageSize - 1)) >> 3); }

  Window windows_[kWindows] = {{nullptr, 0, Addr(0) << (kWindowShift - kPageShift), false},
                               {nullptr, 0, Addr(1) << (kWindowShift - kPageShift), false},
                               {nullptr, 0, Addr(2) << (kWindowShift - kPageShift), false}};
  std::vector<std::unique_ptr<Page>> storage_[kWindows];
  std::unordered_map<Addr, std::unique_ptr<Page>> sparse_;  // keyed by page number
  size_t backed_ = 0;
};

// Allocator of host pages for page tables, with liveness: the oracle asks whether a page a
// walker or the hypervisor touches is still allocated ("no use of a freed page-table page").
// Freed pages are reused last-in first-out, as a kernel page allocator tends to.
class PagePool {
 public:
  PagePool(PhysMem& mem, Addr base = phys_layout::kPageTableBase, uint64_t max_pages = 1ull << 30);
  Addr alloc();           // returns the host physical address of a zeroed page
  void free(Addr hpa);    // throws ModelError on a double free or foreign page
  // Any address within the page. live_ is only ever set below max_pages_, so the index check
  // alone also answers owns() (an address below base_ wraps to a huge index).
  bool live(Addr hpa) const {
    const uint64_t idx = (hpa - base_) >> kPageShift;
    return idx < live_.size() && live_[idx] != 0;
  }
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
