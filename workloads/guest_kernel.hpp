// A small modelled guest kernel for traces of guest addresses: on a guest page fault it takes
// the guest's page-table lock, walks the guest's own tables in guest memory, allocates missing
// table pages (from GuestLayout::kPageTableGpa up) and a data frame (from kDataGpa up, in
// first-touch order, or at the trace's own guest-physical address for gpa traces), zeroes the
// frame, and writes real guest PTEs. Every read and write goes through the vCPU's stage-2
// translation, so the guest's table pages and fresh frames take second-stage faults as in a VM
// whose memory the host has not populated yet.
#pragma once
#include <cstdint>
#include <optional>
#include <systemc>

#include "sim/core/stats_group.hpp"
#include "sim/sync/event.hpp"
#include "sim/cpu/guest_os.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct GuestKernelParams {
  Cycles guest_fault_work = 1040;  // #PF entry, VMA lookup and exit, besides its PTE accesses
  Cycles guest_clear_page = 777;   // zeroing a newly allocated 4 KiB frame
  Cycles guest_lock_spin = 104;    // first poll interval of a contended page_table_lock
  // The poll interval doubles up to this many times guest_lock_spin (bounds the IPI delay
  // and the number of polls during a long hold).
  unsigned lock_spin_max_factor = 16;
};

class GuestKernel : public GuestOs {
 public:
  enum class Placement {
    FirstTouch,  // next free data frame, in the order pages are first touched
    Identity,    // gva kDataGva + x lives at gpa kDataGpa + x (a trace of guest-physical pages)
  };
  GuestKernel(const GuestKernelParams& p, Placement placement, uint64_t data_bytes);
  // Reserves the kernel's own data page (lock word), mapped before the run like boot memory.
  void attach(WorkloadEnv& env);
  bool handle_page_fault(GuestMemoryAccess& cpu, Addr gva, Access access) override;
  Addr root_gpa() const override { return kRootGpa; }
  void publish(Stats& stats) const;

 private:
  // The first page of the table region holds kernel data (the lock); the root table follows.
  static constexpr Addr kKernelDataGpa = GuestLayout::kPageTableGpa;
  static constexpr Addr kRootGpa = GuestLayout::kPageTableGpa + kPageSize;
  void lock(GuestMemoryAccess& cpu);
  void unlock(GuestMemoryAccess& cpu);

  GuestKernelParams p_;
  Placement placement_;
  uint64_t data_bytes_;
  const PageTableFormat* fmt_ = nullptr;
  Addr lock_hpa_ = 0;
  // Allocation cursors: guest kernel state, only changed under the lock.
  Addr next_table_ = kRootGpa + kPageSize;
  Addr next_frame_ = GuestLayout::kDataGpa;
  uint64_t faults_ = 0, spurious_ = 0, tables_ = 0, frames_ = 0, contended_ = 0;
  std::optional<statistics::Histogram> lock_wait_;  // registered when attached
  Event released_;  // the lock word was cleared
};

}  // namespace mmusim
