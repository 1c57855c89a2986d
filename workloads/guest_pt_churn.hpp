// The guest-pt-churn workload (shadow paging): each vCPU runs --churn-procs guest
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
// The first tables are built before the run. During it a step may fork (--churn-fork: the
// child replaces another process of the vCPU, so their number stays --churn-procs) or exec
// (--churn-exec); guest_process.hpp has how tables are created, copied with copy-on-write and
// torn down, and how freed table pages are reused as data (--churn-reuse-data). With
// --churn-guest-huge, the last 2 MiB regions of each first process's window are guest 2 MiB
// pages (PDEs with PS), and that share of the data accesses goes to them.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "sim/core/rng.hpp"
#include "workloads/guest_process.hpp"
#include "workloads/guest_layout.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

struct GuestPtChurnParams {
  unsigned vcpus = 4;                       // each vCPU runs processes of its own
  unsigned churn_procs = 4;                 // processes per vCPU
  uint64_t churn_proc_bytes = 64ull << 20;  // data window of one process
  unsigned churn_steps = 200;               // steps per vCPU
  unsigned churn_writes = 24;               // PTE writes per mmap/munmap step
  unsigned churn_accesses = 16;             // data accesses per step
  double churn_switch = 0.3;                // probability a step switches CR3
  double churn_unmap_single = 0.5;          // probability a munmap is of one page
  unsigned churn_invlpg_ceiling = 33;       // INVLPG per page up to this many pages
  double churn_fork = 0.005;                // probability a step forks (0: never)
  double churn_exec = 0.005;                // probability a step execs (0: never)
  double churn_guest_huge = 0.0;            // window share mapped by guest 2 MiB pages
  uint64_t seed = 1;                        // the steps' and the first mappings' choices
  GuestProcessParams process;               // the guest kernel's process operations
};

class GuestPtChurn : public Workload, public GuestOs {
 public:
  static constexpr Addr kDirectMapGva = GuestProcessOps::kDirectMapGva;  // guest's direct map
  using Process = GuestProcess;

  explicit GuestPtChurn(const GuestPtChurnParams& p);
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
  const PageTableFormat& guest_fmt() const { return env_->guest_fmt; }
  ChurnCounters n;
  // The root entry of the direct map, shared by every process (index dm_idx).
  uint64_t dm_entry = 0;
  unsigned dm_idx = 0;

 private:
  uint64_t alloc_table();
  uint64_t next_table(uint64_t table_gfn, unsigned idx);  // creates the table below if absent
  void write_entry(uint64_t table_gfn, unsigned idx, uint64_t e);

  GuestPtChurnParams p_;
  WorkloadEnv* env_ = nullptr;
  uint64_t next_gfn_ = GuestLayout::kPageTableGpa >> kPageShift;
  std::vector<std::vector<Process>> procs_;  // [vcpu][process]
  std::vector<std::deque<uint64_t>> free_tables_;  // [vcpu] the guest's free table pages
};

}  // namespace mmusim
