// The host memory manager as the hypervisor sees it: it resolves a guest frame number to the
// host frame that backs it (hva_to_pfn / get_user_pages). The first touch of a backing page pays
// a host page fault and zeroing of the whole backing page (a 2 MiB THP zeroes 512 small pages);
// later resolutions are cheap lookups. Two threads that first-touch the same backing page at
// once serialise on it (the second waits for the first, as on the host page-table lock), so
// that wait emerges from concurrency.
//
// Backing size: each backing page is `backing_level` (1: 4 KiB, 2: 2 MiB THP, 3: 1 GiB hugetlb)
// by default; tests and host events may change the level of a range, which is what lets the
// hypervisor map a huge page over a range it earlier mapped with small pages, and vice versa.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <systemc>
#include <unordered_map>

#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/types.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

struct HostPage {
  Addr hpa = 0;         // host physical address of the frame backing the gfn's 4 KiB page
  unsigned level = 1;   // size of the host backing page it sits in (1, 2 or 3)
  bool writable = true;
};

class HostMm {
 public:
  HostMm(const SimConfig& cfg, Stats& stats, unsigned default_backing_level);

  // Timed resolution in the calling thread (outside any hypervisor lock).
  HostPage resolve(Agent& a, uint64_t gfn, bool write);
  // Untimed resolution for the harness that prepares the guest before the run.
  HostPage resolve_functional(uint64_t gfn);
  // The backing of a gfn if it was ever touched (for the oracle); hpa 0 level 0 when not.
  HostPage lookup(uint64_t gfn) const;
  // Sets the backing level for gfns in [gfn, gfn + count) not yet backed.
  void set_backing_level(uint64_t gfn, uint64_t count, unsigned level);
  // Host events on huge backing pages (what THP does):
  // split_backing: the huge backing page containing gfn becomes small pages over the same
  //   frames (a THP split); returns false if gfn has no huge backing.
  // collapse_backing: the small backing pages of the `level`-sized range containing gfn are
  //   replaced by one new huge page (khugepaged copies into a fresh frame).
  bool split_backing(uint64_t gfn);
  void collapse_backing(uint64_t gfn, unsigned level);
  uint64_t backed_bytes() const { return backed_bytes_; }

 private:
  unsigned level_of(uint64_t gfn) const;
  // Creates the backing page containing gfn; returns its base frame record.
  HostPage back(uint64_t gfn);
  const SimConfig& cfg_;
  unsigned default_level_;
  std::map<uint64_t, std::pair<uint64_t, unsigned>> level_ranges_;  // start -> (end, level)
  struct Backing {
    Addr hpa_base = 0;
    unsigned level = 1;
    bool ready = false;  // zeroing finished; others may use it
    std::unique_ptr<sc_core::sc_event> ready_ev;
  };
  std::unordered_map<uint64_t, Backing> backing_;  // keyed by gfn of the backing page's base
  Addr next_hpa_ = 0;
  uint64_t backed_bytes_ = 0;
  Counter& faults_;
  Counter& lookups_;
  Counter& waits_;
};

}  // namespace mmusim
