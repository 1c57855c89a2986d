// The two-dimensional page walker on real tables: guest x86-64 tables living in host pages that
// EPT maps, both built in PhysMem from a PagePool, read through a MemorySystem.
//
// Each TEST builds SystemC modules, so each must run in its own process (ctest does that via
// gtest_discover_tests; by hand use --gtest_filter). Walks are called from the test body after
// elaboration: the memory system's b_transport never waits, so no SC_THREAD is needed.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <systemc>

#include "models/x86/ept_format.hpp"
#include "models/x86/x86_pt_format.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/violations.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/pt_iter.hpp"
#include "sim/mmu/walker.hpp"

using namespace mmusim;
using Status = WalkResult::Status;

namespace {

const Perms kR{true, false, false};
const Perms kRW{true, true, false};
const Perms kRWX{true, true, true};

constexpr Addr k4K = 1ull << 12, k2M = 1ull << 21;
constexpr Addr kGuestTableGpa = 0x10000000;  // guest page tables live in one 2 MiB GPA region
constexpr Addr kDataGpa = 0x40000000;        // guest data pages
constexpr Addr kDataHpa = 0x80000000;        // host frames of guest data (2 MiB aligned)
constexpr Addr kGva4 = 0x00007f1234400000;   // canonical 4-level address, 2 MiB aligned
constexpr Addr kGva5 = 0x00ab7f1234400000;   // uses the PML5 index too

class Rig {
 public:
  Clock clock{1.0, sc_core::sc_get_curr_simcontext()};
  MemorySystemParams mem_params;
  WalkerParams walker_params;
  Stats stats;
  PhysMem mem;
  PagePool pool{mem};
  Violations viol{stats, true};
  X86PageFormat gfmt;
  EptFormat efmt;
  std::unique_ptr<MemorySystem> memsys;
  HwWalkStats walk_stats{stats, "walk"};
  PmlWalkStats pml_stats{stats};
  std::unique_ptr<Walker> walker;
  Addr ept_root = 0;
  Addr guest_root = 0;                // a GPA
  std::map<Addr, Addr> table_hpa;     // guest table page GPA -> its host page
  Addr next_table_gpa = kGuestTableGpa;
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;

  Rig(unsigned guest_levels, unsigned ept_levels, unsigned pwc_entries, unsigned pwc_ways = 4,
      bool pml = false)
      : gfmt(guest_levels), efmt(ept_levels) {
    mem_params.pcpus = 1;
    walker_params.pwc_entries = pwc_entries;
    walker_params.pwc_ways = pwc_ways;
    walker_params.pml = pml;
    memsys = std::make_unique<MemorySystem>("memsys", mem_params, clock, mem, stats);
    walker = std::make_unique<Walker>("walker", walker_params, clock, gfmt, efmt, &pool, &viol,
                                      walk_stats, &pml_stats);
    walker->port.socket.bind(memsys->target);
    ept_root = pool.alloc();
    guest_root = new_guest_table();
  }

  // Ends elaboration so the sockets are bound; walks can then be called directly.
  void start() { sc_core::sc_start(sc_core::SC_ZERO_TIME); }

  WalkResult walk(Addr gva, Access a = Access::Read) {
    return walker->walk(gva, a, guest_root, ept_root, delay, "vcpu0");
  }

  // Installs a leaf for `va` at `level` in the tree rooted at `root`, creating tables as
  // needed. Untimed: tests set up state the way a harness would, not as a simulated agent.
  void map(const PageTableFormat& f, Addr root, Addr va, Addr frame, unsigned level, Perms p,
           const std::function<Addr()>& new_table, const std::function<Addr(Addr)>& to_hpa) {
    PtIter it(f, root, va);
    while (it.level() > level) {
      const Addr ea = to_hpa(it.entry_addr());
      uint64_t e = mem.read64(ea);
      if (!f.present(e)) {
        e = f.make_table(new_table());
        mem.write64(ea, e);
      }
      it.set_entry(e);
      it.descend();
    }
    mem.write64(to_hpa(it.entry_addr()), f.make_leaf(frame, level, p, true, true));
  }
  // Host address of the entry for `va` at `level` (the tables above must exist).
  Addr entry_hpa(const PageTableFormat& f, Addr root, Addr va, unsigned level,
                 const std::function<Addr(Addr)>& to_hpa) {
    PtIter it(f, root, va);
    while (it.level() > level) {
      it.set_entry(mem.read64(to_hpa(it.entry_addr())));
      it.descend();
    }
    return to_hpa(it.entry_addr());
  }

  Addr guest_to_hpa(Addr gpa) {
    auto i = table_hpa.find(gpa & ~(k4K - 1));
    EXPECT_NE(i, table_hpa.end()) << "not a guest table page";
    return i->second + (gpa & (k4K - 1));
  }

  void ept_map(Addr gpa, Addr hpa, unsigned level = 1, Perms p = kRWX) {
    map(efmt, ept_root, gpa, hpa, level, p, [this] { return pool.alloc(); },
        [](Addr a) { return a; });
  }
  // A guest page-table page: a host page from the pool, given the next table GPA and mapped
  // there by a 4 KiB EPT entry.
  Addr new_guest_table() {
    const Addr hpa = pool.alloc();
    const Addr gpa = next_table_gpa;
    next_table_gpa += k4K;
    table_hpa[gpa] = hpa;
    ept_map(gpa, hpa);
    return gpa;
  }
  void guest_map(Addr gva, Addr gpa, unsigned level = 1, Perms p = kRW) {
    map(gfmt, guest_root, gva, gpa, level, p, [this] { return new_guest_table(); },
        [this](Addr a) { return guest_to_hpa(a); });
  }
  Addr guest_entry_hpa(Addr gva, unsigned level) {
    return entry_hpa(gfmt, guest_root, gva, level, [this](Addr a) { return guest_to_hpa(a); });
  }
  Addr ept_entry_hpa(Addr gpa, unsigned level) {
    return entry_hpa(efmt, ept_root, gpa, level, [](Addr a) { return a; });
  }
  // GPA of the guest table that holds gva's entry at `level`.
  Addr guest_table_gpa(Addr gva, unsigned level) {
    PtIter it(gfmt, guest_root, gva);
    while (it.level() > level) {
      it.set_entry(mem.read64(guest_to_hpa(it.entry_addr())));
      it.descend();
    }
    return it.table();
  }

  uint64_t hist_count() const { return stats.find_histogram("walk.refs")->count(); }
  uint64_t hist_sum() const { return stats.find_histogram("walk.refs")->sum(); }
};

// One 4 KiB page mapped in both stages, then a cold walk without caches.
unsigned cold_refs(unsigned guest_levels, unsigned ept_levels, Addr gva) {
  Rig r(guest_levels, ept_levels, 0);
  r.guest_map(gva, kDataGpa);
  r.ept_map(kDataGpa, kDataHpa);
  r.start();
  const WalkResult w = r.walk(gva + 0x123);
  EXPECT_EQ(w.status, Status::Ok);
  EXPECT_EQ(w.gpa, kDataGpa + 0x123);
  EXPECT_EQ(w.hpa_base, kDataHpa);
  EXPECT_EQ(w.page_shift, 12u);
  EXPECT_GT(r.delay, sc_core::SC_ZERO_TIME);
  EXPECT_EQ(r.stats.value("walk.count"), 1u);
  EXPECT_EQ(r.hist_count(), 1u);
  EXPECT_EQ(r.hist_sum(), w.refs);
  EXPECT_EQ(r.viol.count(), 0u);
  return w.refs;
}

}  // namespace

// (guest levels) x (EPT levels + 1) + EPT levels.
TEST(Walker, Cold4x4Makes24References) { EXPECT_EQ(cold_refs(4, 4, kGva4), 24u); }
TEST(Walker, Cold4x5Makes29References) { EXPECT_EQ(cold_refs(4, 5, kGva4), 29u); }
TEST(Walker, Cold5x4Makes29References) { EXPECT_EQ(cold_refs(5, 4, kGva5), 29u); }
TEST(Walker, Cold5x5Makes35References) { EXPECT_EQ(cold_refs(5, 5, kGva5), 35u); }

TEST(Walker, NoCachesMeansEveryWalkIsCold) {
  Rig r(4, 4, 0);
  r.guest_map(kGva4, kDataGpa);
  r.ept_map(kDataGpa, kDataHpa, 1, kRWX);
  r.start();
  EXPECT_EQ(r.walk(kGva4).refs, 24u);
  EXPECT_EQ(r.walk(kGva4).refs, 24u);
  EXPECT_EQ(r.stats.value("walk.count"), 2u);
  EXPECT_EQ(r.stats.value("walk.pwc_hit"), 0u);
  EXPECT_EQ(r.hist_sum(), 48u);
}

TEST(Walker, PagingStructureCachesCutReferences) {
  Rig r(4, 4, 32);
  r.guest_map(kGva4, kDataGpa);
  r.guest_map(kGva4 + k4K, kDataGpa + k4K);
  r.ept_map(kDataGpa, kDataHpa);
  r.ept_map(kDataGpa + k4K, kDataHpa + 0x7000);
  r.start();

  // Cold walk, caches filling as it goes. The four guest tables share one 2 MiB GPA region, so
  // after the root's full EPT walk (4 refs) each lower table's EPT walk hits the EPT level-2
  // cache (1 ref); the data GPA shares only the EPT root entry (level-4 hit, 3 refs):
  // (4+1) + 3 x (1+1) + 3 = 14, with 3 + 1 cache hits.
  const WalkResult a = r.walk(kGva4);
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.refs, 14u);
  EXPECT_EQ(r.stats.value("walk.pwc_hit"), 4u);

  // The neighbouring page: the guest level-2 cache gives the guest L1 table (skipping three
  // guest levels and their EPT walks); its EPT translation hits the EPT level-2 cache (1 ref),
  // then the guest PTE (1 ref), then the data GPA hits the EPT level-2 cache too (1 ref).
  const WalkResult b = r.walk(kGva4 + k4K + 8);
  EXPECT_EQ(b.status, Status::Ok);
  EXPECT_EQ(b.refs, 3u);
  EXPECT_EQ(b.hpa_base, kDataHpa + 0x7000);
  EXPECT_EQ(b.gpa, kDataGpa + k4K + 8);
  EXPECT_EQ(r.stats.value("walk.pwc_hit"), 7u);

  // A flush empties every cache: the next walk is cold again.
  r.walker->flush_caches();
  EXPECT_EQ(r.walk(kGva4).refs, 14u);
  EXPECT_EQ(r.stats.value("walk.count"), 3u);
  EXPECT_EQ(r.hist_sum(), 14u + 3u + 14u);
}

// A guest-linear flush (a guest CR3 load or TLB flush under EPT) empties only the caches of the
// guest's tables (Intel SDM Vol. 3C, "Operations that Invalidate Cached Mappings"): the next
// walk reads all four guest levels again, but each guest table's EPT translation and the data
// GPA's hit the EPT level-2 cache: 4 x (1+1) + 1 = 9 references instead of 14.
TEST(Walker, GuestLinearFlushKeepsTheEptCaches) {
  Rig r(4, 4, 32);
  r.guest_map(kGva4, kDataGpa);
  r.ept_map(kDataGpa, kDataHpa);
  r.start();
  EXPECT_EQ(r.walk(kGva4).refs, 14u);
  r.walker->flush_guest_caches();
  const WalkResult again = r.walk(kGva4);
  EXPECT_EQ(again.status, Status::Ok);
  EXPECT_EQ(again.refs, 9u);
  EXPECT_EQ(again.hpa_base, kDataHpa);
}

// Two pages whose guest level-2 cache keys (VA >> 21) differ by 4, walked A, B, A with
// 4-entry caches of `ways` ways; returns the references of the second walk of A.
unsigned rewalk_after_conflict(unsigned ways) {
  Rig r(4, 4, 4, ways);
  const Addr b = kGva4 + 4 * k2M;
  r.guest_map(kGva4, kDataGpa);
  r.guest_map(b, kDataGpa + k4K);
  r.ept_map(kDataGpa, kDataHpa);
  r.ept_map(kDataGpa + k4K, kDataHpa + k4K);
  r.start();
  EXPECT_EQ(r.walk(kGva4).status, Status::Ok);
  EXPECT_EQ(r.walk(b).status, Status::Ok);
  const WalkResult again = r.walk(kGva4);
  EXPECT_EQ(again.status, Status::Ok);
  EXPECT_EQ(again.hpa_base, kDataHpa);
  return again.refs;
}

TEST(Walker, FullyAssociativeCachesKeepBothPages) {
  // One set of four: A's guest level-2 entry survives B's walk (3 refs, as for a neighbour).
  EXPECT_EQ(rewalk_after_conflict(4), 3u);
}

TEST(Walker, DirectMappedCachesEvictOnConflict) {
  // WalkerParams::pwc_ways = 1: four sets, and B's entry takes A's set, so A walks further.
  EXPECT_GT(rewalk_after_conflict(1), 3u);
}

TEST(Walker, CachedWalkStillChecksPermissions) {
  // The caches carry the rights of the levels they skip; a leaf without write still faults.
  Rig r(4, 4, 32);
  r.guest_map(kGva4, kDataGpa);
  r.guest_map(kGva4 + k4K, kDataGpa + k4K, 1, kR);
  r.ept_map(kDataGpa, kDataHpa);
  r.ept_map(kDataGpa + k4K, kDataHpa + k4K);
  r.start();
  EXPECT_EQ(r.walk(kGva4, Access::Write).status, Status::Ok);
  EXPECT_EQ(r.walk(kGva4 + k4K, Access::Write).status, Status::GuestFault);
  const WalkResult rd = r.walk(kGva4 + k4K, Access::Read);
  EXPECT_EQ(rd.status, Status::Ok);
  EXPECT_FALSE(rd.perms.write);
}

TEST(Walker, Ept2MLeafUnderGuest4KPage) {
  Rig r(4, 4, 0);
  r.guest_map(kGva4, kDataGpa + 0x5000);
  r.ept_map(kDataGpa, kDataHpa, 2, kRWX);
  r.start();
  const WalkResult w = r.walk(kGva4 + 0x123);
  ASSERT_EQ(w.status, Status::Ok);
  EXPECT_EQ(w.page_shift, 12u);  // the guest's 4K page bounds the combined translation
  EXPECT_EQ(w.hpa_base, kDataHpa + 0x5000);
  EXPECT_EQ(w.gpa, kDataGpa + 0x5123);
  EXPECT_EQ(w.refs, 4u * 5u + 3u);  // the data's EPT walk stops at level 2
  EXPECT_EQ(w.perms, kRW);          // guest RW (NX) AND EPT RWX
}

TEST(Walker, Guest2MPageOverEpt4KAnd2M) {
  Rig r(4, 4, 0);
  const Addr gva2 = kGva4 + k2M;
  r.guest_map(kGva4, kDataGpa, 2, kRWX);           // guest 2M over EPT 4K
  r.ept_map(kDataGpa + 0x3000, kDataHpa + 0x9000);
  r.guest_map(gva2, kDataGpa + k2M, 2, kRWX);      // guest 2M over EPT 2M
  r.ept_map(kDataGpa + k2M, kDataHpa + k2M, 2);
  r.start();
  const WalkResult a = r.walk(kGva4 + 0x3456);
  ASSERT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.page_shift, 12u);
  EXPECT_EQ(a.hpa_base, kDataHpa + 0x9000);
  EXPECT_EQ(a.gpa, kDataGpa + 0x3456);
  EXPECT_EQ(a.refs, 3u * 5u + 4u);
  const WalkResult b = r.walk(gva2 + 0x12345);
  ASSERT_EQ(b.status, Status::Ok);
  EXPECT_EQ(b.page_shift, 21u);
  EXPECT_EQ(b.hpa_base, kDataHpa + k2M);
  EXPECT_EQ(b.gpa, kDataGpa + k2M + 0x12345);
  EXPECT_EQ(b.refs, 3u * 5u + 3u);
  EXPECT_EQ(b.perms, kRWX);
}

TEST(Walker, MissingEptEntryForDataPage) {
  Rig r(4, 4, 0);
  r.guest_map(kGva4, kDataGpa);
  r.guest_map(kGva4 + k4K, kDataGpa + k4K);       // EPT L1 table exists, entry does not
  r.guest_map(kGva4 + 2 * k4K, 0x100000000ull);   // no EPT level-3 entry for this GiB
  r.ept_map(kDataGpa, kDataHpa);
  r.start();
  const WalkResult a = r.walk(kGva4 + k4K + 0x42);
  EXPECT_EQ(a.status, Status::StageTwoFault);
  EXPECT_EQ(a.gpa, kDataGpa + k4K + 0x42);
  EXPECT_FALSE(a.on_guest_table);
  EXPECT_EQ(a.stage2_level, 1u);
  EXPECT_EQ(a.refs, 24u);
  const WalkResult b = r.walk(kGva4 + 2 * k4K);
  EXPECT_EQ(b.status, Status::StageTwoFault);
  EXPECT_EQ(b.gpa, 0x100000000ull);
  EXPECT_FALSE(b.on_guest_table);
  EXPECT_EQ(b.stage2_level, 3u);
  EXPECT_EQ(b.refs, 20u + 2u);
}

TEST(Walker, MissingEptEntryForGuestTable) {
  Rig r(4, 4, 0);
  r.guest_map(kGva4, kDataGpa);
  r.ept_map(kDataGpa, kDataHpa);
  // Zap the EPT entry that maps the guest's level-1 table page.
  const Addr l1_table = r.guest_table_gpa(kGva4, 1);
  r.mem.write64(r.ept_entry_hpa(l1_table, 1), 0);
  r.start();
  const WalkResult w = r.walk(kGva4);
  EXPECT_EQ(w.status, Status::StageTwoFault);
  EXPECT_TRUE(w.on_guest_table);
  EXPECT_EQ(w.gpa, l1_table + r.gfmt.index(kGva4, 1) * 8);  // the guest PTE's own GPA
  EXPECT_EQ(w.stage2_level, 1u);
  EXPECT_EQ(w.refs, 3u * 5u + 4u);
}

TEST(Walker, PermissionFaultsOfBothStages) {
  Rig r(4, 4, 0);
  r.guest_map(kGva4, kDataGpa);                  // guest RW
  r.guest_map(kGva4 + k4K, kDataGpa + k4K, 1, kR);  // guest read-only
  r.ept_map(kDataGpa, kDataHpa, 1, kR);          // EPT read-only (e.g. dirty logging)
  r.ept_map(kDataGpa + k4K, kDataHpa + k4K, 1, kRWX);
  r.start();

  const WalkResult rd = r.walk(kGva4, Access::Read);
  EXPECT_EQ(rd.status, Status::Ok);
  EXPECT_EQ(rd.perms, kR);  // guest RW AND EPT R

  const WalkResult wr = r.walk(kGva4 + 8, Access::Write);
  EXPECT_EQ(wr.status, Status::StageTwoFault);
  EXPECT_EQ(wr.gpa, kDataGpa + 8);
  EXPECT_FALSE(wr.on_guest_table);
  EXPECT_EQ(wr.stage2_level, 1u);

  // The guest's own fault comes before the data GPA is translated: 4 x 5 refs only.
  const WalkResult gw = r.walk(kGva4 + k4K, Access::Write);
  EXPECT_EQ(gw.status, Status::GuestFault);
  EXPECT_EQ(gw.refs, 20u);
  EXPECT_EQ(r.walk(kGva4 + k4K, Access::Fetch).status, Status::GuestFault);  // NX

  // Not mapped at all in the guest: the walk stops at the first non-present entry.
  const WalkResult np = r.walk(0x1000);
  EXPECT_EQ(np.status, Status::GuestFault);
  EXPECT_EQ(np.refs, 5u);  // root table's EPT walk + the root entry
}

TEST(Walker, ReadOnlyGuestTablePageIsFineForWalks) {
  Rig r(4, 4, 0);
  r.guest_map(kGva4, kDataGpa);
  r.ept_map(kDataGpa, kDataHpa);
  // Write-protect the guest's level-1 table in EPT, as KVM's shadow paging or dirty
  // logging might: the walker only reads guest tables, so even a data write succeeds.
  const Addr l1_table = r.guest_table_gpa(kGva4, 1);
  r.ept_map(l1_table, r.table_hpa.at(l1_table), 1, kR);
  r.start();
  EXPECT_EQ(r.walk(kGva4, Access::Read).status, Status::Ok);
  const WalkResult w = r.walk(kGva4, Access::Write);
  EXPECT_EQ(w.status, Status::Ok);
  EXPECT_TRUE(w.perms.write);
}

TEST(Walker, FreedTableAccessIsReported) {
  Rig r(4, 4, 0);
  r.guest_map(kGva4, kDataGpa);
  r.ept_map(kDataGpa, kDataHpa);
  const Addr pte_hpa = r.guest_entry_hpa(kGva4, 1);
  r.start();
  ASSERT_EQ(r.walk(kGva4).status, Status::Ok);
  EXPECT_EQ(r.viol.count(), 0u);

  // The guest L1 table's host page goes back to the pool while still linked in the tree.
  r.pool.free(pte_hpa & ~(k4K - 1));
  r.walk(kGva4);  // whatever it returns, it read a freed page
  ASSERT_EQ(r.viol.count(), 1u);
  EXPECT_EQ(r.stats.value("check.freed_table_access"), 1u);
  const Violation& v = r.viol.recorded().at(0);
  EXPECT_EQ(v.kind, "freed_table_access");
  EXPECT_EQ(v.addr, pte_hpa);
  EXPECT_EQ(v.thread, "vcpu0");
  EXPECT_GT(v.when, 0u);  // the delay accumulated before that read counts
  EXPECT_FALSE(v.detail.empty());
}

// Page-Modification Logging (sim/mmu/pml_log.hpp): one 4K page mapped in both stages whose EPT
// leaf is clean, and a log whose index starts at `index`.
struct PmlRig : Rig {
  PmlLog log;
  explicit PmlRig(uint64_t index, bool pml = true) : Rig(4, 4, 0, 4, pml) {
    guest_map(kGva4, kDataGpa);
    ept_map(kDataGpa, kDataHpa);
    const Addr leaf = ept_entry_hpa(kDataGpa, 1);
    mem.write64(leaf, mem.read64(leaf) & ~(uint64_t(1) << 9));  // EPT D
    log.buffer = pool.alloc();
    log.index = pool.alloc();
    mem.write64(log.index, index);
    walker->set_pml_log(log);
    start();
  }
  bool leaf_dirty() { return efmt.dirty(mem.read64(ept_entry_hpa(kDataGpa, 1))); }
};

TEST(WalkerPml, SettingDirtyLogsTheGpaAndCountsDown) {
  PmlRig r(kPmlIndexFirst);
  ASSERT_EQ(r.walk(kGva4 + 0x40, Access::Write).status, Status::Ok);
  EXPECT_TRUE(r.leaf_dirty());
  EXPECT_EQ(r.mem.read64(r.log.buffer + kPmlIndexFirst * 8), kDataGpa);  // page-aligned GPA
  EXPECT_EQ(r.mem.read64(r.log.index), kPmlIndexFirst - 1);
  // D is set now: a second write logs nothing.
  ASSERT_EQ(r.walk(kGva4, Access::Write).status, Status::Ok);
  EXPECT_EQ(r.mem.read64(r.log.index), kPmlIndexFirst - 1);
  EXPECT_EQ(r.stats.value("walk.pml.logged"), 1u);
}

TEST(WalkerPml, LastSlotThenLogFull) {
  PmlRig r(0);  // one free slot: its logging wraps the 16-bit index
  ASSERT_EQ(r.walk(kGva4, Access::Write).status, Status::Ok);
  EXPECT_EQ(r.mem.read64(r.log.index), kPmlIndexMask);
  const Addr leaf = r.ept_entry_hpa(kDataGpa, 1);
  r.mem.write64(leaf, r.mem.read64(leaf) & ~(uint64_t(1) << 9));  // cleaned again
  // A full log: a log-full exit, with the D bit left clear and nothing written.
  EXPECT_EQ(r.walk(kGva4, Access::Write).status, Status::PmlFull);
  EXPECT_FALSE(r.leaf_dirty());
  EXPECT_EQ(r.stats.value("walk.pml.full"), 1u);
  // After the hypervisor reset the index the walk goes through.
  r.mem.write64(r.log.index, kPmlIndexFirst);
  EXPECT_EQ(r.walk(kGva4, Access::Write).status, Status::Ok);
  EXPECT_TRUE(r.leaf_dirty());
}

TEST(WalkerPml, ReadOfACleanPageCachesNoWriteRight) {
  // With PML a write must reach the walker to set D, so a read's translation lacks W ...
  PmlRig on(kPmlIndexFirst);
  const WalkResult w = on.walk(kGva4, Access::Read);
  ASSERT_EQ(w.status, Status::Ok);
  EXPECT_EQ(w.perms, kR);
  EXPECT_FALSE(on.leaf_dirty());
  EXPECT_EQ(on.mem.read64(on.log.index), kPmlIndexFirst);
}

TEST(WalkerPml, WithoutPmlNothingIsLogged) {
  PmlRig off(kPmlIndexFirst, false);
  EXPECT_EQ(off.walk(kGva4, Access::Read).perms, kRW);  // ... without it the read grants W
  ASSERT_EQ(off.walk(kGva4, Access::Write).status, Status::Ok);
  EXPECT_TRUE(off.leaf_dirty());
  EXPECT_EQ(off.mem.read64(off.log.index), kPmlIndexFirst);
}
