// mmusim-bench: host-side throughput of the simulator (not a test; nothing here is asserted).
// Each scenario runs in a fresh child process (its peak RSS is that run's alone, and no heap of
// an earlier run shapes its allocations); the parent repeats each scenario --repeat times and
// reports the median (with the best and worst run).
//
//   build/mmusim-bench [--repeat N] [--json]
//   build/mmusim-bench --growth [--repeat N] [--max-mem MIB]
//   build/mmusim-bench trace [--repeat N] [--records N] [--json]   (bench/trace_bench.hpp)
//
// Scenarios:
//   tlb-hit: 1 vCPU sweeping 16 pages 2,000,000 times (one line per page, in distinct cache
//            sets): after the first pass every access hits the L1 TLB and the L1 data cache
//            -> simulated guest accesses per host second.
//   fault:   demand-paging, 8 vCPUs x 64 MiB, 4K pages, shared mmu_lock: every page takes a
//            second-stage fault with its full walk, lock, cmpxchg work -> faults per host second.
//
// Before each fault run the parent times dependent loads over 8 MiB (bench/host_probe.hpp) and
// reports their median latency: tens of ns when the host's L3 holds the buffer, more when other
// tenants of a shared host evict it (one sign of a busy host; docs/PERFORMANCE.md).
//
// --growth: how the cost of a fault grows with the machine (docs/PERFORMANCE.md). The same
// demand-paging run (4K pages, shared mmu_lock, one fault per page) swept two ways:
//   vcpus:  1, 2, 4, ..., 64 vCPUs x 16 MiB each (the work grows with the vCPUs);
//   memory: 8 vCPUs, 64 MiB .. --max-mem MiB (default 4096) in total (the work grows with memory).
// Each point reports faults, host seconds, faults per host second and the child's peak RSS
// (from wait4), medians over --repeat runs. Constant faults/s along a sweep means run time grows
// linearly in the work simulated.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <systemc>

#include "app/platform.hpp"
#include "bench/child_process.hpp"
#include "bench/host_probe.hpp"
#include "bench/trace_bench.hpp"
#include "sim/core/config.hpp"
#include "sim/core/systemc_banner.hpp"

namespace {

struct Sample {
  double seconds = 0;
  double accesses = 0;
  double faults = 0;
  double sim_cycles = 0;
  double max_rss_kib = 0;  // the child's peak resident set (ru_maxrss)
};

mmusim::SimConfig scenario(const std::string& name) {
  mmusim::SimConfig c;
  c.quiet = true;
  if (name == "tlb-hit") {
    c.vcpus = 1;
    c.mem_per_vcpu = 16 * 4096;
    c.passes = 2000000;
    c.access_offset = mmusim::AccessOffset::Spread;  // 16 lines in 16 cache sets: the data accesses hit L1 too
  } else {
    c.vcpus = 8;
    c.mem_per_vcpu = 64ull << 20;
    c.mmu_lock = mmusim::MmuLockMode::Shared;
  }
  return c;
}

// "growth:V:BYTES": demand-paging with V vCPUs sharing BYTES of guest memory.
mmusim::SimConfig growth_point(const std::string& name) {
  mmusim::SimConfig c;
  c.quiet = true;
  const size_t colon = name.find(':', 7);
  c.vcpus = unsigned(std::stoul(name.substr(7, colon - 7)));
  c.mem_per_vcpu = std::stoull(name.substr(colon + 1)) / c.vcpus;
  c.mmu_lock = mmusim::MmuLockMode::Shared;
  return c;
}

int run_child(const std::string& name) {
  const bool grow = name.rfind("growth:", 0) == 0;
  mmusim::SimConfig c = grow ? growth_point(name) : scenario(name);
  mmusim::PlatformHooks hooks;
  hooks.keep_final_leaves = false;  // as the mmusim executable: RSS is part of the result
  // The growth sweep times the build too (the guest's tables for the whole window): it grows
  // with memory as the run does. The two throughput scenarios time the run alone, as before.
  auto t0 = std::chrono::steady_clock::now();
  mmusim::Platform p(c, std::move(hooks));
  if (!grow) t0 = std::chrono::steady_clock::now();
  p.run();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.6f %llu %llu %llu\n", s, (unsigned long long)p.stats.value("guest.accesses"),
              (unsigned long long)p.stats.value("hv.fault.count"),
              (unsigned long long)p.stats.value("sim.cycles"));
  return 0;
}

Sample run_once(const std::string& name) {
  mmusim_bench::ChildRun run = mmusim_bench::run_child(name);
  Sample s;
  std::istringstream is(run.out);
  is >> s.seconds >> s.accesses >> s.faults >> s.sim_cycles;
  s.max_rss_kib = run.max_rss_kib;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One sweep point: --repeat runs, medians of seconds, faults/s and RSS.
void growth_point_report(const char* sweep, unsigned vcpus, uint64_t bytes, int repeat,
                         bool json) {
  const std::string name = "growth:" + std::to_string(vcpus) + ":" + std::to_string(bytes);
  std::vector<double> secs, rate, rss;
  double faults = 0;
  for (int r = 0; r < repeat; ++r) {
    Sample s = run_once(name);
    secs.push_back(s.seconds);
    rate.push_back(s.faults / s.seconds);
    rss.push_back(s.max_rss_kib / 1024);
    faults = s.faults;
  }
  if (json) {
    std::printf("{\"sweep\": \"%s\", \"vcpus\": %u, \"guest_mib\": %llu, \"faults\": %.0f, "
                "\"seconds\": %.3f, \"faults_per_s\": %.0f, \"max_rss_mib\": %.1f, "
                "\"repeat\": %d}\n",
                sweep, vcpus, (unsigned long long)(bytes >> 20), faults, median(secs),
                median(rate), median(rss), repeat);
  } else {
    std::printf("| %-6s | %5u | %8llu | %9.0f | %8.3f | %9.1f | %8.1f |\n", sweep, vcpus,
                (unsigned long long)(bytes >> 20), faults, median(secs), median(rate) / 1e3,
                median(rss));
  }
  std::fflush(stdout);
}

int growth(int repeat, uint64_t max_mem, bool json) {
  if (!json) {
    std::printf("| sweep  | vCPUs | guest MiB |   faults | host s | k faults/s | RSS MiB |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
  }
  for (unsigned v = 1; v <= 64; v *= 2) growth_point_report("vcpus", v, uint64_t(v) << 24, repeat, json);
  for (uint64_t m = 64ull << 20; m <= max_mem; m *= 2) growth_point_report("memory", 8, m, repeat, json);
  return 0;
}

}  // namespace

int sc_main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--child") == 0) {
    if (std::strncmp(argv[2], "trace-", 6) == 0) return mmusim_bench::trace_child(argv[2]);
    return run_child(argv[2]);
  }
  int repeat = 3;
  bool json = false, sweep = false;
  uint64_t max_mem = 4ull << 30, records = 10000000;
  bool trace = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) json = true;
    else if (i == 1 && !std::strcmp(argv[i], "trace")) trace = true;
    else if (trace && !std::strcmp(argv[i], "--records") && i + 1 < argc)
      records = std::max<uint64_t>(1000, std::strtoull(argv[++i], nullptr, 0));
    else if (!std::strcmp(argv[i], "--growth")) sweep = true;
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--max-mem") && i + 1 < argc) max_mem = std::strtoull(argv[++i], nullptr, 0) << 20;
    else {
      std::cerr << "usage: mmusim-bench [--repeat N] [--json] | --growth [--repeat N] [--max-mem MIB]"
                   " | trace [--repeat N] [--records N] [--json]\n";
      return 2;
    }
  }
  if (sweep) return growth(repeat, max_mem, json);
  if (trace) return mmusim_bench::trace_bench(repeat, records, json);
  std::vector<double> hit_rate, fault_rate, hit_s, fault_s, llc_ns;
  double hit_acc = 0, faults = 0;
  for (int r = 0; r < repeat; ++r) {
    Sample h = run_once("tlb-hit");
    llc_ns.push_back(mmusim_bench::llc_latency_ns());
    Sample f = run_once("fault");
    hit_rate.push_back(h.accesses / h.seconds);
    fault_rate.push_back(f.faults / f.seconds);
    hit_s.push_back(h.seconds);
    fault_s.push_back(f.seconds);
    hit_acc = h.accesses;
    faults = f.faults;
  }
  // Best and worst run besides the median: on a shared host the spread tells a quiet phase from
  // a busy one (docs/PERFORMANCE.md, Paired runs on a shared host).
  const auto [hit_lo, hit_hi] = std::minmax_element(hit_rate.begin(), hit_rate.end());
  const auto [fault_lo, fault_hi] = std::minmax_element(fault_rate.begin(), fault_rate.end());
  const auto [llc_lo, llc_hi] = std::minmax_element(llc_ns.begin(), llc_ns.end());
  if (json) {
    std::printf("{\"tlb_hit_accesses_per_s\": %.0f, \"faults_per_s\": %.0f, "
                "\"tlb_hit_accesses\": %.0f, \"tlb_hit_seconds\": %.3f, \"faults\": %.0f, "
                "\"fault_seconds\": %.3f, \"repeat\": %d, "
                "\"tlb_hit_accesses_per_s_best\": %.0f, \"tlb_hit_accesses_per_s_worst\": %.0f, "
                "\"faults_per_s_best\": %.0f, \"faults_per_s_worst\": %.0f, "
                "\"host_llc_ns\": %.1f, \"host_llc_ns_min\": %.1f, \"host_llc_ns_max\": %.1f}\n",
                median(hit_rate), median(fault_rate), hit_acc, median(hit_s), faults,
                median(fault_s), repeat, *hit_hi, *hit_lo, *fault_hi, *fault_lo, median(llc_ns),
                *llc_lo, *llc_hi);
  } else {
    std::printf("tlb-hit: %.0f accesses in %.3f s -> %.2f M simulated accesses/s (median of %d; "
                "best %.2f, worst %.2f)\n",
                hit_acc, median(hit_s), median(hit_rate) / 1e6, repeat, *hit_hi / 1e6,
                *hit_lo / 1e6);
    std::printf("fault:   %.0f faults in %.3f s -> %.1f k simulated faults/s (median of %d; "
                "best %.1f, worst %.1f)\n",
                faults, median(fault_s), median(fault_rate) / 1e3, repeat, *fault_hi / 1e3,
                *fault_lo / 1e3);
    std::printf("host:    %.1f ns per dependent load over 8 MiB before the fault runs (median; "
                "%.1f to %.1f; tens of ns: the host's L3 held the buffer)\n",
                median(llc_ns), *llc_lo, *llc_hi);
  }
  return 0;
}
