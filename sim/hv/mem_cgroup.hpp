// The memory controller's charging of the VMM's anonymous pages (mm/memcontrol.c try_charge,
// consume_stock, refill_stock, uncharge_batch; mm/page_counter.c) as the faulting thread runs
// it, the shared counters in simulated memory, so threads charging and uncharging at once
// bounce their lines (docs/ARCHITECTURE.md, Host memory manager: memory cgroups):
// - the VMM processes sit in one memory cgroup `depth` levels below the root, as processes
//   started from one login session share its scope; a charge or uncharge that reaches the
//   counters updates the page_counter of every level from that cgroup up to and including the
//   root's own (page_counter_try_charge / page_counter_uncharge walk c->parent), one line each
//   with an atomic usage word. Depth 0 is the root cgroup, where try_charge and uncharge_batch
//   touch no counter: nothing is modelled then;
// - a charge is first served from the charging CPU's stock (struct memcg_stock_pcp, one line
//   per CPU holding the pages it keeps): consume_stock. A charge it cannot serve adds a batch
//   (`charge_batch` pages, or the charge itself if larger) to every level at once, and
//   refill_stock keeps the surplus. The kernel works on the stock with interrupts off, so no
//   other thread on the CPU runs in between: the model keeps the stock's count in C++ (as the
//   page allocator keeps its per-CPU lists) and performs the line's load and store for timing;
// - the page records its memcg in its struct page line (commit_charge: page->memcg_data);
// - freeing a charged page uncharges it on every level at once: uncharge_batch has no stock,
//   so each free is `depth + 1` atomics on lines every CPU shares.
// Limits, reclaim, memory.high, protection (min/low), the watermark, swap accounting and the
// per-CPU statistics are not modelled: no counter ever reaches a limit here.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

// A bare host mm has no controller (depth 0); the platform sets the CLI's default layout.
struct MemCgroupParams {
  unsigned depth = 0;          // levels between the VMMs' cgroup and the root; 0: the root
  unsigned charge_batch = 32;  // MEMCG_CHARGE_BATCH: pages a stock refill charges at once
};

struct MemCgroupStats : StatsGroup {
  explicit MemCgroupStats(Stats& s) : StatsGroup(s) {}
  statistics::Counter charges{*this, "host.mm.memcg.charges", "pages charged to a memory cgroup"};
  statistics::Counter stock_hits{*this, "host.mm.memcg.stock_hits",
                                 "charges served from the charging CPU's stock (consume_stock)"};
  statistics::Counter counter_charges{*this, "host.mm.memcg.counter_charges",
      "charges that updated every level's page_counter (a batch the stock could not serve)"};
  statistics::Counter uncharges{*this, "host.mm.memcg.uncharges",
      "charged pages freed: each updated every level's page_counter"};
};

class MemCgroup {
 public:
  // The id pages charged to the VMMs' cgroup record in their memcg_data word (never 0).
  static constexpr uint64_t kVmmCgroup = 1;

  MemCgroup(const MemCgroupParams& p, KernelHeap& heap, Stats& stats);

  // mem_cgroup_charge of a new page of `pages` frames: the charge, then the page's record of
  // it in `memcg_word` (its struct page line's page->memcg_data).
  void charge(Agent& a, Addr memcg_word, uint64_t pages);
  // mem_cgroup_uncharge when a page's last reference goes: uncharges it if it was charged.
  void uncharge(Agent& a, Addr memcg_word, uint64_t pages);
  // mem_cgroup_migrate as 6.8 and later run it: the new frame takes the old one's memcg_data,
  // the counters are left alone, and the old frame's free then uncharges nothing (5.12 charged
  // the new frame to the counters and uncharged the old one at its free: not modelled).
  void migrate(Agent& a, Addr old_word, Addr new_word);
  bool enabled() const { return p_.depth != 0; }
  // The line of the counter `level` steps above the VMMs' cgroup (0: its own, depth: the
  // root's); its first word is the usage in pages. Only with enabled().
  Addr counter_line(unsigned level) const { return counters_.at(level); }

 private:
  void update_counters(Agent& a, uint64_t delta);
  struct Stock {
    Addr line = 0;
    uint64_t pages = 0;  // charged pages the CPU holds for the VMMs' cgroup
  };
  Stock& stock(Agent& a);
  // consume_stock: takes `pages` from the CPU's stock if it holds that many.
  bool consume_stock(Agent& a, Stock& s, uint64_t pages);

  const MemCgroupParams p_;
  KernelHeap& heap_;
  std::vector<Addr> counters_;          // from the VMMs' cgroup up to the root
  std::unordered_map<int, Stock> stocks_;  // per CPU, its line allocated on its first charge
  MemCgroupStats stats_;
};

}  // namespace mmusim
