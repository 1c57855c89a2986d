// Builds the guest's own page tables in guest memory before the run, as KVM's selftests do
// (virt_map): x86-64 4- or 5-level tables mapping the data window with 4 KiB pages. Table pages
// are guest frames in the page-table region; the host backs them, and their contents are real
// entries in simulated memory that the hardware walker reads.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "sim/core/types.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "workloads/guest_layout.hpp"

namespace mmusim {

class GuestPageTables {
 public:
  // `backing(gfn)` returns the host physical address backing a guest frame (untimed).
  GuestPageTables(const PageTableFormat& fmt, PhysMem& phys,
                  std::function<Addr(uint64_t gfn)> backing);
  // Maps [gva, gva + bytes) to [gpa, gpa + bytes) with 4 KiB pages, writable.
  void map(Addr gva, Addr gpa, uint64_t bytes);
  Addr root_gpa() const { return root_gpa_; }
  // Guest frames holding page tables (the harness pre-maps them in stage 2).
  const std::vector<uint64_t>& table_gfns() const { return table_gfns_; }

 private:
  Addr new_table();
  Addr hpa_of(Addr gpa) const;
  const PageTableFormat& fmt_;
  PhysMem& phys_;
  std::function<Addr(uint64_t)> backing_;
  Addr next_gpa_ = GuestLayout::kPageTableGpa;
  Addr root_gpa_ = 0;
  std::vector<uint64_t> table_gfns_;
};

}  // namespace mmusim
