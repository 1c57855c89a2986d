// The host memory manager as the faulting threads run it (sim/hv/host_mm.hpp): GUP's fast and
// slow paths, the page reference count on its struct page line, the racing first touch of
// do_anonymous_page, the per-CPU allocator lists, and page zeroing through the caches.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "sim/hv/clear_huge_page.hpp"
#include "sim/hv/host_mm.hpp"
#include "tests/host_mm_rig.hpp"

using namespace mmusim;
using mmusim::testing::HostRig;
using mmusim::testing::SyncRig;

namespace {

constexpr uint64_t kGfn = 0x1234;

}  // namespace

// The first lookup has no host PTE: the slow path takes mmap_lock, runs the fault handler once
// and installs the page; the next lookup is GUP's lockless path. KVM's release drops the
// reference, leaving the mapping's own.
TEST(HostMm, FirstTouchTakesTheSlowPathThenGupFastFindsThePage) {
  HostRig r(1);
  HostPage first, second;
  r.rig.spawn(0, [&](Agent& a) {
    first = r.host.resolve(a, kGfn, true);
    r.host.release(a, first);
    second = r.host.resolve(a, kGfn, false);
    r.host.release(a, second);
  });
  r.rig.run();
  EXPECT_EQ(first.hpa, second.hpa);
  EXPECT_EQ(r.stat("host.mm.gup_slow"), 1u);
  EXPECT_EQ(r.stat("host.mm.gup_fast"), 1u);
  EXPECT_EQ(r.stat("host.mm.faults"), 1u);
  EXPECT_EQ(r.stat("host.mm.mmap_lock.read_acquire"), 1u);
  EXPECT_EQ(r.host.lookup(kGfn).hpa, first.hpa);
  EXPECT_EQ(PageAllocator::page_struct(first.hpa) % kLineSize, 0u);
}

// Two CPUs take and drop references on the same page: every atomic on its struct page line must
// take the line from the other CPU's cache. On two different pages they never meet.
TEST(HostMm, GupOfTheSamePageBouncesItsRefcountLineBetweenCaches) {
  auto run = [](bool same_page) {
    HostRig r(2);
    r.host.resolve_functional(kGfn);
    r.host.resolve_functional(kGfn + 1);
    for (unsigned cpu = 0; cpu < 2; ++cpu) {
      const uint64_t gfn = same_page ? kGfn : kGfn + cpu;
      r.rig.spawn(cpu, [&r, gfn](Agent& a) {
        for (int i = 0; i < 50; ++i) {
          const HostPage p = r.host.resolve(a, gfn, false);
          a.advance(200);  // mapping it
          r.host.release(a, p);
        }
      });
    }
    r.rig.run();
    EXPECT_EQ(r.stat("host.mm.gup_fast"), 100u);
    EXPECT_EQ(r.stat("host.mm.refcount.get"), 100u);
    const Addr head = r.host.lookup(kGfn).hpa;
    EXPECT_EQ(PageAllocator::refcount_word(head) & (kLineSize - 1), 56u);
    return r.stat("mem.coherence.c2c") + r.stat("mem.coherence.invalidations");
  };
  const uint64_t same = run(true), apart = run(false);
  EXPECT_GE(same, 100u) << "each get and put should move the line";
  EXPECT_LT(apart, same / 10);
}

// Eight CPUs take GUP's lockless grab on one page at the same moment. The grab is a read and
// a compare-and-exchange (atomic_add_unless): all read the same count, one exchange wins, and
// every other CPU's exchange fails and retries with the value it found, one more trip of the
// line each time; every grab still lands exactly once.
TEST(HostMm, SimultaneousGupFastGrabsLoseCompareExchangesAndRetry) {
  constexpr unsigned kCpus = 8;
  HostRig r(kCpus);
  r.host.resolve_functional(kGfn);
  const Addr head = r.host.lookup(kGfn).hpa;
  for (unsigned cpu = 0; cpu < kCpus; ++cpu)
    r.rig.spawn(cpu, [&r](Agent& a) { r.host.resolve(a, kGfn, false); });
  r.rig.run();
  EXPECT_EQ(r.stat("host.mm.gup_fast"), kCpus);
  EXPECT_EQ(r.stat("host.mm.refcount.get"), kCpus);
  // The mapping's own reference, and one from each grab.
  EXPECT_EQ(r.rig.mem.read64(PageAllocator::refcount_word(head)), 1u + kCpus);
  EXPECT_GE(r.stat("host.mm.refcount.try_get_retries"), kCpus - 1)
      << "at least one lost exchange for each CPU but the first";
}

// A count of 0 means the page is on its way to the free lists: the lockless grab must leave it
// alone and fail (GUP then takes the slow path under mmap_lock and the PTE lock).
TEST(HostMm, LocklessGrabNeverRaisesACountOfZero) {
  SyncRig rig(1);
  KernelHeap heap;
  PageAllocator alloc(PageAllocatorParams(), heap, rig.mem, rig.stats);
  const Addr page = alloc.alloc_functional(0);
  alloc.set_refcount_functional(page, 0);
  bool got = true;
  rig.spawn(0, [&](Agent& a) { got = alloc.try_get_page(a, page); });
  rig.run();
  EXPECT_FALSE(got);
  EXPECT_EQ(alloc.refcount(page), 0u);
  EXPECT_EQ(rig.stats.value("host.mm.refcount.get"), 0u);
  EXPECT_EQ(rig.stats.value("host.mm.refcount.try_get_retries"), 0u);
}

// Two threads fault the same new page at once: each allocates and zeroes a page, the first to
// take the PTE lock installs its own, the other finds the entry set, frees its page and maps
// the winner's.
TEST(HostMm, RacingFirstTouchLoserFreesItsPageAndBothMapTheWinners) {
  HostRig r(2);
  r.host.resolve_functional(kGfn + 1);  // the page tables exist: the race is on the page alone
  HostPage got[2];
  for (unsigned cpu = 0; cpu < 2; ++cpu)
    r.rig.spawn(cpu, [&r, &got, cpu](Agent& a) { got[cpu] = r.host.resolve(a, kGfn, true); });
  r.rig.run();
  EXPECT_EQ(got[0].hpa, got[1].hpa);
  EXPECT_EQ(r.stat("host.mm.faults"), 2u);
  EXPECT_EQ(r.stat("host.mm.pages_installed"), 1u);
  EXPECT_EQ(r.stat("host.mm.fault_race_lost"), 1u);
  EXPECT_EQ(r.stat("host.mm.alloc.frees"), 1u);
  EXPECT_EQ(r.stat("mem.zero.lines"), 2u * (kPageSize / kLineSize));  // both zeroed a page
  EXPECT_EQ(r.host.lookup(kGfn).hpa, got[0].hpa);
}

// Whether a first-touch race's loser still held the lock guarding the entry when its page was
// freed. CPU 1 starts 50 cycles late, so CPU 0 takes the lock first and CPU 1 loses (both are
// still zeroing their pages when CPU 0 installs); a third CPU watches every cycle for the
// first page free and notes who held the lock at that moment.
static bool loser_holds_lock_at_free(unsigned level) {
  HostMmParams p;
  p.backing_level = level;
  HostRig r(3, p);
  const uint64_t span = uint64_t(1) << (9 * (level - 1));
  r.host.resolve_functional(kGfn + span);  // the tables exist: the race is on the page alone
  const SpinLock& lock = r.host.page_table_lock(kGfn, level);
  bool done[2] = {false, false};
  int held_at_free = -1;
  for (unsigned cpu = 0; cpu < 2; ++cpu)
    r.rig.spawn(cpu, [&r, &done, cpu](Agent& a) {
      a.advance(50 * cpu);
      r.host.resolve(a, kGfn, true);
      done[cpu] = true;
    });
  const Agent& loser = *r.rig.agents[1];
  r.rig.spawn(2, [&](Agent& a) {
    while (!(done[0] && done[1])) {
      a.advance(1);
      a.sync();
      if (held_at_free < 0 && r.stat("host.mm.alloc.frees") > 0)
        held_at_free = lock.held_by(loser);
    }
  });
  r.rig.run();
  EXPECT_EQ(r.stat("host.mm.fault_race_lost"), 1u);
  EXPECT_EQ(r.stat("host.mm.alloc.frees"), 1u);
  EXPECT_NE(r.host.lookup(kGfn).hpa, 0u);
  EXPECT_GE(held_at_free, 0) << "no page free seen";
  return held_at_free == 1;
}

// do_anonymous_page frees a losing racer's page before it drops the PTE lock (`release:` runs
// put_page, then the unlock), so the free is part of the lock's hold for every thread queued
// behind it; __do_huge_pmd_anonymous_page drops the PMD lock first (`unlock_release:`).
TEST(HostMm, FirstTouchLoserFreesItsPageUnderThePteLockButATHPLoserAfterThePmdLock) {
  EXPECT_TRUE(loser_holds_lock_at_free(1)) << "4 KiB: freed outside the PTE lock";
  EXPECT_FALSE(loser_holds_lock_at_free(2)) << "THP: freed under the PMD lock";
}

// GUP's page-flag updates on the struct page line: the slow path's follow_page (FOLL_TOUCH)
// marks the new page accessed, which sets its referenced flag; GUP-fast sets the flag with a
// locked OR (another bit of the word survives it). Of the two racers of a first touch, both in
// follow_page, the second finds the flag set and, the page never being activated, clears it.
TEST(HostMm, GupMarksThePageReferencedOnItsStructPageLine) {
  constexpr uint64_t kOther = 0x8;  // a bit the model never uses
  HostRig r(1);
  Addr hpa = 0;
  uint64_t after_slow = 0, after_fast = 0;
  r.rig.spawn(0, [&](Agent& a) {
    const HostPage p = r.host.resolve(a, kGfn, true);
    hpa = p.hpa;
    after_slow = a.load(PageAllocator::flags_word(hpa));
    r.host.release(a, p);
    a.store(PageAllocator::flags_word(hpa), kOther);
    r.host.release(a, r.host.resolve(a, kGfn, false));
    after_fast = a.load(PageAllocator::flags_word(hpa));
  });
  r.rig.run();
  EXPECT_EQ(PageAllocator::flags_word(hpa), PageAllocator::page_struct(hpa));
  EXPECT_EQ(after_slow, PageAllocator::kPgReferenced);
  EXPECT_EQ(after_fast, kOther | PageAllocator::kPgReferenced);
  EXPECT_EQ(r.stat("host.mm.gup_slow"), 1u);
  EXPECT_EQ(r.stat("host.mm.gup_fast"), 1u);
  EXPECT_EQ(r.stat("host.mm.page_flags.referenced"), 2u);

  HostRig race(2);
  race.host.resolve_functional(kGfn + 1);  // the page tables exist: the race is on the page
  uint64_t seen[2] = {~0ull, ~0ull};
  for (unsigned cpu = 0; cpu < 2; ++cpu)
    race.rig.spawn(cpu, [&race, &seen, cpu](Agent& a) {
      const HostPage p = race.host.resolve(a, kGfn, true);
      seen[cpu] = a.load(PageAllocator::flags_word(p.hpa));
    });
  race.rig.run();
  ASSERT_EQ(race.stat("host.mm.gup_slow"), 2u);
  EXPECT_EQ(race.stat("host.mm.page_flags.referenced"), 2u);
  // One racer saw the flag it set, the other the flag it cleared (in either order).
  EXPECT_EQ(seen[0] ^ seen[1], PageAllocator::kPgReferenced);
  EXPECT_EQ(race.rig.mem.read64(PageAllocator::flags_word(race.host.lookup(kGfn).hpa)), 0u);
}

// A huge leaf: the slow path's follow_page does not mark it accessed (FOLL_TOUCH only sets
// young and dirty bits on a PMD), GUP-fast sets the referenced flag on the head page.
TEST(HostMm, GupFastMarksAHugePagesHeadReferenced) {
  HostMmParams p;
  p.backing_level = 2;
  HostRig r(1, p);
  Addr head = 0;
  uint64_t after_slow = ~0ull, after_fast = 0;
  r.rig.spawn(0, [&](Agent& a) {
    const HostPage first = r.host.resolve(a, kGfn, true);
    ASSERT_EQ(first.level, 2u);
    head = first.hpa & ~((Addr(1) << 21) - 1);
    after_slow = a.load(PageAllocator::flags_word(head));
    r.host.release(a, first);
    r.host.release(a, r.host.resolve(a, kGfn + 1, false));  // another 4K piece of it
    after_fast = a.load(PageAllocator::flags_word(head));
  });
  r.rig.run();
  EXPECT_EQ(after_slow, 0u);
  EXPECT_EQ(after_fast, PageAllocator::kPgReferenced);
  EXPECT_EQ(r.stat("host.mm.page_flags.referenced"), 1u);
}

// Order-0 pages come from the CPU's list, refilled a batch at a time under zone->lock.
TEST(HostMm, PerCpuListRefillsFromTheZoneInBatches) {
  HostMmParams p;
  p.alloc.pcp_batch = 8;
  p.alloc.pcp_high = 16;
  HostRig r(1, p);
  r.rig.spawn(0, [&](Agent& a) {
    for (uint64_t g = 0; g < 20; ++g) r.host.release(a, r.host.resolve(a, kGfn + g, true));
  });
  r.rig.run();
  // 20 data pages + the top three table levels' pages = 23 pages: 3 refills of 8.
  EXPECT_EQ(r.stat("host.mm.alloc.pages"), 23u);
  EXPECT_EQ(r.stat("host.mm.alloc.pcp_refills"), 3u);
  EXPECT_EQ(r.stat("host.mm.zone_lock.acquire"), 3u);
}

// Zeroing allocates its lines in the caches without reading them; DRAM sees them only as the
// dirty victims of later fills. One core zeroing 4 MiB fits in the LLC: bound by its fill
// buffers alone, it never waits for a channel. 48 cores zeroing 4 MiB each overflow the LLC;
// every further fill evicts a zeroed (dirty) line, more than the channels carry, so the fills
// wait for them and each core takes longer.
TEST(HostMm, ZeroingMoreThanTheCachesHoldQueuesOnDram) {
  auto zero_time = [](unsigned cpus, uint64_t* queued, uint64_t* writebacks) {
    SyncRig rig(cpus);
    std::vector<Cycles> took(cpus);
    for (unsigned c = 0; c < cpus; ++c)
      rig.spawn(c, [&took, c](Agent& a) {
        const Cycles t0 = a.now();
        a.zero_lines(Addr(1) << 32 | Addr(c) << 24, 1024 * kPageSize);
        a.sync();
        took[c] = a.now() - t0;
      });
    rig.run();
    *queued = rig.stats.find_histogram("mem.zero.queue_wait")->sum();
    *writebacks = rig.stats.value("mem.writebacks");
    EXPECT_EQ(rig.stats.value("mem.dram.accesses"), 0u) << "no zeroed line is read first";
    Cycles worst = 0;
    for (Cycles t : took) worst = std::max(worst, t);
    return worst;
  };
  uint64_t queued1 = 0, queued48 = 0, wb1 = 0, wb48 = 0;
  const Cycles alone = zero_time(1, &queued1, &wb1);
  const Cycles together = zero_time(48, &queued48, &wb48);
  EXPECT_EQ(queued1, 0u);
  EXPECT_EQ(wb1, 0u);
  EXPECT_GT(wb48, 0u);
  EXPECT_GT(queued48, 0u);
  EXPECT_GT(together, alone * 3 / 2);
  // Alone: 65536 lines, 10 in flight, each owned from the directory in an LLC hit's time.
  const MemorySystemParams mp;
  EXPECT_NEAR(double(alone), 65536.0 / mp.fill_buffers * double(mp.llc_hit), 100.0);
}

// clear_page writes through the caches: the page is then in the zeroing CPU's L1, so its next
// access hits there, while another CPU's copy of a line of it was dropped, modified or not,
// without its data moving.
TEST(HostMm, AZeroedPageIsLeftInTheZeroingCpusCaches) {
  SyncRig rig(2);
  const Addr page = Addr(1) << 31;
  uint64_t l1_before = 0, l1_after = 0, read_back = 1;
  rig.spawn(1, [&](Agent& a) { a.store(page + 64, 42, MemClass::PageTable); });
  rig.spawn(0, [&](Agent& a) {
    a.advance(1000);  // after CPU 1's store
    a.sync();
    a.zero_lines(page, kPageSize);
    l1_before = rig.stats.value("mem.l1.hit");
    read_back = a.load(page + 64, MemClass::PageTable);
    l1_after = rig.stats.value("mem.l1.hit");
  });
  rig.run();
  EXPECT_EQ(read_back, 0u);
  EXPECT_EQ(l1_after, l1_before + 1);
  EXPECT_EQ(rig.stats.value("mem.zero.dropped"), 1u);
  EXPECT_EQ(rig.stats.value("mem.coherence.c2c"), 0u);
  EXPECT_EQ(rig.stats.value("mem.dram.accesses"), 1u);  // CPU 1's store alone read its line
}

// A line the zeroing CPU shares with another: its own copy is written in place after the
// other is invalidated, so the other CPU's next read takes the zeroed line from it.
TEST(HostMm, ZeroingASharedLineInvalidatesTheOtherCopy) {
  SyncRig rig(2);
  const Addr page = Addr(1) << 31;
  uint64_t read_back = 1, c2c_before = 0, c2c_after = 0;
  rig.spawn(1, [&](Agent& a) {
    a.store(page + 64, 42, MemClass::PageTable);
    a.advance(2000);
    a.sync();  // CPU 0 read the line, then zeroed its page
    c2c_before = rig.stats.value("mem.coherence.c2c");
    read_back = a.load(page + 64, MemClass::PageTable);
    c2c_after = rig.stats.value("mem.coherence.c2c");
  });
  rig.spawn(0, [&](Agent& a) {
    a.advance(1000);
    a.sync();
    a.load(page + 64, MemClass::PageTable);  // now Shared by both CPUs
    a.zero_lines(page, kPageSize);
  });
  rig.run();
  EXPECT_EQ(read_back, 0u);
  EXPECT_EQ(rig.stats.value("mem.zero.dropped"), 1u);
  EXPECT_EQ(c2c_after, c2c_before + 1);
}

// A THP fault clears the huge page subpage by subpage with the faulting one last
// (clear_huge_page), so that subpage is the one in the faulting CPU's L1 afterwards; cleared
// front to back, the L1 would hold the last subpages instead.
TEST(HostMm, AHugePageFaultClearsTheFaultingSubpageLast) {
  HostMmParams p;
  p.backing_level = 2;
  HostRig r(1, p);
  const uint64_t gfn = (uint64_t(7) << 9) + 300;  // subpage 300 of a 2 MiB page
  uint64_t target_l1 = 0, first_l1 = 0;
  r.rig.spawn(0, [&](Agent& a) {
    const HostPage hp = r.host.resolve(a, gfn, true);
    r.host.release(a, hp);
    ASSERT_EQ(hp.level, 2u);
    const uint64_t h0 = r.stat("mem.l1.hit");
    a.load(hp.hpa + 128, MemClass::PageTable);
    const uint64_t h1 = r.stat("mem.l1.hit");
    a.load(hp.hpa - 300 * kPageSize + 128, MemClass::PageTable);  // subpage 0
    target_l1 = h1 - h0;
    first_l1 = r.stat("mem.l1.hit") - h1;
  });
  r.rig.run();
  EXPECT_GE(r.stat("mem.zero.lines"), 512u * kPageSize / kLineSize);  // and table pages
  EXPECT_EQ(target_l1, 1u);
  EXPECT_EQ(first_l1, 0u);
}

// A zeroed range reads back as zero, whatever the words held.
TEST(HostMm, ZeroLinesClearsContents) {
  SyncRig rig(1);
  const Addr page = Addr(1) << 31;
  uint64_t before = 0, after = 1;
  rig.spawn(0, [&](Agent& a) {
    a.store(page + 64, 42, MemClass::PageTable);
    before = a.load(page + 64, MemClass::PageTable);
    a.zero_lines(page, kPageSize);
    after = a.load(page + 64, MemClass::PageTable);
  });
  rig.run();
  EXPECT_EQ(before, 42u);
  EXPECT_EQ(after, 0u);
}

// The VMM's mmap changes the VMA tree with mmap_lock held for write (sim/hv/host_mm.hpp,
// vma_change): a lookup that needs GUP's slow path meanwhile queues behind it, one that finds
// its host PTE (the lockless path) does not.
TEST(HostMm, MmapHoldsMmapLockForWriteAndOnlyTheSlowPathWaits) {
  auto run = [](bool mmap) {
    HostRig r(3);
    r.host.resolve_functional(kGfn + 1);  // mapped: GUP fast finds it
    Cycles writer_done = 0, slow_done = 0, fast_done = 0;
    r.rig.spawn(0, [&](Agent& a) {
      if (mmap) r.host.vma_change(a);
      writer_done = a.now();
    });
    r.rig.spawn(1, [&](Agent& a) {
      a.advance(10);  // just after the writer took the lock
      r.host.release(a, r.host.resolve(a, kGfn, true));
      slow_done = a.now();
    });
    r.rig.spawn(2, [&](Agent& a) {
      a.advance(10);
      r.host.release(a, r.host.resolve(a, kGfn + 1, false));
      fast_done = a.now();
    });
    r.rig.run();
    EXPECT_EQ(r.stat("host.mm.gup_fast"), 1u);
    EXPECT_EQ(r.stat("host.mm.gup_slow"), 1u);
    EXPECT_EQ(r.stat("host.mm.vma_changes"), mmap ? 1u : 0u);
    EXPECT_EQ(r.stat("host.mm.mmap_lock.write_acquire"), mmap ? 1u : 0u);
    EXPECT_EQ(r.stat("host.mm.mmap_lock.contended"), mmap ? 1u : 0u);
    if (mmap) {
      EXPECT_GT(slow_done, writer_done);  // the fault ran after the tree update
      EXPECT_LT(fast_done, writer_done);  // GUP fast never looked at the lock
    }
    return slow_done;
  };
  const Cycles alone = run(false), behind_mmap = run(true);
  EXPECT_GT(behind_mmap, alone + 500) << "the slow path should have waited out the tree update";
}

// process_huge_page's order (mm/memory.c), worked out by hand for 8 subpages: the far side
// first, then alternately from either side, the target last.
TEST(HostMm, HugePageSubpagesAreClearedInTheKernelsOrder) {
  auto order = [](unsigned pages, unsigned target) {
    std::vector<unsigned> seq;
    for_each_subpage_in_clear_order(pages, target, [&](unsigned i) { seq.push_back(i); });
    return seq;
  };
  EXPECT_EQ(order(8, 0), (std::vector<unsigned>{7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(order(8, 2), (std::vector<unsigned>{7, 6, 5, 4, 0, 3, 1, 2}));
  EXPECT_EQ(order(8, 4), (std::vector<unsigned>{0, 7, 1, 6, 2, 5, 3, 4}));
  EXPECT_EQ(order(8, 5), (std::vector<unsigned>{0, 1, 2, 7, 3, 6, 4, 5}));
  EXPECT_EQ(order(8, 7), (std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 7}));
  for (unsigned target : {0u, 255u, 256u, 300u, 511u}) {
    const std::vector<unsigned> seq = order(512, target);
    std::vector<bool> seen(512, false);
    for (unsigned i : seq) seen[i] = true;
    EXPECT_EQ(seq.size(), 512u);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 512);
    EXPECT_EQ(seq.back(), target);
  }
}
