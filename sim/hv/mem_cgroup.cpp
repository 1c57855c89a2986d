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

bool MemCgroup::consume_stock(Agent& a, Stock& s, uint64_t pages) {
  if (pages > p_.charge_batch) return false;  // it takes nothing larger than a batch
  a.load(s.line);
  if (s.pages < pages) return false;
  s.pages -= pages;
  a.store(s.line, s.pages);
  stats_.stock_hits.inc();
  return true;
}

void MemCgroup::charge(Agent& a, Addr memcg_word, uint64_t pages) {
  if (!enabled()) return;
  stats_.charges.inc(pages);
  Stock& s = stock(a);
  if (!consume_stock(a, s, pages)) {
    const uint64_t batch = std::max<uint64_t>(p_.charge_batch, pages);
    stats_.counter_charges.inc();
    update_counters(a, batch);
    if (batch > pages) {  // refill_stock keeps the surplus
      s.pages += batch - pages;
      a.store(s.line, s.pages);
    }
  }
  a.store(memcg_word, kVmmCgroup);  // commit_charge
}

void MemCgroup::migrate(Agent& a, Addr old_word, Addr new_word) {
  if (!enabled()) return;
  a.store(new_word, a.load(old_word));
  a.store(old_word, 0);
}

void MemCgroup::uncharge(Agent& a, Addr memcg_word, uint64_t pages) {
  if (!enabled()) return;
  if (a.load(memcg_word) != kVmmCgroup) return;  // never charged (a page-table page, ...)
  stats_.uncharges.inc();
  update_counters(a, ~pages + 1);  // minus `pages`, modulo 2^64 as atomic_long_sub does
  a.store(memcg_word, 0);
}

}  // namespace mmusim
