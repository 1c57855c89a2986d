// The guest-pt-churn workload (issue 6, shadow paging): each vCPU runs --churn-procs guest
// processes, each with its own 4-level page tables over a --churn-proc-bytes data window (the
// same virtual window in every process, different guest frames). The guest kernel edits those
// tables through its direct map (a window mapping every guest page-table page, shared by all
// processes), so under shadow paging its PTE stores hit write-protected or unsync shadow pages.
// A step may switch process (MOV CR3, --churn-switch), then maps (mmap-like) or unmaps
// (munmap-like) --churn-writes random pages spread over the process's last-level tables (a
// munmap is of one page with probability --churn-unmap-single), then makes --churn-accesses
// accesses to mapped pages. After a munmap the guest invalidates its TLB as Linux does for the
// range spanning the unmapped pages: one INVLPG per page of it up to --churn-invlpg-ceiling
// pages, a full flush above (so a single-page munmap INVLPGs, a scattered one flushes). The
// workload tracks what it mapped, so it only touches mapped addresses (no guest page faults).
// Tables are built before the run; processes are not created or destroyed during it.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/rng.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

class GuestPtChurn : public Workload, public GuestOs {
 public:
  static constexpr Addr kDirectMapGva = Addr(0x08) << 36;  // guest kernel's direct map

  struct Process {
    uint64_t root_gfn = 0;
    std::vector<uint64_t> pt_gfn;  // last-level table of each 2 MiB of the window
    std::vector<bool> mapped;      // per 4 KiB page of the window
    std::vector<uint32_t> mapped_list;  // pages currently mapped (random choice)
    Addr data_gpa = 0;
  };

  explicit GuestPtChurn(const SimConfig& cfg);
  const char* name() const override { return "guest-pt-churn"; }
  uint64_t data_bytes() const override;
  void attach(WorkloadEnv& env) override;
  GuestOs* guest_os() override { return this; }
  std::unique_ptr<OpStream> vcpu_stream(unsigned vcpu) override;
  void publish(Stats& s) override;

  // GuestOs: the workload never touches an address it has not mapped.
  bool handle_page_fault(GuestMemoryAccess&, Addr, Access) override { return false; }
  Addr root_gpa() const override;

  const Process& process(unsigned vcpu, unsigned p) const { return procs_[vcpu][p]; }
  // Guest virtual address (direct map) of the PTE of `page` in process `p`.
  Addr pte_gva(const Process& p, uint64_t page) const;
  uint64_t leaf_pte(const Process& p, uint64_t page) const;
  uint64_t pte_writes = 0, cr3_loads = 0, tlb_flushes = 0, invlpgs = 0, data_accesses = 0;

 private:
  uint64_t alloc_table();
  uint64_t next_table(uint64_t table_gfn, unsigned idx);  // creates the table below if absent
  void write_entry(uint64_t table_gfn, unsigned idx, uint64_t e);

  const SimConfig& cfg_;
  WorkloadEnv* env_ = nullptr;
  uint64_t next_gfn_ = GuestLayout::kPageTableGpa >> kPageShift;
  std::vector<std::vector<Process>> procs_;  // [vcpu][process]
};

}  // namespace mmusim
