#include "sim/core/kvm_timeline.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

// Commit titles checked against the KVM pull requests and kvm.git push logs of each release
// (docs/KVM_RELEASES.md).
const KvmTimelineEntry kKvmTimeline[] = {
    {KvmChange::X86ParallelFaults, Arch::X86, "mmu-lock", {5, 12},
     "KVM: x86/mmu: Allow parallel page faults for the TDP MMU",
     "exclusive: faults take mmu_lock for write and write SPTEs with plain stores",
     "shared: faults take mmu_lock for read; SPTE changes are cmpxchg, a lost race retries"},
    {KvmChange::X86NeedbreakOnVoluntary, Arch::X86, "lock-needbreak", {5, 12},
     "sched: Add needbreak for rwlocks",
     "ignore: on a voluntary-preemption host (built without CONFIG_PREEMPTION) a zap yields "
     "mmu_lock only when the host scheduler wants the CPU",
     "yield: mmu_lock is an rwlock whose needbreak reports a queued waiter, and a voluntary "
     "host is a PREEMPT_DYNAMIC kernel built with CONFIG_PREEMPTION: zaps also yield to waiters"},
    {KvmChange::X86NotifierRetryRange, Arch::X86, "notifier-retry", {5, 12},
     "KVM: x86/mmu: Consider the hva in mmu_notifier retry",
     "any: a fault that finds any MMU-notifier invalidation in progress retries",
     "range: the notifier records the range being invalidated; a fault retries only when an "
     "invalidation in progress covers its address (or one completed since it read the sequence)"},
    // The same series froze the huge leaf a fault zaps while it flushes ("KVM: x86/mmu: Flush
    // TLBs after zap in TDP MMU PF handler"); 6.11 renamed the value FROZEN_SPTE ("KVM:
    // x86/tdp_mmu: Rename REMOVED_SPTE to FROZEN_SPTE"), a rename only.
    {KvmChange::X86RemovedSpte, Arch::X86, "removed-spte", {5, 12},
     "KVM: x86/mmu: Mark SPTEs in disconnected pages as removed",
     "off: a removed table's entries are cleared to 0 (under mmu_lock for write: read and "
     "store each); a fault that reads such a 0 may install into the table being freed",
     "on: they are set to REMOVED_SPTE (xchg, again while it reads the value back); atomic SPTE "
     "changes never overwrite it and a fault that reads it retries; a fault's huge-leaf zap "
     "freezes the leaf, flushes, then clears it"},
    // Posted 2021-03-01 for the 5.13 merge window; release not verified against a tag. Unlike
    // the others, `auto` does not follow the release: it is vz in every release (both existed
    // before; the model's default is the hardware mode), and te with a release from this one on
    // is refused (config_options_mips.cpp).
    {KvmChange::MipsTeRemoved, Arch::Mips, "mips-virt", {5, 13},
     "MIPS: Remove KVM_TE support",
     "te or vz: the KVM module could be built for trap and emulate (CONFIG_KVM_MIPS_TE) or VZ",
     "vz only: --mips-virt te is refused (exit 2), the module has no trap and emulate"},
    // The same series made the walker skip the CMOs of a leaf that is already installed (the
    // walk returns -EAGAIN first); both are the `in-walker` form.
    {KvmChange::Arm64FaultCmoInWalker, Arch::Arm64, "s2-fault-cmo", {5, 14},
     "KVM: arm64: Move guest CMOs to the fault handlers",
     "before-map: a fault cleans the new frame to the PoC before the map walk, also when the "
     "walk then finds the mapping installed by another vCPU",
     "in-walker: the map walker cleans the frame only when it is about to install the leaf"},
    // A capability the VMM asks for rather than a changed behaviour: --dirty-tracking has no
    // `auto`; a release before this one refuses ring (exit 2, config_options_dirty_log.cpp).
    // The same series made the ring exclusive with KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG
    // ("KVM: Make dirty ring exclusive to dirty bitmap log": -ENXIO).
    {KvmChange::X86DirtyRing, Arch::X86, "dirty-tracking", {5, 11},
     "KVM: X86: Implement ring-based dirty memory tracking",
     "bitmap only: --dirty-tracking ring is refused",
     "ring too: each vCPU pushes the pages it dirties to its ring; a vCPU whose ring reaches the "
     "soft limit exits with KVM_EXIT_DIRTY_RING_FULL; KVM_RESET_DIRTY_RINGS write-protects "
     "the harvested pages again"},
    {KvmChange::X86TdpFastPageFault, Arch::X86, "tdp-fast-fault", {5, 15},
     "KVM: x86/mmu: fast_page_fault support for the TDP MMU",
     "slow-path: a write to a write-protected SPTE takes the full fault path under mmu_lock",
     "lockless: such a write is fixed by one cmpxchg without mmu_lock"},
    // Both shadow-MMU entries come from one series merged for 5.16. The lookup's flush: "KVM:
    // X86: Change kvm_sync_page() to return true when remote flush is needed" in the same series
    // made it conditional; until 5.19's "KVM: x86/mmu: Don't rebuild page when the page is
    // synced and no tlb flushing is required" a sync that needed no flush also made the lookup
    // build a second shadow page for the gfn, which the model does not do (docs/KVM_RELEASES.md).
    {KvmChange::X86ShadowPrefetchNoUnsync, Arch::X86, "prefetch-unsync", {5, 16},
     "KVM: X86: Don't unsync pagetables when speculative",
     "on: a prefetched shadow entry (INVLPG's update_pte) the guest PTE lets be writable makes "
     "the target's in-sync last-level shadow page unsync, as a fault does",
     "off: a prefetch never unsyncs; such an entry is made read-only"},
    {KvmChange::X86ShadowLookupSyncRemote, Arch::X86, "lookup-sync-flush", {5, 16},
     "KVM: X86: Don't flush current tlb on shadow page modification",
     "current: after a lookup syncs an unsync shadow page, the faulting vCPU's TLB is flushed "
     "(KVM_REQ_TLB_FLUSH_CURRENT), whatever the sync changed",
     "remote: every vCPU's TLB is flushed, only when the sync removed or downgraded a "
     "translation"},
    // Queued for 5.14 (May 2021); the clear protects the huge SPTEs over each mask it clears.
    {KvmChange::X86InitSetProtectNothing, Arch::X86, "initially-set-enable", {5, 14},
     "KVM: x86: Not wr-protect huge page with init_all_set dirty log",
     "huge: with initially-set, enabling dirty logging write-protects the slot's huge SPTEs "
     "(4K ones wait for the first clear), so the first write to each huge page faults and "
     "splits it",
     "nothing: with initially-set, enabling protects nothing; each clear write-protects (from "
     "5.18 first splits) the huge SPTEs over the pages it clears, then the 4K ones"},
    // Verified: the "new VMID allocator" series (417838392f2e adds arch/arm64/kvm/vmid.c; this
    // commit, 3248136b3637, makes arm.c use it), in the first KVM pull for 5.18.
    {KvmChange::Arm64VmidGenerational, Arch::Arm64, "vmid-allocator", {5, 18},
     "KVM: arm64: Align the VMID allocation with the arm64 ASID",
     "global: update_vmid hands out VMIDs in order; running out starts a new generation, makes "
     "every vCPU of every VM exit (force_vm_exit) and invalidates every TLB, and every VM, the "
     "running ones too, takes a new VMID at its next entry",
     "generational: vmid.c; the VMIDs active on a pCPU at a rollover are kept (and a VM keeps its "
     "VMID number if still free), every TLB is invalidated, no vCPU is made to exit"},
    // The series that added the eager_page_split module parameter (on by default), committed
    // to kvm.git in February 2022, after 5.17's merge window.
    {KvmChange::X86EagerSplit, Arch::X86, "eager-split", {5, 18},
     "KVM: x86/mmu: Split huge pages mapped by the TDP MMU when dirty logging is enabled",
     "off: enabling dirty logging write-protects huge SPTEs; a write's fault splits or zaps them",
     "on: enabling dirty logging first splits every huge SPTE of the slot in place into a "
     "populated table of 4K SPTEs (no flush), then write-protects them"},
    // A fix merged during the 5.18 rc cycle (branch kvm-tdp-mmu-atomicity-fix).
    {KvmChange::X86AgeXchgVolatile, Arch::X86, "age-clear", {5, 18},
     "KVM: x86/mmu: Use atomic XCHG to write TDP MMU SPTEs with volatile bits",
     "store: aging writes the young SPTE's new value with a plain store (a D bit the walker "
     "sets meanwhile is lost)",
     "xchg: an SPTE with volatile bits is written by atomic exchange, others by a store; both "
     "through the SPTE-change bookkeeping"},
    // Merged with kvmarm-6.2 (after 6.1's KVM_CAP_DIRTY_LOG_RING_ACQ_REL, which the arm64 ring
    // requires); the same series added KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP (a bitmap beside the
    // ring for writes without a running vCPU, such as saving the vGIC/ITS tables) and made the
    // soft-full check a vCPU request (KVM_REQ_DIRTY_RING_SOFT_FULL) on x86 too.
    // The host kernel's memory controller, on every arch. Posted on 2022-08-22 against
    // 6.0-rc1 (the third patch of "memcg: optimize charge codepath"), after 6.0's merge window
    // had closed: 6.1 is taken as its release, not verified against a tag.
    {KvmChange::HostMemcgChargeBatch64, std::nullopt, "memcg-charge-batch", {6, 1},
     "memcg: increase MEMCG_CHARGE_BATCH to 64",
     "32: a charge the CPU's stock cannot serve charges 32 pages to every level's counter and "
     "keeps the surplus in the stock",
     "64: it charges 64 pages at once, so half as many charges reach the shared counters"},
    {KvmChange::Arm64DirtyRing, Arch::Arm64, "dirty-tracking", {6, 2},
     "KVM: arm64: Enable ring-based dirty memory tracking",
     "bitmap only: --dirty-tracking ring is refused",
     "ring too, as on x86 (no PML: only the fixed reserve of 64 entries below the soft limit)"},
    {KvmChange::Arm64ParallelFaults, Arch::Arm64, "mmu-lock", {6, 2},
     "KVM: arm64: Handle stage-2 faults in parallel",
     "exclusive: stage-2 faults hold mmu_lock exclusively and write descriptors with stores",
     "shared: stage-2 faults take mmu_lock for read; descriptor changes are cmpxchg"},
    // The same series as Arm64ParallelFaults (6.2): stage2_try_break_pte serves both lock modes.
    // Also "KVM: arm64: Make block->table PTE changes parallel-aware" for the table link.
    {KvmChange::Arm64ExclusiveBreakLocked, Arch::Arm64, "s2-exclusive-break", {6, 2},
     "KVM: arm64: Make leaf->leaf PTE changes parallel-aware",
     "direct: under mmu_lock for write an empty entry is written with one store; a valid one "
     "is cleared to 0, invalidated by IPA, then written",
     "locked: every entry the map walk changes is first stored as the locked-invalid marker, "
     "then invalidated if it was valid, cleaned to the PoC, then written"},
    {KvmChange::X86HugeSplitOnFault, Arch::X86, "huge-split-on-fault", {6, 2},
     "KVM: x86/mmu: Split huge pages mapped by the TDP MMU on fault",
     "zap: a fault that needs a smaller mapping under a huge leaf zaps it, flushes it from every "
     "TLB and links an empty table",
     "split: it fills a new table with the huge leaf's translations and links it in place of "
     "the leaf with one atomic change, with no flush"},
    {KvmChange::X86AgeAtomicAnd, Arch::X86, "age-clear", {6, 4},
     "KVM: x86/mmu: Clear only A-bit (if enabled) when aging TDP MMU SPTEs",
     "xchg: an SPTE with volatile bits is written by atomic exchange, with bookkeeping",
     "and: only the A bit is cleared, by atomic AND when the SPTE has volatile bits (else a "
     "store), bypassing the SPTE-change bookkeeping"},
    // Part of the eager page splitting series, merged by "KVM/arm64 updates for 6.5" (its
    // shortlog lists the commit), so 6.5 (verified; 6.4 had been assumed).
    {KvmChange::Arm64RelaxTlbiLocal, Arch::Arm64, "s2-relax-tlbi", {6, 5},
     "KVM: arm64: Use local TLBI on permission relaxation",
     "broadcast: a relaxed permission is invalidated by IPA on every core (TLBI IPAS2E1IS, "
     "DSB ISH)",
     "local: only the faulting core's TLB is invalidated (non-shareable TLBI, DSB NSH)"},
    // The eager page splitting series, merged by "KVM/arm64 updates for 6.5" (verified: its
    // shortlog). With the capability come "KVM: arm64: Split huge pages when dirty logging is
    // enabled" and "KVM: arm64: Split huge pages during KVM_CLEAR_DIRTY_LOG". KVM's default
    // chunk is 0 and the VMM must set it, so `auto` is 0 (off) in every release; as `te` for
    // MIPS after its removal, a nonzero chunk is refused before 6.5 (config_options_arm64.cpp).
    {KvmChange::Arm64EagerSplitChunk, Arch::Arm64, "arm64-eager-split-chunk", {6, 5},
     "KVM: arm64: Add KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE",
     "no capability: a block of a dirty-logged slot is write-protected and broken by the first "
     "write's fault, which maps that 4 KiB page only (a nonzero chunk is refused)",
     "a VMM that sets the chunk (KVM's default 0: off) has enabling (without initially-set) or "
     "each clear (with it) split the blocks into populated tables of 4 KiB pages, chunk by "
     "chunk, topping up a page cache with mmu_lock dropped between chunks"},
    // Deferred only with FWB (stage2_unmap_defer_tlb_flush: FEAT_TLBIRANGE and FWB), so the
    // `auto` form is per-leaf without --arm64-fwb in every release (app/params_models.cpp).
    {KvmChange::Arm64UnmapRangeTlbi, Arch::Arm64, "s2-unmap-tlbi", {6, 6},
     "KVM: arm64: Use TLBI range-based instructions for unmap",
     "per-leaf: each cleared leaf is invalidated by IPA (TLBI IPAS2E1IS, VMALLE1IS, DSB ISH) "
     "as the unmap walk goes",
     "range: with FWB the walk only clears; then one range-TLBI sequence over the range "
     "(RIPAS2E1IS by scale, VMALLE1IS) and one DSB"},
    // Verified: a v6.7 commit (be097997a273), fixing the 6.5 local-TLBI change.
    {KvmChange::Arm64RelaxRaceTlbi, Arch::Arm64, "s2-relax-race-tlbi", {6, 7},
     "KVM: arm64: Always invalidate TLB for stage-2 permission faults",
     "skip: a relaxation whose cmpxchg lost to another vCPU (-EAGAIN) invalidates nothing",
     "always: it invalidates the IPA as a successful relaxation does"},
    {KvmChange::X86NotifierEarlyCheck, Arch::X86, "notifier-early-check", {6, 8},
     "KVM: x86/mmu: Retry fault before acquiring mmu_lock if mapping is changing",
     "off: the check runs once, under mmu_lock, after the host page is resolved",
     "on: also before resolving the host page and before taking mmu_lock, so a fault in a range "
     "being invalidated retries without waiting for the lock"},
    // Verified: in the shortlog of Linux 6.9-rc2 (Matthew Wilcox), a fix of the regression
    // "mm: make folios_put() the basis of release_pages()" caused in the 6.9 merge window.
    {KvmChange::HostFolioBatch31, std::nullopt, "host-lru-batch", {6, 9},
     "mm: increase folio batch size",
     "15 (PAGEVEC_SIZE): a CPU's LRU add batch is moved to the list under lru_lock every 15 "
     "new pages",
     "31: every 31 pages, so half as many lru_lock holds, each twice as long"},
    {KvmChange::X86EagerSplitDropLock, Arch::X86, "eager-split-alloc", {6, 11},
     "KVM: x86/mmu: Always drop mmu_lock to allocate TDP MMU SPs for eager splitting",
     "nowait-first: eager splitting allocates each table under mmu_lock without sleeping and "
     "drops the lock only when that fails",
     "drop-lock: it always drops mmu_lock (and RCU) to allocate, then walks again from the root"},
    {KvmChange::X86NeedbreakOnlyIfPreemptible, Arch::X86, "lock-needbreak", {6, 11},
     "sched/core: Drop spinlocks on contention iff kernel is preemptible",
     "yield: needbreak honours a waiter whenever CONFIG_PREEMPTION is built in",
     "ignore: needbreak honours a waiter only on a fully preemptible host (--host-preempt full)"},
};
const size_t kKvmTimelineSize = sizeof kKvmTimeline / sizeof kKvmTimeline[0];

bool needbreak_in(KvmRelease r, HostPreempt preempt) {
  if (preempt == HostPreempt::Full) return true;  // spin_needbreak and rwlock_needbreak alike
  return kvm_has(r, KvmChange::X86NeedbreakOnVoluntary) &&
         !kvm_has(r, KvmChange::X86NeedbreakOnlyIfPreemptible);
}

const KvmTimelineEntry& kvm_timeline_entry(KvmChange c) {
  for (const KvmTimelineEntry& e : kKvmTimeline)
    if (e.change == c) return e;
  throw ModelError("KVM release timeline: a change without an entry");
}

}  // namespace mmusim
