#include "app/params_models.hpp"

#include "sim/core/kvm_timeline.hpp"

namespace mmusim {

MmuLockMode fault_mmu_lock(const SimConfig& cfg, Arch arch) {
  const KvmChange change =
      arch == Arch::Arm64 ? KvmChange::Arm64ParallelFaults : KvmChange::X86ParallelFaults;
  return kvm_form(cfg.mmu_lock, cfg.kvm_version, change, MmuLockMode::Exclusive,
                  MmuLockMode::Shared);
}

NotifierRetry x86_notifier_retry(const SimConfig& cfg) {
  return kvm_form(cfg.notifier_retry, cfg.kvm_version, KvmChange::X86NotifierRetryRange,
                  NotifierRetry::Any, NotifierRetry::Range);
}

// The generic notifier code records the invalidated range from the release that added the
// x86 range check on (every arch pays its stores), and whenever the x86 check is asked for.
MmuNotifierParams mmu_notifier_params(const SimConfig& cfg, Arch arch) {
  MmuNotifierParams p;
  p.track_range = kvm_has(cfg.kvm_version, KvmChange::X86NotifierRetryRange) ||
                  (arch == Arch::X86 && x86_notifier_retry(cfg) == NotifierRetry::Range);
  return p;
}

TdpMmuParams tdp_mmu_params(const SimConfig& cfg) {
  TdpMmuParams p;
  p.mmu_lock = fault_mmu_lock(cfg, Arch::X86);
  p.fast_fault = kvm_form(cfg.tdp_fast_fault, cfg.kvm_version, KvmChange::X86TdpFastPageFault,
                          TdpFastFault::SlowPath, TdpFastFault::Lockless);
  p.removed_spte = kvm_form(cfg.removed_spte, cfg.kvm_version, KvmChange::X86RemovedSpte,
                            RemovedSpte::Off, RemovedSpte::On);
  p.huge_split = kvm_form(cfg.huge_split_on_fault, cfg.kvm_version,
                          KvmChange::X86HugeSplitOnFault, HugeSplitOnFault::Zap,
                          HugeSplitOnFault::Split);
  p.eager_split = kvm_form(cfg.eager_split, cfg.kvm_version, KvmChange::X86EagerSplit,
                           EagerSplit::Off, EagerSplit::On);
  p.init_set_enable = kvm_form(cfg.init_set_enable, cfg.kvm_version,
                               KvmChange::X86InitSetProtectNothing, InitSetEnable::ProtectHuge,
                               InitSetEnable::ProtectNothing);
  p.eager_split_alloc = kvm_form(cfg.eager_split_alloc, cfg.kvm_version,
                                 KvmChange::X86EagerSplitDropLock, EagerSplitAlloc::NowaitFirst,
                                 EagerSplitAlloc::DropLock);
  p.eager_split_alloc_limit = cfg.eager_split_alloc_limit;
  p.page_size = cfg.page_size;
  p.vcpus = cfg.vcpus;
  p.root_put = cfg.root_put;
  p.zap_yield_every = cfg.zap_yield_every;
  p.yield_on_contention = cfg.lock_needbreak
                              ? *cfg.lock_needbreak == LockNeedbreak::Yield
                              : needbreak_in(cfg.kvm_version, cfg.host_preempt);
  p.notifier_retry = x86_notifier_retry(cfg);
  p.notifier_early_check =
      kvm_form(cfg.notifier_early_check, cfg.kvm_version, KvmChange::X86NotifierEarlyCheck,
               NotifierEarlyCheck::Off, NotifierEarlyCheck::On);
  p.pml = cfg.pml;
  p.pml_drain = cfg.pml_drain;
  p.ept_ad = cfg.ept_ad;
  // The aging statistics only where something ages pages (every other run's output unchanged).
  p.aging_stats = cfg.workload == WorkloadKind::AccessTracking ||
                  cfg.workload == WorkloadKind::IdleTracking || cfg.ept_ad == EptAd::Off;
  // Two changes of one behaviour (docs/KVM_RELEASES.md): xchg from 5.18, AND from 6.4.
  p.age_clear = cfg.age_clear ? *cfg.age_clear
                : kvm_has(cfg.kvm_version, KvmChange::X86AgeAtomicAnd)   ? AgeClear::And
                : kvm_has(cfg.kvm_version, KvmChange::X86AgeXchgVolatile) ? AgeClear::Xchg
                                                                          : AgeClear::Store;
  p.ipi = cfg.lat.ipi;
  p.fault_entry = cfg.lat.fault_entry;
  p.tdp_map_work = cfg.lat.tdp_map_work;
  p.spte_change_work = cfg.lat.spte_change_work;
  p.page_alloc = cfg.lat.page_alloc;
  p.cond_resched = cfg.lat.cond_resched;
  return p;
}

ShadowMmuParams shadow_mmu_params(const SimConfig& cfg) {
  ShadowMmuParams p;
  p.unsync_walk = cfg.unsync_walk;
  p.pvec_full = cfg.pvec_full;
  p.prefetch_unsync = kvm_form(cfg.prefetch_unsync, cfg.kvm_version,
                               KvmChange::X86ShadowPrefetchNoUnsync, PrefetchUnsync::On,
                               PrefetchUnsync::Off);
  p.lookup_sync_flush = kvm_form(cfg.lookup_sync_flush, cfg.kvm_version,
                                 KvmChange::X86ShadowLookupSyncRemote, LookupSyncFlush::Current,
                                 LookupSyncFlush::Remote);
  p.unsync = cfg.unsync;
  p.vcpus = cfg.vcpus;
  p.page_size = cfg.page_size;
  p.shadow_max_pages = cfg.shadow_max_pages;
  // The guest's memory as the guest-pt-churn workload lays it out: every vCPU's processes,
  // each with its own data window.
  p.guest_mem_bytes = uint64_t(cfg.vcpus) * cfg.churn_procs * cfg.churn_proc_bytes;
  p.fault_entry = cfg.lat.fault_entry;
  p.page_alloc = cfg.lat.page_alloc;
  p.shadow_fault_work = cfg.lat.shadow_fault_work;
  p.shadow_emulate = cfg.lat.shadow_emulate;
  p.shadow_sync_work = cfg.lat.shadow_sync_work;
  p.l1_hit = cfg.lat.l1_hit;
  return p;
}

X86ArchParams x86_arch_params(const SimConfig& cfg) {
  X86ArchParams p;
  p.guest_levels = cfg.guest_levels;
  p.ept_levels = cfg.ept_levels;
  p.ept_ad = cfg.ept_ad;
  p.x86_mmu = cfg.x86_mmu;
  p.tdp = tdp_mmu_params(cfg);
  p.shadow = shadow_mmu_params(cfg);
  p.notifier = mmu_notifier_params(cfg, Arch::X86);
  return p;
}

Stage2MmuParams stage2_mmu_params(const SimConfig& cfg) {
  Stage2MmuParams p;
  p.mmu_lock = fault_mmu_lock(cfg, Arch::Arm64);
  p.page_size = cfg.page_size;
  p.cmo_policy = cfg.cmo_policy;
  p.fwb = cfg.arm64_fwb;
  p.relax_tlbi = kvm_form(cfg.s2_relax_tlbi, cfg.kvm_version, KvmChange::Arm64RelaxTlbiLocal,
                          S2RelaxTlbi::Broadcast, S2RelaxTlbi::Local);
  p.fault_cmo = kvm_form(cfg.s2_fault_cmo, cfg.kvm_version, KvmChange::Arm64FaultCmoInWalker,
                         S2FaultCmo::BeforeMap, S2FaultCmo::InWalker);
  p.exclusive_break = kvm_form(cfg.s2_exclusive_break, cfg.kvm_version,
                               KvmChange::Arm64ExclusiveBreakLocked, S2ExclusiveBreak::Direct,
                               S2ExclusiveBreak::Locked);
  // KVM defers the unmap's TLBIs to one range sequence only when it needs no CMO per leaf
  // (stage2_unmap_defer_tlb_flush: FEAT_TLBIRANGE and FWB); an explicit value wins.
  p.unmap_tlbi = kvm_form(cfg.s2_unmap_tlbi, cfg.kvm_version, KvmChange::Arm64UnmapRangeTlbi,
                          S2UnmapTlbi::PerLeaf,
                          cfg.arm64_fwb ? S2UnmapTlbi::Range : S2UnmapTlbi::PerLeaf);
  p.relax_race_tlbi = kvm_form(cfg.s2_relax_race_tlbi, cfg.kvm_version,
                               KvmChange::Arm64RelaxRaceTlbi, S2RelaxRaceTlbi::Skip,
                               S2RelaxRaceTlbi::Always);
  // KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE: 0 unless the VMM sets it (validate_arm64 refuses a
  // chunk before 6.5); its chunk loop yields as long walks do (needbreak_in).
  p.eager_split_chunk = cfg.arm64_eager_split_chunk.value_or(0);
  p.yield_on_contention = cfg.lock_needbreak ? *cfg.lock_needbreak == LockNeedbreak::Yield
                                             : needbreak_in(cfg.kvm_version, cfg.host_preempt);
  p.fault_entry = cfg.lat.fault_entry;
  p.s2_map_work = cfg.lat.s2_map_work;
  p.spte_change_work = cfg.lat.spte_change_work;
  p.page_alloc = cfg.lat.page_alloc;
  p.cond_resched = cfg.lat.cond_resched;
  return p;
}

LockedMemslotsParams locked_memslots_params(const SimConfig& cfg) {
  LockedMemslotsParams p;
  p.vcpus = cfg.vcpus;
  p.cmo_policy = cfg.cmo_policy;
  p.fwb = cfg.arm64_fwb;
  p.request_check = cfg.lat.request_check;
  return p;
}

BroadcastTlbiParams broadcast_tlbi_params(const SimConfig& cfg) {
  BroadcastTlbiParams p;
  p.tlbi_range_threshold = cfg.tlbi_range_threshold;
  p.tlbi_op = cfg.lat.tlbi_op;
  p.tlbi_dsb = cfg.lat.tlbi_dsb;
  return p;
}

Arm64ArchParams arm64_arch_params(const SimConfig& cfg) {
  Arm64ArchParams p;
  p.guest_levels = cfg.guest_levels;
  p.ipa_bits = cfg.ipa_bits;
  p.s2_levels = cfg.s2_levels;
  p.stage2 = stage2_mmu_params(cfg);
  p.memslots = locked_memslots_params(cfg);
  p.tlbi = broadcast_tlbi_params(cfg);
  p.notifier = mmu_notifier_params(cfg, Arch::Arm64);
  return p;
}

MipsGpaMmuParams mips_gpa_mmu_params(const SimConfig& cfg) {
  MipsGpaMmuParams p;
  p.mips_sync_mmu = cfg.mips_sync_mmu;
  p.fault_entry = cfg.lat.fault_entry;
  p.mips_map_work = cfg.lat.mips_map_work;
  p.page_alloc = cfg.lat.page_alloc;
  return p;
}

MipsRefillWalkerParams mips_refill_walker_params(const SimConfig& cfg) {
  MipsRefillWalkerParams p;
  p.mips_tlb_exception = cfg.lat.mips_tlb_exception;
  p.mips_refill_work = cfg.lat.mips_refill_work;
  p.mips_asid_bump = cfg.lat.mips_asid_bump;
  p.guestids = cfg.mips_guestid_bits != 0;
  return p;
}

MipsArchParams mips_arch_params(const SimConfig& cfg) {
  MipsArchParams p;
  p.mips_sync_mmu = cfg.mips_sync_mmu;
  p.mips_dirty_log = cfg.mips_dirty_log;
  // Both modes exist before 5.13 and the hardware one is the model's default in every release;
  // te with a release without it is refused by the option's validation.
  p.virt = cfg.mips_virt.value_or(MipsVirt::Vz);
  p.gpa_mmu = mips_gpa_mmu_params(cfg);
  p.refill = mips_refill_walker_params(cfg);
  p.notifier = mmu_notifier_params(cfg, Arch::Mips);
  return p;
}

ArchParams arch_params(const SimConfig& cfg) {
  ArchParams p;
  p.x86 = x86_arch_params(cfg);
  p.arm64 = arm64_arch_params(cfg);
  p.mips = mips_arch_params(cfg);
  return p;
}

}  // namespace mmusim
