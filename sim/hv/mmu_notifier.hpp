// KVM's MMU-notifier glue (virt/kvm/kvm_main.c), arch-neutral: the host memory manager calls it
// around every change to the VMM's mappings of guest RAM; it translates the HVA range through
// the memslots and calls the arch MMU's callbacks (NotifierCallbacks::unmap_gfn_range & co) with
// kvm->mmu_lock held, and flushes remote TLBs once when a callback asks for it.
//
// mmu_notifier_seq (KVM's mmu_invalidate_seq) and mmu_notifier_count (invalidations in
// progress) are words in simulated memory, written under mmu_lock. The fault path reads the
// sequence before it resolves the host page outside the lock, and after taking the lock asks
// retry(): if an invalidation ran (or is still running) since, the page it holds may be stale
// and the fault starts again. invalidate_range_start raises the count and unmaps;
// invalidate_range_end bumps the sequence and drops the count; change_pte bumps the sequence.
// With track_range (the generic code from 5.12 on), invalidate_range_start also records the GFN
// range being invalidated -- widened to cover every invalidation in progress -- in two more
// words, so a fault can ask whether an invalidation in progress covers its own gfn
// (retry_gfn, KVM's mmu_invalidate_retry_gfn; docs/KVM_RELEASES.md).
#pragma once
#include <cstdint>

#include "sim/core/stats_group.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/memslots.hpp"
#include "sim/hv/notifier_callbacks.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

struct MmuNotifierParams {
  bool track_range = true;  // record the GFN range of the invalidations in progress
};

class MmuNotifier : public HostMmNotifier {
 public:
  MmuNotifier(const MmuNotifierParams& p, NotifierCallbacks& mmu, const Memslots& slots,
              RemoteFlush& flush, KernelHeap& heap, Stats& stats);

  // HostMmNotifier: each runs in the host thread that changes the mapping.
  void invalidate_range_start(Agent& a, Addr hva_start, Addr hva_end) override;
  void invalidate_range_end(Agent& a, Addr hva_start, Addr hva_end) override;
  void change_pte(Agent& a, Addr hva, const HostPte& pte) override;
  bool clear_flush_young(Agent& a, Addr hva_start, Addr hva_end) override;
  bool clear_young(Agent& a, Addr hva_start, Addr hva_end) override;
  bool test_young(Agent& a, Addr hva) override;

  // Fault side. read_seq: mmu_seq = kvm->mmu_notifier_seq, then smp_rmb (a load of the word).
  uint64_t read_seq(Agent& a);
  // mmu_notifier_retry, with mmu_lock held: true if an invalidation is in progress or the
  // sequence moved since `seq` was read. Counted as "hv.notifier.seq_retry".
  bool retry(Agent& a, uint64_t seq);
  // mmu_invalidate_retry_gfn: true if an invalidation in progress covers `gfn` or the sequence
  // moved since `seq` was read; an invalidation elsewhere does not make the fault retry. Needs
  // track_range. Without mmu_lock (the early check before taking it) it is the same reads.
  bool retry_gfn(Agent& a, uint64_t seq, uint64_t gfn);
  Addr seq_word() const { return seq_word_; }
  Addr count_word() const { return seq_word_ + 8; }
  Addr range_start_word() const { return seq_word_ + 16; }
  Addr range_end_word() const { return seq_word_ + 24; }

 private:
  const MmuNotifierParams p_;
  NotifierCallbacks& mmu_;
  const Memslots& slots_;
  RemoteFlush& flush_;
  Addr seq_word_;  // mmu_notifier_seq; mmu_notifier_count in the next word (same line)
  struct NotifierStats : StatsGroup {
    explicit NotifierStats(Stats& s) : StatsGroup(s) {}
    statistics::Counter starts{*this, "hv.notifier.invalidate_range_start",
                               "MMU notifier invalidate_range_start calls"};
    statistics::Counter ends{*this, "hv.notifier.invalidate_range_end",
                             "MMU notifier invalidate_range_end calls"};
    statistics::Counter change_pte{*this, "hv.notifier.change_pte",
                                   "MMU notifier change_pte calls"};
    statistics::Counter clear_flush_young{*this, "hv.notifier.clear_flush_young",
                                          "MMU notifier clear_flush_young calls"};
    statistics::Counter clear_young{*this, "hv.notifier.clear_young",
                                    "MMU notifier clear_young calls"};
    statistics::Counter test_young{*this, "hv.notifier.test_young",
                                   "MMU notifier test_young calls"};
    statistics::Counter seq_retry{*this, "hv.notifier.seq_retry",
        "faults retried because an invalidation ran since they read mmu_invalidate_seq"};
    statistics::Counter out_of_range{*this, "hv.notifier.out_of_range",
        "fault checks that found an invalidation in progress elsewhere and went on"};
    statistics::Counter flushes{*this, "hv.notifier.remote_flush",
                                "remote TLB flushes requested by notifier callbacks"};
  } stats_;
};

}  // namespace mmusim
