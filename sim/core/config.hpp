// Every run parameter of mmusim in one plain struct (gem5-style: parameters apart from model and
// statistics). Filled by parse_config() from the command line and an optional INI file
// (--config FILE, same keys, command line wins). Defaults here are the documented defaults.
#pragma once
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/kvm_release.hpp"
#include "sim/core/modes.hpp"
#include "sim/core/types.hpp"

namespace mmusim {

// Named, configurable latency table in core cycles. Each entry is its own CLI option
// `--lat-<name>` (underscores become dashes).
struct Latencies {
  Cycles tlb_l1 = 1;             // L1 TLB lookup
  Cycles tlb_l2 = 7;             // L2 (STLB) lookup after an L1 miss
  Cycles pwc = 1;                // paging-structure cache lookup
  Cycles l1_hit = 4;             // private L1 data cache hit
  Cycles l2_hit = 14;            // private L2 hit
  Cycles llc_hit = 46;           // shared LLC hit
  Cycles dram = 164;             // DRAM access (row/array time, excluding queueing)
  Cycles dram_occupancy = 9;     // cycles one access keeps a DRAM channel busy (queueing)
  Cycles home_node_occupancy = 5; // cycles one cache maintenance request keeps a home node busy
  Cycles c2c_transfer = 128;     // line held modified in another core's private cache
  Cycles c2c_remote = 296;       // the same, the other core on another socket
  Cycles invalidate = 117;       // write to a line other cores share: invalidation round trip
  Cycles atomic = 14;            // extra cost of a locked read-modify-write
  Cycles vmexit = 970;           // guest -> host transition
  Cycles vmentry = 806;          // host -> guest transition
  Cycles ipi = 3120;             // IPI send to delivery at the target
  Cycles fault_entry = 650;      // KVM fault decode and dispatch before the MMU code
  Cycles host_page_fault = 1724; // host mm fault on first touch of a backing page (per fault)
  Cycles page_alloc = 312;       // taking a page-table page from the vCPU's MMU cache
  Cycles tdp_map_work = 780;     // instructions of one map call besides its memory references
                                 // (root lookup, iterator setup, huge-page adjust, make_spte)
  Cycles spte_change_work = 208; // handle_changed_spte bookkeeping per SPTE change
  Cycles tlb_flush_local = 150;  // INVEPT/INVVPID-style local flush of one vCPU's TLBs
  Cycles request_check = 52;     // scanning pending vCPU requests on guest entry
  Cycles compute_per_access = 0; // guest work between two accesses of the workload
  Cycles cond_resched = 104;     // a yield point that dropped mmu_lock (cond_resched)
  // arm64: broadcast TLB maintenance and cache maintenance to the Point of Coherency
  Cycles tlbi_op = 104;          // one TLBI broadcast message occupying the DVM interconnect
  Cycles tlbi_dsb = 780;         // DSB ISH after TLBIs: every core's completion acknowledged
  Cycles cmo_line_level = 10;    // one DC CVAC/IVAC/CIVAC on one line at one cache level
  Cycles s2_map_work = 780;      // instructions of one stage-2 map call besides its memory
                                 // references (walker setup, prot computation, pte build)
  // modelled guest kernel: first-touch page faults of replayed traces
  Cycles guest_fault_work = 1040; // guest #PF entry, VMA lookup and exit, besides its PTE accesses
  Cycles guest_clear_page = 777; // the guest zeroing a newly allocated 4 KiB frame
  Cycles guest_lock_spin = 104;  // one re-check of a contended guest page-table lock
  // MIPS: software TLB refill, GPA fault handling, host memory-manager events
  Cycles mips_tlb_exception = 78; // TLB refill/invalid/modified exception entry and eret
  Cycles mips_refill_work = 31;  // refill handler instructions besides its loads (shifts, tlbwr)
  Cycles mips_asid_bump = 104;   // giving a vCPU a new ASID on a flush request (get_new_asid)
  Cycles mips_map_work = 390;    // kvm_mips_map_page instructions besides memory references
  Cycles host_pte_update = 260;  // the host mm changing one of its PTEs (with rmap walk)
  Cycles host_page_copy = 1040;  // copying one 4 KiB page (COW break, KSM compare, migration)
  Cycles host_swap_io = 20800;   // one page written to or read from swap
  // remote-flush strategies and overcommit: host scheduler and guest TLB shootdowns
  Cycles context_switch = 3900;  // host switching the pCPU to another vCPU thread (vcpu_load)
  Cycles guest_ipi_handler = 1040; // guest flush-IPI entry, handler dispatch and csd release
  Cycles invlpg = 260;           // one per-address TLB invalidation (INVLPG / ranged entry)
  // x86 shadow MMU: shadow faults, emulated guest PTE writes, syncing unsync pages
  Cycles shadow_fault_work = 910; // shadow fault handler instructions besides memory references
  Cycles shadow_sync_work = 520; // kvm_sync_page set-up per page besides its entry reads
  Cycles shadow_emulate = 1820;  // decoding and emulating one guest write to a protected table
};

struct SimConfig {
  // Platform
  Arch arch = Arch::X86;
  unsigned vcpus = 4;
  unsigned pcpus = 0;  // 0: one physical CPU per vCPU
  unsigned vms = 1;    // VMs on the host, each a copy of the configured one
  // --host FILE (sim/core/config_host_file.hpp): the VMs' own configs, each this one with its VM
  // section's keys applied (vms == vm_configs.size()); empty: `vms` copies of this config.
  std::string host_file;
  std::vector<SimConfig> vm_configs;
  std::string vm_name;  // a host-file VM's section name; "" otherwise
  double clock_ghz = 2.6;  // the reference machine's base clock (docs/CALIBRATION.md, D1)
  bool direct_handoff = true;  // hand-offs switch straight to the woken thread (sync/run_next)
  bool sync_lookahead = true;  // skip a sync when no other thread can run before it (Agent)
  Cycles quantum = 1000;  // temporal-decoupling quantum (cycles of private work between syncs)
  uint64_t seed = 1;

  // Workload
  WorkloadKind workload = WorkloadKind::DemandPaging;
  uint64_t mem_per_vcpu = 64ull << 20;  // bytes
  double overlap = 0.0;                 // fraction of each slice shared with the next vCPU
  Partition partition = Partition::On;  // off: every vCPU touches the same region
  AccessPattern pattern = AccessPattern::Seq;
  unsigned passes = 1;                  // how many times each vCPU touches its slice
  // Where in each page an access lands: Zero (the page's first byte, as demand_paging_test)
  // or Spread (line page % 64 of the page, so pages do not all fall in one cache set).
  AccessOffset access_offset = AccessOffset::Zero;

  // MMU
  uint64_t page_size = 4096;       // EPT mapping size: 4K, 2M or 1G
  // The KVM release whose behaviour is modelled (sim/core/kvm_timeline.hpp). Each behaviour
  // that changed between releases has its own option below; unset (`auto`) means "as
  // --kvm-version says", and the Params builders resolve it (kvm_form).
  KvmRelease kvm_version = kNewestKvmRelease;
  std::optional<MmuLockMode> mmu_lock;  // fault-path mmu_lock: x86 shared from 5.12, arm64 6.2
  std::optional<TdpFastFault> tdp_fast_fault;  // x86 TDP lockless fast page fault from 5.15
  std::optional<RemovedSpte> removed_spte;     // x86 TDP removed tables frozen from 5.12
  std::optional<HugeSplitOnFault> huge_split_on_fault;  // x86 TDP split in place from 6.2
  std::optional<EagerSplit> eager_split;  // x86 TDP eager page splitting at log enable, 5.18
  std::optional<InitSetEnable> init_set_enable;  // x86: enable with initially-set, 5.14
  std::optional<EagerSplitAlloc> eager_split_alloc;  // ... its tables allocated unlocked, 6.11
  // Tests only (no option): eager splitting's table allocations fail after this many (0: never),
  // the host out of memory (TdpMmuParams::eager_split_alloc_limit).
  uint64_t eager_split_alloc_limit = 0;
  // TLB tags (sim/hv/tlb_tags.hpp): the arm64 VMID width and x86 VPIDs. Tests only (no
  // option): a VMID space this many bits wide instead (0: --vmid-bits), so that a few VMs roll
  // it over; and the rollover's invalidation of every TLB skipped (the oracle must object).
  VmidBits vmid_bits = VmidBits::Bits16;
  std::optional<VmidAllocator> vmid_allocator;  // arm64: generational from 5.18
  VpidMode vpid = VpidMode::On;
  unsigned vmid_bits_narrow = 0;
  bool skip_vmid_rollover_flush = false;
  // Host page size backing guest RAM; Auto: as --page-size implies (4K, THP, hugetlb-1G).
  HostBacking backing = HostBacking::Auto;
  // x86 TDP dirty logging with Page-Modification Logging (docs/KVM_RELEASES.md, PML): off by
  // default; pml_drain full-only is a hypothetical KVM (see PmlDrain).
  PmlMode pml = PmlMode::Off;
  PmlDrain pml_drain = PmlDrain::Kvm;
  // x86 EPT accessed/dirty flags (enable_ept_ad_bits): a host property, not on the timeline.
  EptAd ept_ad = EptAd::On;
  std::optional<AgeClear> age_clear;  // x86 TDP aging: xchg from 5.18, atomic AND from 6.4
  unsigned guest_levels = 4;       // guest paging levels: 4 or 5
  unsigned ept_levels = 4;         // EPT levels: 4 or 5
  // Remote TLB flush strategy: ipi-all (kvm_flush_remote_tlbs); unsafe-skip reports the flush
  // complete without touching any vCPU -- wrong on purpose, to show the oracle catches it.
  FlushKind flush = FlushKind::IpiAll;
  // x86 TDP roots (the root put/invalidate change): how the last reference to a root is put,
  // and how many SPTEs a zapper handles before it drops and re-takes mmu_lock.
  RootPut root_put = RootPut::Agreed;
  unsigned zap_yield_every = 0;  // a forced yield every N SPTEs (0: only KVM's conditions)
  std::optional<LockNeedbreak> lock_needbreak;
  std::optional<NotifierRetry> notifier_retry;            // x86: range from 5.12
  std::optional<NotifierEarlyCheck> notifier_early_check;  // x86: before mmu_lock from 6.8  // yield mmu_lock to a waiter: see kvm_timeline
  HostPreempt host_preempt = HostPreempt::Voluntary;
  // root-churn workload: how many zap-all rounds, and the cycles between them.
  unsigned churn_rounds = 8;
  Cycles churn_interval = 520000;
  unsigned churn_unmaps = 8;  // range unmaps per zap-all round

  // TLBs and paging-structure caches (entries; 0 pwc entries disables those caches)
  unsigned tlb_l1_entries = 64, tlb_l1_ways = 4;
  unsigned tlb_l1_2m_entries = 32, tlb_l1_2m_ways = 4;
  unsigned tlb_l1_1g_entries = 4;
  unsigned tlb_l2_entries = 1536, tlb_l2_ways = 12;
  unsigned tlb_l2_1g_entries = 16, tlb_l2_1g_ways = 4;  // the STLB's separate 1G array
  unsigned pwc_entries = 32;  // per paging-structure cache (guest, EPT and shadow walks, per level)
  unsigned pwc_ways = 4;      // their associativity; more than pwc_entries: fully associative

  // Caches (bytes, ways) and DRAM
  uint64_t l1_size = 32ull << 10;  unsigned l1_ways = 8;
  uint64_t l2_size = 1024ull << 10; unsigned l2_ways = 16;
  uint64_t llc_size = 44ull << 20; unsigned llc_ways = 11;
  unsigned dram_channels = 12;
  unsigned sockets = 2;        // sockets the physical CPUs are split across, in order
  unsigned home_nodes = 16;    // interconnect home nodes (lines interleaved) serving CMO requests
  unsigned fill_buffers = 10;  // per-core line fill buffers (zeroing stores in flight)

  Latencies lat;

  // Outputs and checking
  std::string stats_json;  // empty: none
  std::string stats_schema;  // empty: none
  std::string timeline;    // empty: none
  bool check = true;
  bool quiet = false;      // no human summary on stdout
  ProgressMode progress = ProgressMode::Auto;  // progress line on stderr (app/progress_meter.hpp)
  double progress_after = 2.0;  // host seconds before the first progress line

  // --- arm64 (sim/core/config_options_arm64.cpp) ---
  unsigned ipa_bits = 40;          // stage-2 input (IPA) size in bits, 32..48
  unsigned s2_levels = 0;          // stage-2 levels 2..4; 0: as KVM (fewest, <= 16 concatenated)
  CmoPolicy cmo_policy = CmoPolicy::Deferred;  // the locked-memslots series
  uint64_t tlbi_range_threshold = 64;   // pages above which one full-VMID TLBI replaces by-IPA
  uint64_t image_size = 256ull << 10;   // locked-boot: guest image the VMM writes after locking
  bool lock_writable = true;       // locked-boot: lock memslots writable (else read-only)
  unsigned relock_cycles = 0;      // locked-boot: unlock/re-lock cycles (cancelled migrations)
  bool arm64_fwb = false;          // FEAT_S2FWB: stage 2 forces write-back, no CMOs needed
  std::optional<S2RelaxTlbi> s2_relax_tlbi;  // relaxation's TLBI local (nsh) from 6.5
  std::optional<S2FaultCmo> s2_fault_cmo;    // fault CMOs in the map walker from 5.14
  std::optional<S2ExclusiveBreak> s2_exclusive_break;  // exclusive map locks entries from 6.2
  std::optional<S2UnmapTlbi> s2_unmap_tlbi;  // unmap's range TLBI after the walk from 6.6 (FWB)
  std::optional<S2RelaxRaceTlbi> s2_relax_race_tlbi;  // TLBI after a lost relaxation from 6.7
  // KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE as the VMM sets it (6.5 on); unset (auto): 0, off, as
  // KVM's default with a VMM that does not set it (dirty_log_perf_test, QEMU by default)
  std::optional<uint64_t> arm64_eager_split_chunk;
  // --- end arm64 ---

  // --- traces (sim/core/config_options_trace.cpp) ---
  std::string trace;  // --workload trace: the trace file to replay (text or binary, maybe gzip)
  uint64_t trace_queue = uint64_t(64) << 20;  // read-ahead records' memory (workloads/trace_demux)
  // --- end traces ---

  // --- MIPS and host memory events (sim/core/config_options_mips.cpp) ---
  bool mips_sync_mmu = true;       // KVM_CAP_SYNC_MMU: MMU notifiers (on: after the change)
  unsigned mips_asid_bits = 8;     // ASID width: a vCPU moves to a fresh ASID per flush, a full
                                   // TLB flush only when the ASIDs run out
  unsigned mips_guestid_bits = 0;  // VZ GuestCtl1.ID width (0: the core has no GuestIDs)
  bool mips_dirty_log = false;     // dirty logging on the data memslot
  std::optional<MipsVirt> mips_virt;  // unset (auto): vz; te refused from 5.13 (removed)
  unsigned host_pcp_batch = 63;    // host allocator per-CPU batch (zone_batchsize of a large zone)
  unsigned host_pcp_high = 378;    // host allocator per-CPU list high mark (6 x batch)
  unsigned memcg_depth = 3;         // VMM's memory cgroup: levels below the root (a login session)
  // MEMCG_CHARGE_BATCH, pages a charge stock refill takes; unset (auto): 32 before 6.1, then 64
  std::optional<unsigned> memcg_charge_batch;
  // PAGEVEC_SIZE, pages a CPU's LRU add batch holds (0: no LRU lists); unset (auto): 15 before
  // 6.9, then 31
  std::optional<unsigned> host_lru_batch;
  unsigned host_events = 16;       // host-event workloads: how many events the host thread raises
  Cycles host_event_interval = 260000; // cycles between two host events
  uint64_t host_event_pages = 64;  // pages one event covers
  unsigned event_passes = 4;       // passes each vCPU makes over its slice in those workloads
  // --- end MIPS ---

  // --- remote-flush strategies, overcommit, ebizzy (config_options_flush.cpp) ---
  Cycles timeslice = 2600000;    // host scheduler tick with --pcpus < --vcpus (1 ms at 2.6 GHz)
  Cycles ple_window = 4096;      // pause-loop exit after this many cycles of spinning; 0: none
  DirectedYield directed_yield = DirectedYield::On;  // kvm_vcpu_on_spin on a pause-loop exit
  PvSchedYield pv_sched_yield = PvSchedYield::On;    // guest KVM_HC_SCHED_YIELD after an IPI
  unsigned iterations = 20;        // workload iterations (ebizzy: chunks each thread uses)
  uint64_t ebizzy_chunk = 64ull << 10;  // ebizzy: bytes of one chunk (allocated, used, freed)
  Cycles ebizzy_work = 52000;    // ebizzy: guest compute per record (searching the chunk)
  // --- end remote-flush strategies ---

  // --- dirty-log workload (config_options_dirty_log.cpp) ---
  DirtyLogManualProtect dirty_log_manual_protect = DirtyLogManualProtect::On;
  // unset (auto): on with manual protect, off without -- the selftest asks for both
  std::optional<DirtyLogInitiallySet> dirty_log_initially_set;
  unsigned dirty_log_write_fraction = 1;  // the selftest's -f: page i written when i % N == 0
  // unset (auto): bitmap, what a VMM uses unless it asks for the ring, in every release
  std::optional<DirtyTracking> dirty_tracking;
  unsigned dirty_ring_entries = 65536;  // per vCPU ring (dirty_log_test's default)
  DirtyRingReset dirty_ring_reset = DirtyRingReset::Kvm;
  // --- end dirty-log workload ---

  // --- x86 shadow MMU (sim/core/config_options_shadow.cpp) ---
  X86Mmu x86_mmu = X86Mmu::Tdp;
  UnsyncWalk unsync_walk = UnsyncWalk::ClearOnAdd;
  PvecFull pvec_full = PvecFull::Kvm;
  std::optional<PrefetchUnsync> prefetch_unsync;     // off from 5.16
  std::optional<LookupSyncFlush> lookup_sync_flush;  // remote from 5.16
  bool unsync = true;                   // let last-level shadow pages go unsync
  unsigned churn_procs = 4;             // guest-pt-churn: processes per vCPU
  uint64_t churn_proc_bytes = 64ull << 20;  // guest-pt-churn: data window of one process
  unsigned churn_steps = 200;           // guest-pt-churn: steps per vCPU
  unsigned churn_writes = 24;           // guest-pt-churn: PTE writes per mmap/munmap step
  unsigned churn_accesses = 16;         // guest-pt-churn: data accesses per step
  double churn_switch = 0.3;            // guest-pt-churn: probability a step switches CR3
  double churn_unmap_single = 0.5;      // guest-pt-churn: probability a munmap is of one page
  unsigned churn_invlpg_ceiling = 33;   // guest-pt-churn: INVLPG per page up to this many pages
  uint64_t shadow_max_pages = 0;        // n_max_mmu_pages; 0: KVM's default (20 per mille)
  double churn_fork = 0.005;            // guest-pt-churn: probability a step forks (0: never)
  double churn_exec = 0.005;            // guest-pt-churn: probability a step execs (0: never)
  double churn_reuse_data = 0.5;        // guest-pt-churn: a freed table page reused as data
  double churn_guest_huge = 0.0;        // guest-pt-churn: window share mapped by guest 2M pages
  // --- end x86 shadow MMU ---

  // --- limits (sim/core/config_options_limits.cpp) ---
  uint64_t host_mem_limit = 0;  // bytes the run may plan to use; 0: this machine's physical RAM
  // --- end limits ---

  // The config of VM i (0 <= i < vms): its own with a host file, else this one.
  const SimConfig& vm_config(unsigned i) const { return vm_configs.empty() ? *this : vm_configs.at(i); }
  unsigned total_vcpus() const {  // over every VM
    if (vm_configs.empty()) return vcpus * vms;
    return std::accumulate(vm_configs.begin(), vm_configs.end(), 0u,
                           [](unsigned sum, const SimConfig& v) { return sum + v.vcpus; });
  }
  unsigned physical_cpus() const { return pcpus ? pcpus : total_vcpus(); }
};

// Parses argv (and the INI file named by --config). Throws UsageError naming the option on an
// unknown option, malformed value or impossible combination. Returns false when --help was printed
// (the caller exits 0). Every field above is an option `--<field with _ as ->`, latencies
// `--lat-<field>`; parsing starts from these defaults (not from `out`), and `out` is written only
// on success. The INI file holds `name = value` lines ('#' and ';' comments, no sections); values
// from the command line win, and errors about file values start with "FILE:LINE: ". A new field
// needs its option in config.cpp's table (tests/core_config_test.cpp checks every latency has one).
bool parse_config(int argc, const char* const* argv, SimConfig& out);

// Parses a size such as 4096, 4K, 64M, 1G, 2T (binary units). Throws UsageError naming `option`.
uint64_t parse_size(const std::string& text, const std::string& option);

}  // namespace mmusim
