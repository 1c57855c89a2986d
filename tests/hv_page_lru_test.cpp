// The host's LRU list of anonymous pages (sim/hv/page_lru.hpp) as the faulting threads run it:
// the per-CPU add batch and its reference, the move to the list under lru_lock, which lock a
// new page's add runs under, a freed page leaving the list, a THP and a THP split.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "sim/hv/host_mm.hpp"
#include "tests/host_mm_rig.hpp"

using namespace mmusim;
using mmusim::testing::HostRig;

namespace {

constexpr uint64_t kGfn = 0x2000;

HostMmParams with_lru(unsigned batch, unsigned level = 1) {
  HostMmParams p;
  p.lru.batch = batch;
  p.backing_level = level;
  return p;
}

uint64_t refcount(HostRig& r, Addr page) { return r.host.memory().alloc.refcount(page); }
uint64_t flags(HostRig& r, Addr page) {
  return r.rig.mem.read64(PageAllocator::flags_word(page));
}

// The pages of the list, first to last.
std::vector<Addr> list_of(const PageLru& lru) {
  std::vector<Addr> out;
  for (Addr p = lru.first(); p; p = lru.next(p)) out.push_back(p);
  return out;
}

}  // namespace

// folio_add_lru: each new page waits in its CPU's batch with a reference of the batch's own;
// the add that fills the batch moves all of it to the list in one hold of lru_lock, newest
// first, sets PG_lru on each and drops the batch's references.
TEST(PageLru, TheBatchHoldsAReferenceUntilItsMoveThenThePagesJoinTheListNewestFirst) {
  HostRig r(1, with_lru(4));
  const PageLru& lru = r.host.memory().lru;
  std::vector<Addr> pages;
  size_t batched_before_last = 0;
  std::vector<uint64_t> refs_before_last;
  r.rig.spawn(0, [&](Agent& a) {
    for (uint64_t i = 0; i < 4; ++i) {
      if (i == 3) {
        batched_before_last = lru.batched(0);
        for (Addr p : pages) refs_before_last.push_back(refcount(r, p));
      }
      const HostPage p = r.host.resolve(a, kGfn + i, true);
      pages.push_back(p.hpa);
      r.host.release(a, p);
    }
  });
  r.rig.run();
  EXPECT_EQ(batched_before_last, 3u);
  for (uint64_t c : refs_before_last) EXPECT_EQ(c, 2u);  // the mapping's and the batch's
  EXPECT_EQ(lru.batched(0), 0u);
  EXPECT_EQ(list_of(lru), (std::vector<Addr>{pages[3], pages[2], pages[1], pages[0]}));
  for (Addr p : pages) {
    EXPECT_EQ(refcount(r, p), 1u);
    EXPECT_TRUE(flags(r, p) & PageAllocator::kPgLru);
  }
  EXPECT_EQ(r.stat("host.mm.lru.adds"), 4u);
  EXPECT_EQ(r.stat("host.mm.lru.batch_moves"), 1u);
  EXPECT_EQ(r.stat("host.mm.lru_lock.acquire"), 1u);
}

// Batch 0 keeps no lists: no reference is taken and the lock is never used.
TEST(PageLru, BatchZeroKeepsNoLists) {
  HostRig r(1, with_lru(0));
  Addr page = 0;
  r.rig.spawn(0, [&](Agent& a) {
    const HostPage p = r.host.resolve(a, kGfn, true);
    page = p.hpa;
    r.host.release(a, p);
  });
  r.rig.run();
  EXPECT_EQ(refcount(r, page), 1u);
  EXPECT_EQ(r.host.memory().lru.first(), 0u);
  EXPECT_EQ(r.stat("host.mm.lru.adds"), 0u);
  EXPECT_EQ(r.stat("host.mm.lru_lock.acquire"), 0u);
}

// A compound page is moved to the list at once, whatever the batch holds.
TEST(PageLru, AThpJoinsTheListAtOnce) {
  HostRig r(1, with_lru(15, 2));
  r.rig.spawn(0, [&](Agent& a) { r.host.release(a, r.host.resolve(a, kGfn, true)); });
  r.rig.run();
  const Addr head = r.host.lookup(kGfn).hpa & ~Addr((uint64_t(512) << kPageShift) - 1);
  EXPECT_EQ(list_of(r.host.memory().lru), std::vector<Addr>{head});
  EXPECT_EQ(r.stat("host.mm.lru.batch_moves"), 1u);
  EXPECT_EQ(refcount(r, head), 1u);
}

// Runs `act` on CPU 0 while CPU 1 watches every cycle for lru_lock's holder: whether CPU 0
// held the PTE lock of kGfn the first time it was seen holding lru_lock (-1: never seen).
static int ptl_held_at_first_lru_hold(HostRig& r, const std::function<void(Agent&)>& act) {
  const SpinLock& ptl = r.host.page_table_lock(kGfn, 1);
  const SpinLock& lru_lock = r.host.memory().lru.lock();
  bool done = false;
  int ptl_held = -1;
  r.rig.spawn(0, [&](Agent& a) {
    act(a);
    done = true;
  });
  const Agent& actor = *r.rig.agents[0];
  r.rig.spawn(1, [&](Agent& a) {
    while (!done) {
      a.advance(1);
      a.sync();
      if (ptl_held < 0 && lru_lock.held_by(actor)) ptl_held = ptl.held_by(actor);
    }
  });
  r.rig.run();
  return ptl_held;
}

// Whether the add of a new page took lru_lock while its thread held the lock of the page's
// host PTE: a first touch, or a migration's new frame after the page was first touched
// functionally.
static bool pte_lock_held_at_lru_move(bool migrate) {
  HostRig r(2, with_lru(1));
  r.host.resolve_functional(kGfn + 1);  // the tables exist
  if (migrate) r.host.resolve_functional(kGfn);
  const int ptl_held = ptl_held_at_first_lru_hold(r, [&](Agent& a) {
    if (migrate)
      r.host.migrate(a, kGfn);
    else
      r.host.release(a, r.host.resolve(a, kGfn, true));
  });
  EXPECT_EQ(r.stat("host.mm.lru.batch_moves"), 1u);
  EXPECT_GE(ptl_held, 0) << "lru_lock never seen held";
  return ptl_held == 1;
}

// do_anonymous_page (and wp_page_copy) add the page before they write the entry, under the PTE
// lock; migration puts its new frame back on the list after the entry points at it.
TEST(PageLru, AFirstTouchAddsUnderThePteLockAMigrationAfterIt) {
  EXPECT_TRUE(pte_lock_held_at_lru_move(false)) << "first touch: added outside the PTE lock";
  EXPECT_FALSE(pte_lock_held_at_lru_move(true)) << "migration: added under the PTE lock";
}

// A page whose last reference goes leaves the list under lru_lock: its neighbours are linked
// to each other and its PG_lru flag is cleared before it is freed.
TEST(PageLru, AFreedPageLeavesTheListAndItsNeighboursAreLinked) {
  HostRig r(1, with_lru(1));
  std::vector<Addr> pages;
  r.rig.spawn(0, [&](Agent& a) {
    for (uint64_t i = 0; i < 3; ++i) {
      const HostPage p = r.host.resolve(a, kGfn + i, true);
      pages.push_back(p.hpa);
      r.host.release(a, p);
    }
    r.host.balloon(a, kGfn + 1);  // the middle page's mapping reference, its last
  });
  r.rig.run();
  EXPECT_EQ(list_of(r.host.memory().lru), (std::vector<Addr>{pages[2], pages[0]}));
  EXPECT_EQ(r.stat("host.mm.lru.removes"), 1u);
  EXPECT_EQ(r.stat("host.mm.lru_lock.acquire"), 4u);  // three moves and the removal
  EXPECT_FALSE(flags(r, pages[1]) & PageAllocator::kPgLru);
  EXPECT_EQ(r.stat("host.mm.alloc.frees"), 1u);
}

// A THP split puts the tail pages on the list just before the head, the last tail first, so a
// tail freed later leaves the list as any page does.
TEST(PageLru, AThpSplitPutsTheTailsBeforeTheHead) {
  HostRig r(1, with_lru(15, 2));
  const Addr head = r.host.resolve_functional(kGfn).hpa;
  ASSERT_TRUE(r.host.split_backing(kGfn));
  std::vector<Addr> want;
  for (uint64_t i = 511; i >= 1; --i) want.push_back(head + i * kPageSize);
  want.push_back(head);
  EXPECT_EQ(list_of(r.host.memory().lru), want);
  r.rig.spawn(0, [&](Agent& a) { r.host.balloon(a, kGfn + 7); });
  r.rig.run();
  want.erase(want.begin() + (511 - 7));
  EXPECT_EQ(list_of(r.host.memory().lru), want);
  EXPECT_EQ(r.stat("host.mm.lru.removes"), 1u);
}

// CPUs that fill their batches at the same time queue on the one lru_lock.
TEST(PageLru, CpusMovingBatchesAtOnceQueueOnTheLruLock) {
  constexpr unsigned kCpus = 4;
  HostRig r(kCpus, with_lru(1));
  for (unsigned cpu = 0; cpu < kCpus; ++cpu)
    r.host.resolve_functional(kGfn + 512 * (cpu + 1) + 1);  // each CPU its own PTE table
  for (unsigned cpu = 0; cpu < kCpus; ++cpu)
    r.rig.spawn(cpu, [&r, cpu](Agent& a) {
      for (uint64_t i = 0; i < 8; ++i)
        r.host.release(a, r.host.resolve(a, kGfn + 512 * (cpu + 1) + 2 + i, true));
    });
  r.rig.run();
  EXPECT_EQ(r.stat("host.mm.lru.batch_moves"), kCpus * 8u);
  EXPECT_GT(r.stat("host.mm.lru_lock.contended"), 0u);
  EXPECT_EQ(list_of(r.host.memory().lru).size(), kCpus * 8u + kCpus);  // and the functional ones
}

// A THP with a reference besides its mapping's (KVM's, between resolve and release) is not
// split, as the kernel's split fails on extra pins: the host event leaves it alone, and the
// release then drops that reference from a page still whole.
TEST(PageLru, AThpWithAnExtraReferenceIsNotSplit) {
  HostRig r(1, with_lru(15, 2));
  bool event_done = true;
  r.rig.spawn(0, [&](Agent& a) {
    const HostPage p = r.host.resolve(a, kGfn, true);
    event_done = r.host.swap_out(a, kGfn + 3);
    r.host.release(a, p);
  });
  r.rig.run();
  EXPECT_FALSE(event_done);
  EXPECT_EQ(r.host.lookup(kGfn + 3).level, 2u);
  EXPECT_EQ(r.stat("host.mm.alloc.frees"), 0u);
  EXPECT_TRUE(r.host.split_backing(kGfn));  // with the reference gone it splits
}

// wp_page_copy adds the copy to the LRU under the PTE lock: with a batch of 1 the COW break's
// move runs while its thread holds the lock.
TEST(PageLru, ACowCopyIsAddedUnderThePteLock) {
  HostRig r(2, with_lru(1));
  r.host.resolve_functional(kGfn);
  EXPECT_EQ(ptl_held_at_first_lru_hold(r, [&](Agent& a) { r.host.cow_break(a, kGfn); }), 1);
  EXPECT_EQ(r.stat("host.mm.lru.removes"), 1u);  // the old frame, freed
}
