#include "sim/hv/mem_cgroup.hpp"

#include <algorithm>

namespace mmusim {

MemCgroup::MemCgroup(const MemCgroupParams& p, KernelHeap& heap, Stats& stats)
    : p_(p), heap_(heap), stats_(stats) {
  // Lines are taken only when there are counters to charge, so a run at depth 0 lays out the
  // kernel heap exactly as one without the controller.
  if (enabled())
    for (unsigned level = 0; level <= p_.depth; ++level) counters_.push_back(heap_.alloc());
}

void MemCgroup::update_counters(Agent& a, uint64_t delta) {
  for (Addr c : counters_) a.fetch_add(c, delta);
}

MemCgroup::Stock& MemCgroup::stock(Agent& a) {
  Stock& s = stocks_[a.port().cpu()];
  if (!s.line) s.line = heap_.alloc();
  return s;
}

void MemCgroup::charge(Agent& a, Addr memcg_word, uint64_t pages) {
  if (!enabled()) return;
  stats_.charges.inc(pages);
  Stock& s = stock(a);
  if (pages <= p_.charge_batch) {  // consume_stock takes nothing larger than a batch
    a.load(s.line);
    if (s.pages >= pages) {
      s.pages -= pages;
      a.store(s.line, s.pages);
      stats_.stock_hits.inc();
      a.store(memcg_word, kVmmCgroup);  // commit_charge
      return;
    }
  }
  const uint64_t batch = std::max<uint64_t>(p_.charge_batch, pages);
  stats_.counter_charges.inc();
  update_counters(a, batch);
  if (batch > pages) {  // refill_stock keeps the surplus
    s.pages += batch - pages;
    a.store(s.line, s.pages);
  }
  a.store(memcg_word, kVmmCgroup);
}

void MemCgroup::uncharge(Agent& a, Addr memcg_word, uint64_t pages) {
  if (!enabled()) return;
  if (a.load(memcg_word) != kVmmCgroup) return;  // never charged (a page-table page, ...)
  stats_.uncharges.inc();
  update_counters(a, ~pages + 1);  // minus `pages`, modulo 2^64 as atomic_long_sub does
  a.store(memcg_word, 0);
}

}  // namespace mmusim
