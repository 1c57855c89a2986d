// Every run parameter of mmusim in one plain struct (gem5-style: parameters apart from model and
// statistics). Filled by parse_config() from the command line and an optional INI file
// (--config FILE, same keys, command line wins). Defaults here are the documented defaults.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

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
  Cycles llc_hit = 42;           // shared LLC hit
  Cycles dram = 180;             // DRAM access (row/array time, excluding queueing)
  Cycles dram_occupancy = 16;    // cycles one access keeps a DRAM channel busy (queueing)
  Cycles c2c_transfer = 70;      // line held modified in another core's private cache
  Cycles invalidate = 45;        // write to a line other cores share: invalidation round trip
  Cycles atomic = 20;            // extra cost of a locked read-modify-write
  Cycles vmexit = 600;           // guest -> host transition
  Cycles vmentry = 500;          // host -> guest transition
  Cycles ipi = 1200;             // IPI send to delivery at the target
  Cycles fault_entry = 250;      // KVM fault decode and dispatch before the MMU code
  Cycles host_page_fault = 1800; // host mm fault on first touch of a backing page (per fault)
  Cycles page_zero_4k = 250;     // zeroing one 4 KiB host page
  Cycles page_alloc = 120;       // taking a page-table page from the vCPU's MMU cache
  Cycles tdp_map_work = 300;     // instructions of one map call besides its memory references
                                 // (root lookup, iterator setup, huge-page adjust, make_spte)
  Cycles spte_change_work = 80;  // handle_changed_spte bookkeeping per SPTE change
  Cycles tlb_flush_local = 150;  // INVEPT/INVVPID-style local flush of one vCPU's TLBs
  Cycles request_check = 20;     // scanning pending vCPU requests on guest entry
  Cycles compute_per_access = 0; // guest work between two accesses of the workload
};

struct SimConfig {
  // Platform
  std::string arch = "x86";
  unsigned vcpus = 4;
  unsigned pcpus = 0;  // 0: one physical CPU per vCPU
  double clock_ghz = 1.0;
  Cycles quantum = 1000;  // temporal-decoupling quantum (cycles of private work between syncs)
  uint64_t seed = 1;

  // Workload
  std::string workload = "demand-paging";
  uint64_t mem_per_vcpu = 64ull << 20;  // bytes
  double overlap = 0.0;                 // fraction of each slice shared with the next vCPU
  std::string pattern = "seq";          // seq | random
  unsigned passes = 1;                  // how many times each vCPU touches its slice

  // MMU
  uint64_t page_size = 4096;       // EPT mapping size: 4K, 2M or 1G
  std::string mmu_lock = "shared"; // exclusive (before seed 000) | shared (after)
  unsigned guest_levels = 4;       // guest paging levels: 4 or 5
  unsigned ept_levels = 4;         // EPT levels: 4 or 5
  // Remote TLB flush strategy: ipi-all (kvm_flush_remote_tlbs); unsafe-skip reports the flush
  // complete without touching any vCPU -- wrong on purpose, to show the oracle catches it.
  std::string flush = "ipi-all";

  // TLBs and paging-structure caches (entries; 0 pwc entries disables those caches)
  unsigned tlb_l1_entries = 64, tlb_l1_ways = 4;
  unsigned tlb_l1_2m_entries = 32, tlb_l1_2m_ways = 4;
  unsigned tlb_l1_1g_entries = 4;
  unsigned tlb_l2_entries = 1536, tlb_l2_ways = 12;
  unsigned pwc_entries = 32;  // per paging-structure cache (guest and EPT, per level)

  // Caches (bytes, ways) and DRAM
  uint64_t l1_size = 48ull << 10;  unsigned l1_ways = 12;
  uint64_t l2_size = 1280ull << 10; unsigned l2_ways = 10;
  uint64_t llc_size = 32ull << 20; unsigned llc_ways = 16;
  unsigned dram_channels = 2;

  Latencies lat;

  // Outputs and checking
  std::string stats_json;  // empty: none
  std::string timeline;    // empty: none
  bool check = true;
  bool quiet = false;      // no human summary on stdout

  unsigned physical_cpus() const { return pcpus ? pcpus : vcpus; }
};

// Parses argv (and the INI file named by --config). Throws UsageError naming the option on an
// unknown option, malformed value or impossible combination. Returns false when --help was
// printed (the caller exits 0).
// Every field above is an option `--<field with _ as ->`, latencies `--lat-<field>`; parsing
// starts from these defaults (not from `out`), and `out` is written only on success. The INI file
// holds `name = value` lines ('#' and ';' comments, no sections); values from the command line
// win, and errors about file values start with "FILE:LINE: ". A new field needs its option in
// config.cpp's table (tests/core_config_test.cpp checks every latency has one).
bool parse_config(int argc, const char* const* argv, SimConfig& out);

// Parses a size such as 4096, 4K, 64M, 1G, 2T (binary units). Throws UsageError naming `option`.
uint64_t parse_size(const std::string& text, const std::string& option);

}  // namespace mmusim
