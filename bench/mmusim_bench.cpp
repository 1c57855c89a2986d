// mmusim-bench: host-side throughput of the simulator (not a test; nothing here is asserted).
// Each scenario runs in a fresh child process (SystemC elaborates once per process); the parent
// repeats each scenario --repeat times and reports the median.
//
//   build/mmusim-bench [--repeat N] [--json]
//
// Scenarios:
//   tlb-hit: 1 vCPU sweeping 16 pages 2,000,000 times (one line per page, in distinct cache
//            sets): after the first pass every access hits the L1 TLB and the L1 data cache
//            -> simulated guest accesses per host second.
//   fault:   demand-paging, 8 vCPUs x 64 MiB, 4K pages, shared mmu_lock: every page takes a
//            second-stage fault with its full walk, lock, cmpxchg work -> faults per host second.
#include <sys/wait.h>
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
#include "sim/core/config.hpp"
#include "sim/core/systemc_banner.hpp"

namespace {

struct Sample {
  double seconds = 0;
  double accesses = 0;
  double faults = 0;
  double sim_cycles = 0;
};

mmusim::SimConfig scenario(const std::string& name) {
  mmusim::SimConfig c;
  c.quiet = true;
  if (name == "tlb-hit") {
    c.vcpus = 1;
    c.mem_per_vcpu = 16 * 4096;
    c.passes = 2000000;
    c.access_offset = "spread";  // 16 lines in 16 cache sets: the data accesses hit L1 too
  } else {
    c.vcpus = 8;
    c.mem_per_vcpu = 64ull << 20;
    c.mmu_lock = "shared";
  }
  return c;
}

int run_child(const std::string& name) {
  mmusim::SimConfig c = scenario(name);
  mmusim::Platform p(c);
  auto t0 = std::chrono::steady_clock::now();
  p.run();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.6f %llu %llu %llu\n", s, (unsigned long long)p.stats.value("guest.accesses"),
              (unsigned long long)p.stats.value("hv.fault.count"),
              (unsigned long long)p.stats.value("sim.cycles"));
  return 0;
}

Sample run_once(const char* self, const std::string& name) {
  int fds[2];
  if (pipe(fds) != 0) { std::perror("pipe"); std::exit(1); }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    execl(self, self, "--child", name.c_str(), (char*)nullptr);
    std::perror("execl");
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "mmusim-bench: scenario " << name << " failed\n";
    std::exit(1);
  }
  Sample s;
  std::istringstream is(out);
  is >> s.seconds >> s.accesses >> s.faults >> s.sim_cycles;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int sc_main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--child") == 0) return run_child(argv[2]);
  int repeat = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) json = true;
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else {
      std::cerr << "usage: mmusim-bench [--repeat N] [--json]\n";
      return 2;
    }
  }
  std::vector<double> hit_rate, fault_rate, hit_s, fault_s;
  double hit_acc = 0, faults = 0;
  for (int r = 0; r < repeat; ++r) {
    Sample h = run_once("/proc/self/exe", "tlb-hit");
    Sample f = run_once("/proc/self/exe", "fault");
    hit_rate.push_back(h.accesses / h.seconds);
    fault_rate.push_back(f.faults / f.seconds);
    hit_s.push_back(h.seconds);
    fault_s.push_back(f.seconds);
    hit_acc = h.accesses;
    faults = f.faults;
  }
  if (json) {
    std::printf("{\"tlb_hit_accesses_per_s\": %.0f, \"faults_per_s\": %.0f, "
                "\"tlb_hit_accesses\": %.0f, \"tlb_hit_seconds\": %.3f, \"faults\": %.0f, "
                "\"fault_seconds\": %.3f, \"repeat\": %d}\n",
                median(hit_rate), median(fault_rate), hit_acc, median(hit_s), faults,
                median(fault_s), repeat);
  } else {
    std::printf("tlb-hit: %.0f accesses in %.3f s -> %.2f M simulated accesses/s (median of %d)\n",
                hit_acc, median(hit_s), median(hit_rate) / 1e6, repeat);
    std::printf("fault:   %.0f faults in %.3f s -> %.1f k simulated faults/s (median of %d)\n",
                faults, median(fault_s), median(fault_rate) / 1e3, repeat);
  }
  return 0;
}
