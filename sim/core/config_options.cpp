// The options of the simulator core: platform, workload, MMU, TLBs, caches, latencies, output.
#include <cstdio>

#include "sim/core/config_table.hpp"
#include "sim/core/latency_provenance.hpp"

namespace mmusim::config_detail {

void OptionTable::size(const char* name, const char* help, uint64_t SimConfig::*field) {
  add(
      name, "SIZE", help, [field](const SimConfig& c) { return format_size(c.*field); },
      [=](SimConfig& c, const std::string& v) { c.*field = parse_size(v, name); });
}

void OptionTable::real(const char* name, const char* arg, const char* help,
                       double SimConfig::*field, double lo, double hi, const char* what) {
  auto show = [field](const SimConfig& c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", c.*field);
    return std::string(buf);
  };
  add(name, arg, help, show,
      [=](SimConfig& c, const std::string& v) { c.*field = parse_real(v, name, lo, hi, what); });
}

namespace {
constexpr size_t kChoiceArgWidth = 32;  // longer "a|b|c" lists go into the help text

std::string joined(const std::vector<std::string>& values, const char* sep) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : sep) + v;
  return out;
}
}  // namespace

std::string choice_arg(const std::vector<std::string>& values) {
  const std::string arg = joined(values, "|");
  return values.size() == 1 || arg.size() > kChoiceArgWidth ? "NAME" : arg;
}

std::string choice_help(const std::string& help, const std::vector<std::string>& values) {
  if (choice_arg(values) != "NAME") return help;
  return help + "; NAME: " + joined(values, ", ");
}

void OptionTable::file(const char* name, const char* help, std::string SimConfig::*field) {
  add(
      name, "FILE", help, [field](const SimConfig& c) { return c.*field; },
      [=](SimConfig& c, const std::string& v) {
        check_writable(v, name);
        c.*field = v;
      });
}

void OptionTable::on_off(const char* name, const char* help, bool SimConfig::*field) {
  add(
      name, "on|off", help, [field](const SimConfig& c) { return c.*field ? "on" : "off"; },
      [=](SimConfig& c, const std::string& v) { c.*field = parse_on_off(v, name); });
}

void OptionTable::lat(const char* field_name, Cycles Latencies::*field, const char* help) {
  std::string name = std::string("lat-") + field_name;
  std::replace(name.begin(), name.end(), '_', '-');
  const std::string text = std::string(help) + (latency_is_assumption(name) ? kAssumptionNote : "");
  add(
      name, "CYCLES", text, [field](const SimConfig& c) { return std::to_string(c.lat.*field); },
      [=](SimConfig& c, const std::string& v) {
        c.lat.*field = parse_whole(v, name, 0, kMaxLatency);
      });
}

void add_core_options(OptionTable& o) {
  o.group = "Platform";
  o.choice("arch", "architecture whose MMU is modelled", &SimConfig::arch);
  o.whole("vcpus", "guest vCPUs, 1..4096", &SimConfig::vcpus, 1, 4096);
  o.whole("pcpus", "physical CPUs, 0 = one per vCPU", &SimConfig::pcpus, 0, 4096);
  o.whole("vms", "VMs on the host, 1..64, each with --vcpus vCPUs and the same workload; they "
          "share the pCPUs, caches, DRAM and host memory manager (docs/ARCHITECTURE.md, "
          "Several VMs)", &SimConfig::vms, 1, 64);
  o.real("clock-ghz", "GHZ", "core clock in GHz, 0.1..10", &SimConfig::clock_ghz, 0.1, 10.0,
       "a frequency in GHz");
  o.whole("quantum", "temporal-decoupling quantum in cycles", &SimConfig::quantum, 1, UINT64_MAX);
  o.on_off("sync-lookahead",
           "skip a synchronisation when no other thread can run first (same results, fewer "
           "context switches; see docs/PERFORMANCE.md)",
           &SimConfig::sync_lookahead);
  o.on_off("direct-handoff",
           "a hand-off between parked threads switches straight to the woken one instead of "
           "through the kernel's next round (same results, faster; needs SystemC 2.3.4, "
           "otherwise off; see docs/PERFORMANCE.md)",
           &SimConfig::direct_handoff);
  o.whole("seed", "random seed; equal seeds give identical runs", &SimConfig::seed, 0, UINT64_MAX);

  o.group = "Workload";
  o.choice("workload", "guest workload", &SimConfig::workload);
  o.size("mem-per-vcpu", "memory each vCPU touches: a multiple of --page-size, at most 1T",
       &SimConfig::mem_per_vcpu);
  o.real("overlap", "F", "fraction of each vCPU's slice shared with the next vCPU, 0..1",
       &SimConfig::overlap, 0.0, 1.0, "a fraction");
  o.choice("partition",
           "the KVM selftests' layout: on, each vCPU its own --mem-per-vcpu slice; off, every "
           "vCPU the same region of --mem-per-vcpu bytes (the selftests' -o)",
           &SimConfig::partition);
  o.choice("pattern", "order in which a vCPU touches its pages", &SimConfig::pattern);
  o.whole("passes", "times each vCPU touches its slice", &SimConfig::passes, 1, UINT32_MAX);
  o.choice("access-offset",
           "where in a page an access lands: zero (first byte) or spread (line page%64)",
           &SimConfig::access_offset);

  o.group = "MMU";
  o.add(
      "page-size", "4K|2M|1G", "EPT mapping size",
      [](const SimConfig& c) { return format_size(c.page_size); },
      [](SimConfig& c, const std::string& v) {
        uint64_t bytes = 0;
        if (!size_of(v, bytes) ||
            (bytes != (4ull << 10) && bytes != (2ull << 20) && bytes != (1ull << 30))) {
          bad_value("page-size", "expected 4K, 2M or 1G, got " + in_quotes(v));
        }
        c.page_size = bytes;
      });
  o.choice("backing",
           "host page size backing guest RAM: 4K, THP (2M transparent huge pages), hugetlb-2M "
           "or hugetlb-1G; KVM maps at most the host's page size (and at most --page-size); "
           "auto: as --page-size implies (4K, THP for 2M, hugetlb-1G for 1G)",
           &SimConfig::backing);
  o.versioned("mmu-lock",
              "mmu_lock on the stage-2 fault path: exclusive (for write) or shared (for read); "
              "auto: as --kvm-version (x86 shared from 5.12, arm64 from 6.2)",
              &SimConfig::mmu_lock);
  o.choice("flush",
           "remote TLB flush strategy (broadcast: arm64 TLBI IS + DSB; unsafe-skip skips the "
           "flush, to prove the oracle)",
           &SimConfig::flush);
  o.whole("guest-levels", "guest page-table levels", &SimConfig::guest_levels, 4, 5);
  o.t.back().arg = "4|5";
  o.whole("ept-levels", "EPT levels", &SimConfig::ept_levels, 4, 5);
  o.t.back().arg = "4|5";

  o.group = "TLBs and paging-structure caches (entries / ways = power-of-two sets)";
  o.whole("tlb-l1-entries", "L1 TLB entries for 4K pages", &SimConfig::tlb_l1_entries, 1,
        kMaxEntries);
  o.whole("tlb-l1-ways", "L1 TLB ways for 4K pages", &SimConfig::tlb_l1_ways, 1, kMaxEntries);
  o.whole("tlb-l1-2m-entries", "L1 TLB entries for 2M pages", &SimConfig::tlb_l1_2m_entries, 1,
        kMaxEntries);
  o.whole("tlb-l1-2m-ways", "L1 TLB ways for 2M pages", &SimConfig::tlb_l1_2m_ways, 1, kMaxEntries);
  o.whole("tlb-l1-1g-entries", "L1 TLB entries for 1G pages (fully associative)",
        &SimConfig::tlb_l1_1g_entries, 1, kMaxEntries);
  o.whole("tlb-l2-entries", "L2 TLB (STLB) entries", &SimConfig::tlb_l2_entries, 1, kMaxEntries);
  o.whole("tlb-l2-ways", "L2 TLB ways", &SimConfig::tlb_l2_ways, 1, kMaxEntries);
  o.whole("tlb-l2-1g-entries", "L2 TLB entries for 1G pages", &SimConfig::tlb_l2_1g_entries, 1,
          kMaxEntries);
  o.whole("tlb-l2-1g-ways", "L2 TLB ways for 1G pages", &SimConfig::tlb_l2_1g_ways, 1,
          kMaxEntries);
  o.whole("pwc-entries", "entries per paging-structure cache, 0 = none", &SimConfig::pwc_entries, 0,
        kMaxEntries);
  o.whole("pwc-ways",
          "ways of each paging-structure cache; more than --pwc-entries: fully associative",
          &SimConfig::pwc_ways, 1, kMaxEntries);

  o.group = "Caches (size / (64 x ways) = power-of-two sets) and DRAM";
  o.size("l1-size", "private L1 data cache size", &SimConfig::l1_size);
  o.whole("l1-ways", "L1 ways", &SimConfig::l1_ways, 1, 1024);
  o.size("l2-size", "private L2 cache size", &SimConfig::l2_size);
  o.whole("l2-ways", "L2 ways", &SimConfig::l2_ways, 1, 1024);
  o.size("llc-size", "shared last-level cache size", &SimConfig::llc_size);
  o.whole("llc-ways", "LLC ways", &SimConfig::llc_ways, 1, 1024);
  o.whole("dram-channels", "DRAM channels", &SimConfig::dram_channels, 1, 1024);
  o.whole("sockets",
          "sockets the physical CPUs are split across, in equal blocks in order (each its own "
          "socket when there are more sockets than CPUs); a line modified in a cache on another "
          "socket costs --lat-c2c-remote (LLC and DRAM stay one uniform pool)",
          &SimConfig::sockets, 1, 64);
  o.whole("home-nodes",
          "interconnect home nodes, lines interleaved across them: each serves the cache "
          "maintenance requests by VA for its lines (docs/ARCHITECTURE.md, Memory system)",
          &SimConfig::home_nodes, 1, 1024);
  o.whole("fill-buffers",
          "line fill buffers per core: zeroing stores (host page clearing) in flight at once",
          &SimConfig::fill_buffers, 1, 256);

  o.group = "Latencies (core cycles)";
  // The stringised field name makes the option name follow the field: --lat-<field, _ -> ->.
#define MMUSIM_LAT(field, help) o.lat(#field, &Latencies::field, help)
  MMUSIM_LAT(tlb_l1, "L1 TLB lookup");
  MMUSIM_LAT(tlb_l2, "L2 TLB lookup after an L1 miss");
  MMUSIM_LAT(pwc, "paging-structure cache lookup");
  MMUSIM_LAT(l1_hit, "L1 data cache hit");
  MMUSIM_LAT(l2_hit, "L2 cache hit");
  MMUSIM_LAT(llc_hit, "LLC hit");
  MMUSIM_LAT(dram, "DRAM access, excluding queueing");
  MMUSIM_LAT(dram_occupancy, "cycles one access keeps a DRAM channel busy");
  MMUSIM_LAT(home_node_occupancy,
             "cycles one cache maintenance request by VA keeps its line's home node busy");
  MMUSIM_LAT(c2c_transfer, "line modified in another core's private cache");
  MMUSIM_LAT(c2c_remote, "line modified in a private cache on another socket");
  MMUSIM_LAT(invalidate, "invalidating other sharers before a write");
  MMUSIM_LAT(atomic, "extra cost of a locked read-modify-write");
  MMUSIM_LAT(vmexit, "guest to host transition");
  MMUSIM_LAT(vmentry, "host to guest transition");
  MMUSIM_LAT(ipi, "IPI from send to delivery");
  MMUSIM_LAT(fault_entry, "fault decode and dispatch before the MMU code");
  MMUSIM_LAT(host_page_fault, "host fault handler's own work besides its modelled memory "
             "operations (allocation, zeroing, locks and page-table updates are simulated)");
  MMUSIM_LAT(page_alloc, "taking a page-table page from the MMU cache");
  MMUSIM_LAT(tdp_map_work, "instructions of one TDP map call besides its memory references");
  MMUSIM_LAT(spte_change_work, "handle_changed_spte bookkeeping per SPTE change");
  MMUSIM_LAT(tlb_flush_local, "local flush of one vCPU's TLBs");
  MMUSIM_LAT(request_check, "scanning pending vCPU requests on guest entry");
  MMUSIM_LAT(compute_per_access, "guest work between two accesses");
  MMUSIM_LAT(cond_resched, "a yield point that dropped mmu_lock");
#undef MMUSIM_LAT

  o.group = "Output and checking";
  o.file("stats-json", "write statistics as JSON to FILE", &SimConfig::stats_json);
  o.file("stats-schema", "write every statistic's kind (counter, value, histogram) and "
         "description as JSON to FILE", &SimConfig::stats_schema);
  o.file("timeline", "write a Chrome trace-event timeline (Perfetto) to FILE", &SimConfig::timeline);
  o.on_off("check", "run the correctness oracle", &SimConfig::check);
  o.on_off("quiet", "no human summary on stdout; a bare --quiet means on", &SimConfig::quiet);
  o.t.back().arg = "[on|off]";
  o.t.back().implicit = "on";
  o.choice("progress",
           "progress line on stderr during a long run (simulated time, faults, host speed, ETA): "
           "auto when stderr is a terminal and not --quiet",
           &SimConfig::progress);
  o.real("progress-after", "SECONDS",
         "host seconds a run lasts before its first progress line, 0..86400",
         &SimConfig::progress_after, 0.0, 86400.0, "a number of seconds");
}


void validate_core(const SimConfig& c, const Fail& fail) {
  if (c.partition == Partition::Off && c.overlap != 0.0)
    fail("partition", "off already shares one region between all vCPUs; drop --overlap");
  if (c.workload == WorkloadKind::PageTableTest) {
    // The selftest's one region of -b bytes that every vCPU touches (README.md, Workloads).
    if (c.overlap != 0.0)
      fail("overlap", "--workload page-table-test shares one region of --mem-per-vcpu bytes "
                      "between every vCPU; drop --overlap");
    // Its VMM enables dirty logging only after the CREATE stage.
    if (c.arch == Arch::Mips && c.mips_dirty_log)
      fail("mips-dirty-log", "on logs from the start, but --workload page-table-test enables "
                             "dirty logging itself after its CREATE stage; drop --mips-dirty-log");
  }
  const std::string page = format_size(c.page_size);
  if (c.mem_per_vcpu < c.page_size) {
    fail("mem-per-vcpu",
         format_size(c.mem_per_vcpu) + " is smaller than one page (--page-size " + page + ")");
  }
  if (c.mem_per_vcpu % c.page_size != 0) {
    fail("mem-per-vcpu", format_size(c.mem_per_vcpu) + " is not a multiple of --page-size " + page);
  }
  // hugetlbfs hands out whole pages: the VMM refuses a RAM size that is not made of them.
  const uint64_t hugetlb = c.backing == HostBacking::Hugetlb2M   ? uint64_t(2) << 20
                           : c.backing == HostBacking::Hugetlb1G ? uint64_t(1) << 30
                                                                 : 0;
  if (hugetlb && c.mem_per_vcpu % hugetlb != 0) {
    fail("backing", std::string(mode_name(c.backing)) + " needs --mem-per-vcpu a multiple of " +
                        format_size(hugetlb) + ", got " + format_size(c.mem_per_vcpu));
  }
  if (c.mem_per_vcpu > (uint64_t(1) << 40)) {
    fail("mem-per-vcpu", format_size(c.mem_per_vcpu) + " is more than the 1T allowed");
  }
  auto is_pow2 = [](uint64_t v) { return v != 0 && (v & (v - 1)) == 0; };
  auto set_assoc = [&](const char* entries_opt, const char* ways_opt, uint64_t entries,
                       uint64_t ways) {
    const std::string e = std::to_string(entries), w = std::to_string(ways);
    if (entries % ways != 0) {
      fail(entries_opt,
           e + " entries do not split evenly into " + w + " ways (--" + ways_opt + ")");
    }
    if (!is_pow2(entries / ways)) {
      fail(entries_opt, e + " entries / " + w + " ways = " + std::to_string(entries / ways) +
                            " sets; the set count must be a power of two");
    }
  };
  set_assoc("tlb-l1-entries", "tlb-l1-ways", c.tlb_l1_entries, c.tlb_l1_ways);
  set_assoc("tlb-l1-2m-entries", "tlb-l1-2m-ways", c.tlb_l1_2m_entries, c.tlb_l1_2m_ways);
  set_assoc("tlb-l2-entries", "tlb-l2-ways", c.tlb_l2_entries, c.tlb_l2_ways);
  set_assoc("tlb-l2-1g-entries", "tlb-l2-1g-ways", c.tlb_l2_1g_entries, c.tlb_l2_1g_ways);
  if (c.pwc_entries != 0 && c.pwc_ways <= c.pwc_entries && c.pwc_entries % c.pwc_ways != 0) {
    fail("pwc-entries", std::to_string(c.pwc_entries) + " entries do not split evenly into " +
                            std::to_string(c.pwc_ways) + " ways (--pwc-ways)");
  }
  auto cache = [&](const char* size_opt, const char* ways_opt, uint64_t size, uint64_t ways) {
    const uint64_t way_bytes = kLineSize * ways;
    const std::string geometry = format_size(size) + " / (64-byte lines x " + std::to_string(ways) +
                                 " ways, --" + ways_opt + ")";
    if (size % way_bytes != 0 || !is_pow2(size / way_bytes)) {
      fail(size_opt, geometry + " is not a whole power-of-two number of sets");
    }
  };
  cache("l1-size", "l1-ways", c.l1_size, c.l1_ways);
  cache("l2-size", "l2-ways", c.l2_size, c.l2_ways);
  cache("llc-size", "llc-ways", c.llc_size, c.llc_ways);
  if (!c.stats_json.empty() && c.stats_json == c.timeline) {
    fail("timeline", "same file as --stats-json");
  }
  if (!c.stats_schema.empty() && (c.stats_schema == c.stats_json || c.stats_schema == c.timeline)) {
    fail("stats-schema", "same file as --stats-json or --timeline");
  }
}

std::vector<Option> all_options() {
  OptionTable o;
  add_core_options(o);
  add_release_options(o);
  add_x86_options(o);
  add_trace_options(o);
  add_arm64_options(o);
  add_mips_options(o);
  add_flush_options(o);
  add_dirty_log_options(o);
  add_shadow_options(o);
  add_limits_options(o);
  return o.t;
}

void validate_all(const SimConfig& c, const Fail& fail) {
  validate_limits(c, fail);  // first: an absurd value gets its own message, not a derived one
  validate_core(c, fail);
  validate_x86(c, fail);
  validate_trace(c, fail);
  validate_arm64(c, fail);
  validate_mips(c, fail);
  validate_flush(c, fail);
  validate_dirty_log(c, fail);
  validate_shadow(c, fail);
}

}  // namespace mmusim::config_detail
