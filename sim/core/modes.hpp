// Every run-time mode of mmusim as an enum class, with the one table that names its values.
// The option table parses a value through these names (OptionTable::choice), the summary and
// error messages print through them, and models switch on the enum: no model compares a mode
// string (docs/ARCHITECTURE.md, Parameters).
#pragma once
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace mmusim {

// The architecture whose MMU is modelled (--arch).
enum class Arch { X86, Arm64, Mips };
// The hypervisor MMU's lock on the fault path (--mmu-lock): exclusive is the write-locked
// mmu_lock from before the parallel-faults change, shared the read-locked one after it
// (sim/core/kvm_timeline.hpp: which releases have which).
enum class MmuLockMode { Exclusive, Shared };
// x86 TDP MMU: a write to a write-protected SPTE (--tdp-fast-fault): slow-path takes the full
// fault path under mmu_lock, lockless fixes it with one cmpxchg (fast_page_fault).
enum class TdpFastFault { SlowPath, Lockless };
// x86 TDP MMU: what the entries of a removed table become while it is torn down
// (--removed-spte): off clears them to 0; on writes KVM's REMOVED_SPTE (FROZEN_SPTE from 6.11),
// a non-present value no atomic SPTE change overwrites and that makes a fault retry.
enum class RemovedSpte { Off, On };
// x86 TDP MMU: a fault that needs a smaller mapping under a huge leaf (--huge-split-on-fault):
// zap the leaf, flush it and link an empty table, or split it in place (a table populated with
// the same translations, linked with one atomic change and no flush).
enum class HugeSplitOnFault { Zap, Split };
// x86 TDP eager page splitting (--eager-split): whether enabling dirty logging on a slot splits
// its huge SPTEs in place into populated 4K tables (KVM's eager_page_split module parameter).
enum class EagerSplit { Off, On };
// x86: what enabling dirty logging write-protects when the bitmap starts all set
// (KVM_DIRTY_LOG_INITIALLY_SET): the huge SPTEs, or nothing (the clears protect).
enum class InitSetEnable { ProtectHuge, ProtectNothing };
// Where eager splitting allocates a table page: first under mmu_lock without sleeping (the
// GFP_NOWAIT try) and only if that fails with the lock dropped, or always with it dropped.
enum class EagerSplitAlloc { NowaitFirst, DropLock };
// The host page size backing guest RAM (--backing): auto follows --page-size (4K, THP for 2M,
// hugetlb for 1G); THP faults 2M pages that the host may split, hugetlb reserves whole pages.
enum class HostBacking { Auto, Small, Thp, Hugetlb2M, Hugetlb1G };
// Which invalidations in progress make a fault retry: any, or one covering its gfn.
enum class NotifierRetry { Any, Range };
// Whether the x86 fault path also checks for an invalidation before it takes mmu_lock.
enum class NotifierEarlyCheck { Off, On };
// Whether long mmu_lock walks yield to a thread waiting for the lock (rwlock_needbreak).
enum class LockNeedbreak { Ignore, Yield };
// x86 TDP dirty logging with Intel Page-Modification Logging (--pml): off write-protects
// logged 4K SPTEs; on clears their D bit and lets the walker log the GPAs it dirties.
enum class PmlMode { Off, On };
// arm64 VMID width (ID_AA64MMFR1_EL1.VMIDBits; KVM uses 16 when the CPU has them).
enum class VmidBits { Bits8, Bits16 };
inline unsigned vmid_width(VmidBits b) { return b == VmidBits::Bits8 ? 8 : 16; }
// x86 VPIDs (kvm_intel's enable_vpid): off, every vCPU runs with VPID 0.
enum class VpidMode { Off, On };
// EPT accessed/dirty flags (vmx's enable_ept_ad_bits): on, the walker sets A/D and aging clears
// A; off, aging makes young SPTEs access-tracked (RWX cleared) and the next access faults.
enum class EptAd { On, Off };
// How x86 TDP MMU aging clears a young SPTE's accessed state: store (a plain store of the new
// value), xchg (an atomic exchange when the SPTE has volatile bits, with the SPTE-change
// bookkeeping), and (an atomic AND of the A bit when it has volatile bits, no bookkeeping).
enum class AgeClear { Store, Xchg, And };
// When KVM drains a vCPU's PML buffer (--pml-drain): kvm at every VM exit and on
// KVM_GET_DIRTY_LOG (the kick) as KVM does; full-only is hypothetical (only on PML-full
// exits), to show the dirty-log oracle catches what the drain at exit and get-log is for.
enum class PmlDrain { Kvm, FullOnly };
// The dirty-log capabilities the dirty-log workload's VMM enables, as dirty_log_perf_test does
// when the kernel has them (docs/KVM_RELEASES.md, Dirty-log protocol):
// KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (--dirty-log-manual-protect) and its
// KVM_DIRTY_LOG_INITIALLY_SET flag (--dirty-log-initially-set).
enum class DirtyLogManualProtect { Off, On };
enum class DirtyLogInitiallySet { Off, On };
// How the dirty-log workload's VMM learns which pages were written (--dirty-tracking): bitmap
// (KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG on the memslot's bitmap) or ring (KVM_CAP_DIRTY_LOG_RING:
// each vCPU pushes the pages it dirties to a ring the VMM harvests, then KVM_RESET_DIRTY_RINGS).
enum class DirtyTracking { Bitmap, Ring };
// What KVM_RESET_DIRTY_RINGS does with the entries the VMM collected (--dirty-ring-reset): kvm
// write-protects their pages again (kvm_arch_mmu_enable_log_dirty_pt_masked); skip-protect is
// hypothetical (only the ring indices advance), to show the dirty-log oracle catches the writes
// a reset without re-protection loses.
enum class DirtyRingReset { Kvm, SkipProtect };
// The host kernel's preemption model as booted: voluntary (a PREEMPT_DYNAMIC distro kernel's
// default) or full (PREEMPT / PREEMPT_RT).
enum class HostPreempt { Voluntary, Full };
// x86 TDP MMU: how the last reference to a root is put (--root-put).
enum class RootPut { Agreed, DecNotOne, ZapAlways };
// arm64 locked memslots: when the cache maintenance to the PoC is done (--cmo-policy).
enum class CmoPolicy { Eager, Deferred, None };
// arm64 stage 2: the TLB invalidation after a permission relaxation (--s2-relax-tlbi):
// broadcast (TLBI IPAS2E1IS + DSB ISH on every core) or local (the faulting core only, nsh).
enum class S2RelaxTlbi { Broadcast, Local };
// arm64 stage 2: where a fault cleans a new mapping's frame to the PoC (--s2-fault-cmo):
// before-map (in user_mem_abort, before the walk: also a vCPU that then finds the mapping
// installed pays it) or in-walker (by the walker, only once it is about to install the leaf).
enum class S2FaultCmo { BeforeMap, InWalker };
// arm64 stage 2 under mmu_lock for write (--s2-exclusive-break): direct (an empty entry is
// written with one store, a valid one cleared to 0 before its TLBI) or locked (every entry the
// map walk changes is first set to the locked-invalid marker, as in shared mode).
enum class S2ExclusiveBreak { Direct, Locked };
// arm64 stage 2: the TLB invalidation of an unmap (--s2-unmap-tlbi): per-leaf (TLBI by IPA and
// DSB for each cleared leaf as the walk goes) or range (one range-TLBI sequence after the walk).
enum class S2UnmapTlbi { PerLeaf, Range };
// arm64 stage 2: a permission relaxation that lost its race (-EAGAIN) (--s2-relax-race-tlbi):
// skip (no TLB invalidation) or always (the relaxation's TLBI all the same).
enum class S2RelaxRaceTlbi { Skip, Always };
// arm64 VMID allocator (sim/hv/tlb_tags.hpp): global (update_vmid up to 5.17: a rollover makes
// every vCPU exit and every VM take a new VMID) or generational (vmid.c from 5.18: the VMIDs
// active on a pCPU survive a rollover, no vCPU is made to exit).
enum class VmidAllocator { Global, Generational };
// x86 hypervisor MMU (--x86-mmu): the TDP MMU on EPT, or shadow page tables without EPT.
enum class X86Mmu { Tdp, Shadow };
// KVM MIPS (--mips-virt): the VZ ASE (guest and root TLBs, the guest refills its own) or trap
// and emulate (guest kernel in user mode, KVM emulates the guest TLB; up to 5.12).
enum class MipsVirt { Vz, Te };
// x86 shadow MMU: the ordering of mmu_unsync_walk around the unsync-walk change (--unsync-walk).
enum class UnsyncWalk { Rewalk, ClearOnAdd, ClearBeforeAdd };
// x86 shadow MMU: what adding a page to the unsync walk's full vector does (--pvec-full): kvm
// appends it and then reports the vector full (KVM's mmu_pages_add); refuse leaves it out (a
// hypothetical add, not KVM's, under which the patch's ordering loses the page).
enum class PvecFull { Kvm, Refuse };
// x86 shadow MMU: whether a prefetched SPTE (INVLPG's update_pte) that the guest PTE allows to be
// writable may let the target's last-level shadow page go unsync (--prefetch-unsync): on, as a
// fault does, or off (the SPTE is made read-only instead).
enum class PrefetchUnsync { On, Off };
// x86 shadow MMU: the TLB flush after an unsync page found by a lookup (kvm_mmu_get_page) is
// synced (--lookup-sync-flush): current flushes the faulting vCPU's TLB after every such sync
// (KVM_REQ_TLB_FLUSH_CURRENT); remote flushes every vCPU's, only when the sync removed or
// downgraded a translation.
enum class LookupSyncFlush { Current, Remote };
// Order in which a vCPU touches the pages of its slice (--pattern).
enum class AccessPattern { Seq, Random };
// Where in a page an access lands (--access-offset): the first byte, or line (page % 64).
enum class AccessOffset { Zero, Spread };
// The selftests' memory layout: each vCPU its own slice (on), or all the same region (off: -o).
enum class Partition { On, Off };

// The guest workload (--workload).
enum class WorkloadKind {
  DemandPaging, Trace, RootChurn, Ebizzy, KsmMerge, SwapStorm, IdleTracking, LockedBoot,
  DirtyLog, AccessTracking, GuestPtChurn, PageTableTest
};
// The remote TLB flush strategy (--flush): IpiAll is kvm_flush_remote_tlbs; Broadcast is arm64's
// TLBI IS + DSB; UnsafeSkip reports the flush done without touching any vCPU (wrong on purpose,
// to show that the oracle catches it).
enum class FlushKind { IpiAll, Targeted, Ranged, Pv, Broadcast, UnsafeSkip };
// The progress line on stderr (--progress): auto shows it when stderr is a terminal and the run
// is not --quiet; on shows it always (one line per update on a non-terminal); off never.
enum class ProgressMode { Auto, On, Off };
// On a pause-loop exit, whether KVM looks for a preempted vCPU of the VM to yield the pCPU to
// (kvm_vcpu_on_spin; docs/ARCHITECTURE.md, Pause-loop exiting and directed yield).
enum class DirectedYield { Off, On };
// Whether the guest, after sending a call-function IPI to a vCPU whose steal-time word says
// PREEMPTED, asks the host to yield to it (KVM_FEATURE_PV_SCHED_YIELD, KVM_HC_SCHED_YIELD).
enum class PvSchedYield { Off, On };

template <class E>
struct ModeName {
  E value;
  const char* name;
};

// ModeNames<E>::table lists every value of E with its option text, in --help order.
template <class E>
struct ModeNames;

template <>
struct ModeNames<Arch> {
  static constexpr ModeName<Arch> table[] = {
      {Arch::X86, "x86"}, {Arch::Arm64, "arm64"}, {Arch::Mips, "mips"}};
};
template <>
struct ModeNames<MmuLockMode> {
  static constexpr ModeName<MmuLockMode> table[] = {{MmuLockMode::Exclusive, "exclusive"},
                                                    {MmuLockMode::Shared, "shared"}};
};
template <>
struct ModeNames<VmidAllocator> {
  static constexpr ModeName<VmidAllocator> table[] = {{VmidAllocator::Global, "global"},
                                                      {VmidAllocator::Generational, "generational"}};
};
template <>
struct ModeNames<VmidBits> {
  static constexpr ModeName<VmidBits> table[] = {{VmidBits::Bits8, "8"}, {VmidBits::Bits16, "16"}};
};
template <>
struct ModeNames<VpidMode> {
  static constexpr ModeName<VpidMode> table[] = {{VpidMode::Off, "off"}, {VpidMode::On, "on"}};
};
template <>
struct ModeNames<PmlMode> {
  static constexpr ModeName<PmlMode> table[] = {{PmlMode::Off, "off"}, {PmlMode::On, "on"}};
};
template <>
struct ModeNames<DirtyLogManualProtect> {
  static constexpr ModeName<DirtyLogManualProtect> table[] = {{DirtyLogManualProtect::Off, "off"},
                                                              {DirtyLogManualProtect::On, "on"}};
};
template <>
struct ModeNames<DirtyLogInitiallySet> {
  static constexpr ModeName<DirtyLogInitiallySet> table[] = {{DirtyLogInitiallySet::Off, "off"},
                                                             {DirtyLogInitiallySet::On, "on"}};
};
template <>
struct ModeNames<DirtyTracking> {
  static constexpr ModeName<DirtyTracking> table[] = {{DirtyTracking::Bitmap, "bitmap"},
                                                      {DirtyTracking::Ring, "ring"}};
};
template <>
struct ModeNames<DirtyRingReset> {
  static constexpr ModeName<DirtyRingReset> table[] = {{DirtyRingReset::Kvm, "kvm"},
                                                       {DirtyRingReset::SkipProtect, "skip-protect"}};
};
template <>
struct ModeNames<DirectedYield> {
  static constexpr ModeName<DirectedYield> table[] = {{DirectedYield::On, "on"},
                                                      {DirectedYield::Off, "off"}};
};
template <>
struct ModeNames<PvSchedYield> {
  static constexpr ModeName<PvSchedYield> table[] = {{PvSchedYield::On, "on"},
                                                     {PvSchedYield::Off, "off"}};
};
template <>
struct ModeNames<EptAd> {
  static constexpr ModeName<EptAd> table[] = {{EptAd::On, "on"}, {EptAd::Off, "off"}};
};
template <>
struct ModeNames<AgeClear> {
  static constexpr ModeName<AgeClear> table[] = {
      {AgeClear::Store, "store"}, {AgeClear::Xchg, "xchg"}, {AgeClear::And, "and"}};
};
template <>
struct ModeNames<PmlDrain> {
  static constexpr ModeName<PmlDrain> table[] = {{PmlDrain::Kvm, "kvm"},
                                                 {PmlDrain::FullOnly, "full-only"}};
};
template <>
struct ModeNames<TdpFastFault> {
  static constexpr ModeName<TdpFastFault> table[] = {{TdpFastFault::SlowPath, "slow-path"},
                                                     {TdpFastFault::Lockless, "lockless"}};
};
template <>
struct ModeNames<RemovedSpte> {
  static constexpr ModeName<RemovedSpte> table[] = {{RemovedSpte::Off, "off"},
                                                    {RemovedSpte::On, "on"}};
};
template <>
struct ModeNames<HugeSplitOnFault> {
  static constexpr ModeName<HugeSplitOnFault> table[] = {{HugeSplitOnFault::Zap, "zap"},
                                                         {HugeSplitOnFault::Split, "split"}};
};
template <>
struct ModeNames<EagerSplit> {
  static constexpr ModeName<EagerSplit> table[] = {{EagerSplit::Off, "off"},
                                                   {EagerSplit::On, "on"}};
};
template <>
struct ModeNames<InitSetEnable> {
  static constexpr ModeName<InitSetEnable> table[] = {{InitSetEnable::ProtectHuge, "huge"},
                                                      {InitSetEnable::ProtectNothing, "nothing"}};
};
template <>
struct ModeNames<EagerSplitAlloc> {
  static constexpr ModeName<EagerSplitAlloc> table[] = {
      {EagerSplitAlloc::NowaitFirst, "nowait-first"}, {EagerSplitAlloc::DropLock, "drop-lock"}};
};
template <>
struct ModeNames<HostBacking> {
  static constexpr ModeName<HostBacking> table[] = {{HostBacking::Auto, "auto"},
                                                    {HostBacking::Small, "4K"},
                                                    {HostBacking::Thp, "THP"},
                                                    {HostBacking::Hugetlb2M, "hugetlb-2M"},
                                                    {HostBacking::Hugetlb1G, "hugetlb-1G"}};
};
template <>
struct ModeNames<NotifierRetry> {
  static constexpr ModeName<NotifierRetry> table[] = {{NotifierRetry::Any, "any"},
                                                      {NotifierRetry::Range, "range"}};
};
template <>
struct ModeNames<NotifierEarlyCheck> {
  static constexpr ModeName<NotifierEarlyCheck> table[] = {{NotifierEarlyCheck::Off, "off"},
                                                           {NotifierEarlyCheck::On, "on"}};
};
template <>
struct ModeNames<LockNeedbreak> {
  static constexpr ModeName<LockNeedbreak> table[] = {{LockNeedbreak::Ignore, "ignore"},
                                                      {LockNeedbreak::Yield, "yield"}};
};
template <>
struct ModeNames<HostPreempt> {
  static constexpr ModeName<HostPreempt> table[] = {{HostPreempt::Voluntary, "voluntary"},
                                                    {HostPreempt::Full, "full"}};
};
template <>
struct ModeNames<RootPut> {
  static constexpr ModeName<RootPut> table[] = {{RootPut::Agreed, "agreed"},
                                                {RootPut::DecNotOne, "dec-not-one"},
                                                {RootPut::ZapAlways, "zap-always"}};
};
template <>
struct ModeNames<CmoPolicy> {
  static constexpr ModeName<CmoPolicy> table[] = {
      {CmoPolicy::Eager, "eager"}, {CmoPolicy::Deferred, "deferred"}, {CmoPolicy::None, "none"}};
};
template <>
struct ModeNames<S2RelaxTlbi> {
  static constexpr ModeName<S2RelaxTlbi> table[] = {{S2RelaxTlbi::Broadcast, "broadcast"},
                                                    {S2RelaxTlbi::Local, "local"}};
};
template <>
struct ModeNames<S2FaultCmo> {
  static constexpr ModeName<S2FaultCmo> table[] = {{S2FaultCmo::BeforeMap, "before-map"},
                                                   {S2FaultCmo::InWalker, "in-walker"}};
};
template <>
struct ModeNames<S2ExclusiveBreak> {
  static constexpr ModeName<S2ExclusiveBreak> table[] = {{S2ExclusiveBreak::Direct, "direct"},
                                                         {S2ExclusiveBreak::Locked, "locked"}};
};
template <>
struct ModeNames<S2UnmapTlbi> {
  static constexpr ModeName<S2UnmapTlbi> table[] = {{S2UnmapTlbi::PerLeaf, "per-leaf"},
                                                    {S2UnmapTlbi::Range, "range"}};
};
template <>
struct ModeNames<S2RelaxRaceTlbi> {
  static constexpr ModeName<S2RelaxRaceTlbi> table[] = {{S2RelaxRaceTlbi::Skip, "skip"},
                                                        {S2RelaxRaceTlbi::Always, "always"}};
};
template <>
struct ModeNames<MipsVirt> {
  static constexpr ModeName<MipsVirt> table[] = {{MipsVirt::Vz, "vz"}, {MipsVirt::Te, "te"}};
};
template <>
struct ModeNames<X86Mmu> {
  static constexpr ModeName<X86Mmu> table[] = {{X86Mmu::Tdp, "tdp"}, {X86Mmu::Shadow, "shadow"}};
};
template <>
struct ModeNames<UnsyncWalk> {
  static constexpr ModeName<UnsyncWalk> table[] = {{UnsyncWalk::Rewalk, "rewalk"},
                                                   {UnsyncWalk::ClearOnAdd, "clear-on-add"},
                                                   {UnsyncWalk::ClearBeforeAdd, "clear-before-add"}};
};
template <>
struct ModeNames<PvecFull> {
  static constexpr ModeName<PvecFull> table[] = {{PvecFull::Kvm, "kvm"},
                                                 {PvecFull::Refuse, "refuse"}};
};
template <>
struct ModeNames<PrefetchUnsync> {
  static constexpr ModeName<PrefetchUnsync> table[] = {{PrefetchUnsync::On, "on"},
                                                       {PrefetchUnsync::Off, "off"}};
};
template <>
struct ModeNames<LookupSyncFlush> {
  static constexpr ModeName<LookupSyncFlush> table[] = {{LookupSyncFlush::Current, "current"},
                                                        {LookupSyncFlush::Remote, "remote"}};
};
template <>
struct ModeNames<AccessPattern> {
  static constexpr ModeName<AccessPattern> table[] = {{AccessPattern::Seq, "seq"},
                                                      {AccessPattern::Random, "random"}};
};
template <>
struct ModeNames<AccessOffset> {
  static constexpr ModeName<AccessOffset> table[] = {{AccessOffset::Zero, "zero"},
                                                     {AccessOffset::Spread, "spread"}};
};
template <>
struct ModeNames<Partition> {
  static constexpr ModeName<Partition> table[] = {{Partition::On, "on"}, {Partition::Off, "off"}};
};

template <>
struct ModeNames<WorkloadKind> {
  static constexpr ModeName<WorkloadKind> table[] = {
      {WorkloadKind::DemandPaging, "demand-paging"},
      {WorkloadKind::Trace, "trace"},
      {WorkloadKind::RootChurn, "root-churn"},
      {WorkloadKind::Ebizzy, "ebizzy"},
      {WorkloadKind::KsmMerge, "ksm-merge"},
      {WorkloadKind::SwapStorm, "swap-storm"},
      {WorkloadKind::IdleTracking, "idle-tracking"},
      {WorkloadKind::LockedBoot, "locked-boot"},
      {WorkloadKind::DirtyLog, "dirty-log"},
      {WorkloadKind::AccessTracking, "access-tracking"},
      {WorkloadKind::GuestPtChurn, "guest-pt-churn"},
      {WorkloadKind::PageTableTest, "page-table-test"}};
};
template <>
struct ModeNames<FlushKind> {
  static constexpr ModeName<FlushKind> table[] = {
      {FlushKind::IpiAll, "ipi-all"},     {FlushKind::Targeted, "targeted"},
      {FlushKind::Ranged, "ranged"},      {FlushKind::Pv, "pv"},
      {FlushKind::Broadcast, "broadcast"}, {FlushKind::UnsafeSkip, "unsafe-skip"}};
};

template <>
struct ModeNames<ProgressMode> {
  static constexpr ModeName<ProgressMode> table[] = {
      {ProgressMode::Auto, "auto"}, {ProgressMode::On, "on"}, {ProgressMode::Off, "off"}};
};

// The option text of `value`.
template <class E>
const char* mode_name(E value) {
  for (const auto& m : ModeNames<E>::table)
    if (m.value == value) return m.name;
  return "?";  // unreachable for a value of the enum: every value is in its table
}

// The value named `text`; false when no value has that name.
template <class E>
bool mode_from_name(const std::string& text, E& out) {
  for (const auto& m : ModeNames<E>::table) {
    if (text == m.name) {
      out = m.value;
      return true;
    }
  }
  return false;
}

template <class E>
std::vector<std::string> mode_names() {
  std::vector<std::string> names;
  for (const auto& m : ModeNames<E>::table) names.emplace_back(m.name);
  return names;
}

// Prints a mode by its option text (summaries, test messages).
template <class E, class = decltype(ModeNames<E>::table)>
std::ostream& operator<<(std::ostream& os, E value) {
  return os << mode_name(value);
}

}  // namespace mmusim
