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
#include <set>
#include <systemc>
#include <unordered_map>
#include <vector>

#include "sim/core/stats_group.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/backing_table.hpp"
#include "sim/hv/host_pte.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

struct HostPage {
  Addr hpa = 0;         // host physical address of the frame backing the gfn's 4 KiB page
  unsigned level = 1;   // size of the host backing page it sits in (1, 2 or 3)
  bool writable = true;
};

// The host mm's MMU-notifier subscriber (KVM registers one per VM): called around every change
// to the VMM's mappings of guest RAM, in the thread that makes the change. Ranges are host virtual
// addresses [start, end).
class HostMmNotifier {
 public:
  virtual ~HostMmNotifier() = default;
  virtual void invalidate_range_start(Agent& a, Addr hva_start, Addr hva_end) = 0;
  virtual void invalidate_range_end(Agent& a, Addr hva_start, Addr hva_end) = 0;
  virtual void change_pte(Agent& a, Addr hva, const HostPte& pte) = 0;
  virtual bool clear_flush_young(Agent& a, Addr hva_start, Addr hva_end) = 0;
  virtual bool clear_young(Agent& a, Addr hva_start, Addr hva_end) = 0;
  virtual bool test_young(Agent& a, Addr hva) = 0;
};

// What the host memory manager is built from (app/params_hardware.cpp fills it).
struct HostMmParams {
  unsigned backing_level = 1;     // backing of guest RAM by default: 1 (4K), 2 (2M), 3 (1G)
  Cycles host_page_fault = 1800;  // host mm fault on first touch of a backing page
  Cycles page_zero_4k = 250;      // zeroing one 4 KiB host page
  Cycles l2_hit = 14;             // a walk of the host's own (cached) page tables
  Cycles host_pte_update = 100;   // changing one host PTE (with rmap walk)
  Cycles host_page_copy = 400;    // copying one 4 KiB page (COW break, KSM, migration)
  Cycles host_swap_io = 8000;     // one page written to or read from swap
};

class HostMm {
 public:
  HostMm(const HostMmParams& p, Stats& stats);

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

  // --- Host memory-manager events -------------------------------------------------
  // Guest RAM is one anonymous mapping of the VMM at kGuestRamHva (guest frame g at
  // kGuestRamHva + g * 4 KiB), as QEMU maps a RAM block; memslots describe the same layout.
  static constexpr Addr kGuestRamHva = Addr(0x7f00) << 32;
  static Addr hva_of(uint64_t gfn) { return kGuestRamHva + (gfn << kPageShift); }
  // The MMU-notifier subscriber; null (the default, and --mips-sync-mmu off): host changes are
  // made without telling KVM, as before KVM_CAP_SYNC_MMU.
  void set_notifier(HostMmNotifier* n) { notifier_ = n; }
  HostMmNotifier* notifier() const { return notifier_; }
  // Each event runs in the calling host thread, pays its host-side work, and raises the
  // notifiers around the change as Linux does. Each returns false (doing nothing) when gfn has
  // no backing. A huge backing page is split first (THP split before a 4 KiB change).
  // cow_break: the page gets a private copy in a new frame, writable.
  bool cow_break(Agent& a, uint64_t gfn);
  // ksm_merge: the page is merged onto the shared read-only frame `shared` (new_shared_frame).
  bool ksm_merge(Agent& a, uint64_t gfn, Addr shared);
  Addr new_shared_frame();
  // migrate: the contents move to a new frame; permissions stay.
  bool migrate(Agent& a, uint64_t gfn);
  // swap_out: written to swap and freed; the next resolve swaps it in (new frame).
  bool swap_out(Agent& a, uint64_t gfn);
  // balloon: the guest gave the page back (MADV_DONTNEED); the next resolve gets a zero page.
  bool balloon(Agent& a, uint64_t gfn);
  // unmap_range: MADV_DONTNEED over [gfn, gfn + count) (a balloon inflating by a whole range,
  // zap_page_range): ONE invalidation around dropping every backed page of it, so KVM sees the
  // whole range at once (and may free GPA tables it covers). Returns the pages dropped.
  uint64_t unmap_range(Agent& a, uint64_t gfn, uint64_t count);
  // Idle page tracking: clear_young / test_young on the page through the notifier (false when
  // no notifier: the host cannot see guest accesses at all then).
  bool clear_young(Agent& a, uint64_t gfn);
  bool test_young(Agent& a, uint64_t gfn);
  bool swapped(uint64_t gfn) const { return swapped_.count(gfn) != 0; }

 private:
  unsigned level_of(uint64_t gfn) const;
  // Creates the backing page containing gfn; returns its base frame record.
  HostPage back(uint64_t gfn);
  // Whether gfn has a 4 KiB backing page that finished its first touch, splitting a huge page
  // first.
  bool small_backing(uint64_t gfn);
  // Replaces gfn's frame under the notifiers: start, copy, change_pte, end.
  void replace_frame(Agent& a, uint64_t gfn, Addr frame, bool writable, bool young, bool dirty,
                     Cycles work);
  void drop_backing(Agent& a, uint64_t gfn, Cycles work);
  HostMmNotifier* notifier_ = nullptr;
  std::set<uint64_t> swapped_;
  const HostMmParams p_;
  std::map<uint64_t, std::pair<uint64_t, unsigned>> level_ranges_;  // start -> (end, level)
  using Backing = BackingTable::Record;
  BackingTable backing_;  // keyed by gfn of the backing page's base
  // The event waiters of a backing page's first touch wait on, only while that touch is in
  // flight (keyed like backing_). A notified event is reused only once its delta notification
  // has fired (a later delta cycle), so no waiter can still be queued on it.
  // Threads blocked on it are counted: a touch nobody waits for ends without a notification
  // (which would cost the faulting thread a catch-up of the kernel's clock and a delta cycle).
  struct InFlight {
    std::unique_ptr<Event> ev;
    unsigned waiters = 0;
  };
  std::unordered_map<uint64_t, InFlight> in_flight_;
  // Nodes of finished touches, reused by the next ones: a first touch per simulated fault would
  // otherwise allocate and free a map node each time.
  std::vector<std::unordered_map<uint64_t, InFlight>::node_type> spare_nodes_;
  std::vector<std::pair<uint64_t, std::unique_ptr<Event>>> notified_;  // (delta, ev)
  std::unique_ptr<Event> take_event();
  void finish_first_touch(Agent& a, uint64_t base);
  Addr next_hpa_ = 0;
  uint64_t backed_bytes_ = 0;
  struct HostMmStats : StatsGroup {
    explicit HostMmStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter faults{*this, "host.mm.faults",
                               "host page faults (get_user_pages found no present host PTE)"};
    statistics::Counter lookups{*this, "host.mm.lookups",
                                "host page lookups for a stage-2 fault (hva to host frame)"};
    statistics::Counter waits{*this, "host.mm.fault_waits",
                              "host lookups that waited for another thread's fault on the page"};
    statistics::Counter ev_cow{*this, "host.mm.cow_break", "copy-on-write breaks of a host page"};
    statistics::Counter ev_ksm{*this, "host.mm.ksm_merge", "host pages merged by KSM"};
    statistics::Counter ev_migrate{*this, "host.mm.migrate",
                                   "host pages migrated to another frame"};
    statistics::Counter ev_swap_out{*this, "host.mm.swap_out", "host pages swapped out"};
    statistics::Counter ev_swap_in{*this, "host.mm.swap_in", "host pages swapped back in"};
    statistics::Counter ev_balloon{*this, "host.mm.balloon",
                                   "host pages given up through the balloon"};
  } stats_;
};

}  // namespace mmusim
