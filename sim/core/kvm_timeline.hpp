// The KVM release timeline: every behaviour of the modelled hypervisor MMU, and of the host
// kernel's memory manager KVM runs on, that changed between the releases --kvm-version
// accepts, with the release it appeared in and its upstream commit title
// (docs/KVM_RELEASES.md is the table for readers). Each behaviour has its own option,
// whose default `auto` means "as --kvm-version says"; the Params builders in app/ resolve it
// with kvm_form, so a model sees only the form it must run, never a release.
#pragma once
#include <optional>

#include "sim/core/kvm_release.hpp"
#include "sim/core/modes.hpp"

namespace mmusim {

// A change of behaviour on the timeline.
enum class KvmChange {
  X86ParallelFaults,    // x86 TDP MMU faults under mmu_lock for read
  Arm64ParallelFaults,  // arm64 stage-2 faults under mmu_lock for read
  Arm64FaultCmoInWalker,  // arm64 fault CMOs done by the map walker, skipped if installed
  Arm64RelaxTlbiLocal,    // arm64 permission relaxation invalidates the local TLB only
  Arm64ExclusiveBreakLocked,  // arm64 exclusive-mode map locks every entry it changes
  Arm64UnmapRangeTlbi,        // arm64 unmap invalidates with range TLBIs after the walk (FWB)
  Arm64RelaxRaceTlbi,         // arm64 relaxation that lost a race invalidates all the same
  Arm64EagerSplitChunk,       // arm64 VMM may ask for eager splitting of blocks when logging
  X86TdpFastPageFault,  // x86 TDP MMU lockless fast page fault
  // Yielding mmu_lock to a waiter (rwlock_needbreak) on a voluntary-preemption host: possible
  // from 5.12 (mmu_lock an rwlock with needbreak; PREEMPT_DYNAMIC kernels carry
  // CONFIG_PREEMPTION) until 6.11 (needbreak asks the preemption model at run time).
  X86NeedbreakOnVoluntary,
  X86NeedbreakOnlyIfPreemptible,
  X86NotifierRetryRange,   // a fault retries only for an invalidation covering its gfn
  X86RemovedSpte,          // removed tables torn down to REMOVED_SPTE (FROZEN_SPTE from 6.11)
  X86HugeSplitOnFault,     // a huge leaf in a fault's way is split in place, not zapped
  X86EagerSplit,           // enabling dirty logging splits huge SPTEs in place (eager)
  X86InitSetProtectNothing,  // with initially-set, enabling dirty logging protects nothing
  X86EagerSplitDropLock,   // ... allocating each table with mmu_lock dropped
  X86NotifierEarlyCheck,   // ... and checks for one before taking mmu_lock
  X86ShadowPrefetchNoUnsync,   // shadow MMU: a prefetched SPTE never unsyncs a page
  X86ShadowLookupSyncRemote,   // shadow MMU: a lookup's sync flushes remote TLBs when needed
  MipsTeRemoved,               // MIPS: trap-and-emulate KVM removed (--mips-virt te refused)
  X86AgeXchgVolatile,          // aging writes an SPTE with volatile bits by atomic exchange
  X86AgeAtomicAnd,             // ... and clears only the A bit, by atomic AND, no bookkeeping
  X86DirtyRing,                // x86: KVM_CAP_DIRTY_LOG_RING (--dirty-tracking ring accepted)
  Arm64DirtyRing,              // arm64: the same capability
  Arm64VmidGenerational,       // arm64: VMIDs active on a pCPU survive a rollover, no forced exit
  HostMemcgChargeBatch64,      // host mm: a memory-cgroup stock refill charges 64 pages, not 32
  HostFolioBatch31,            // host mm: a CPU's LRU add batch holds 31 pages, not 15
};

// Whether long mmu_lock walks yield to a waiter in release r on a host booted with `preempt`.
bool needbreak_in(KvmRelease r, HostPreempt preempt);

struct KvmTimelineEntry {
  KvmChange change;
  std::optional<Arch> arch;  // none: the host kernel's memory manager, the same on every arch
  const char* option;  // the behaviour's own option, without dashes
  KvmRelease since;    // the first release with the `after` form
  const char* commit;  // upstream commit title of the change
  const char* before;  // what the model does in releases before `since`
  const char* after;   // what it does from `since` on
};

// Every entry, oldest change first.
extern const KvmTimelineEntry kKvmTimeline[];
extern const size_t kKvmTimelineSize;

const KvmTimelineEntry& kvm_timeline_entry(KvmChange c);

// True when release r has the change (r is `since` or newer).
inline bool kvm_has(KvmRelease r, KvmChange c) { return kvm_timeline_entry(c).since <= r; }

// The form of one behaviour in a run: the behaviour's own option when it is set, else `before`
// or `after` as the release has the change or not.
template <class E>
E kvm_form(const std::optional<E>& option, KvmRelease r, KvmChange c, E before, E after) {
  if (option) return *option;
  return kvm_has(r, c) ? after : before;
}

}  // namespace mmusim
