// Where things live in the guest: guest page-table pages at the bottom of guest-physical
// memory, the workload's data above 4 GiB, and the data's guest-virtual window. One address
// space shared by every vCPU (one guest process, as in KVM's demand_paging_test).
#pragma once
#include <cstdint>

#include "sim/core/types.hpp"

namespace mmusim {

struct GuestLayout {
  static constexpr Addr kPageTableGpa = Addr(1) << 20;  // guest page-table pages from 1 MiB
  static constexpr Addr kDataGpa = Addr(4) << 30;       // data from 4 GiB
  static constexpr Addr kDataGva = Addr(0x10) << 36;    // data's virtual window (1 TiB)

  uint64_t data_bytes = 0;  // bytes of data every vCPU together may touch

  Addr gva_of(uint64_t offset) const { return kDataGva + offset; }
  Addr gpa_of(uint64_t offset) const { return kDataGpa + offset; }
};

}  // namespace mmusim
