// Options of the x86 TDP MMU model beyond the core MMU options.
#include "sim/core/config_table.hpp"

namespace mmusim::config_detail {

void add_x86_options(OptionTable& o) {
  o.group = "x86 TDP MMU fault path";
  o.versioned("tdp-fast-fault",
              "a write to a write-protected SPTE: slow-path (full fault under mmu_lock) or "
              "lockless (one cmpxchg, no mmu_lock); auto: as --kvm-version (lockless from 5.15)",
              &SimConfig::tdp_fast_fault);
  o.versioned("removed-spte",
              "what a removed table's entries become while it is torn down: off (0) or on "
              "(REMOVED_SPTE/FROZEN_SPTE, which atomic changes refuse to overwrite and a fault "
              "retries on); auto: as --kvm-version (on from 5.12)",
              &SimConfig::removed_spte);
  o.versioned("huge-split-on-fault",
              "a fault that needs a smaller mapping under a huge leaf: zap (zap, flush, link an "
              "empty table) or split (link a table with the same translations, no flush); "
              "auto: as --kvm-version (split from 6.2)",
              &SimConfig::huge_split_on_fault);
  o.versioned("eager-split",
              "enabling dirty logging splits the slot's huge SPTEs in place into populated 4K "
              "tables (off: they are write-protected and split or zapped by the first write's "
              "fault); auto: as --kvm-version (on from 5.18)",
              &SimConfig::eager_split);
  o.versioned("initially-set-enable",
              "what enabling dirty logging write-protects when the bitmap starts all set "
              "(--dirty-log-initially-set on): huge (the huge SPTEs, so their first writes "
              "split them) or nothing (each clear protects, and splits, what it clears); auto: "
              "as --kvm-version (nothing from 5.14)",
              &SimConfig::init_set_enable);
  o.versioned("eager-split-alloc",
              "where eager splitting allocates a table: nowait-first (under mmu_lock, dropping "
              "it only if that fails) or drop-lock (always with mmu_lock dropped); auto: as "
              "--kvm-version (drop-lock from 6.11)",
              &SimConfig::eager_split_alloc);
  o.versioned("notifier-retry",
              "which MMU-notifier invalidations in progress make a fault retry: any, or one "
              "covering the faulting gfn; auto: as --kvm-version (range from 5.12)",
              &SimConfig::notifier_retry);
  o.versioned("notifier-early-check",
              "whether a fault also checks for an invalidation of its gfn before it takes "
              "mmu_lock (and before resolving the host page); auto: as --kvm-version (on from "
              "6.8)",
              &SimConfig::notifier_early_check);
  o.group = "x86 TDP MMU dirty logging (docs/ARCHITECTURE.md, Dirty logging)";
  o.choice("pml",
           "Intel Page-Modification Logging: on clears the D bit of logged 4K SPTEs instead of "
           "write-protecting them and the walker logs each GPA it dirties in a 512-entry "
           "per-vCPU buffer (huge SPTEs are still write-protected); off write-protects. Default "
           "off although KVM enables PML on hardware that has it (docs/KVM_RELEASES.md, PML)",
           &SimConfig::pml);
  o.choice("pml-drain",
           "when KVM drains the PML buffers: kvm (at every VM exit and on KVM_GET_DIRTY_LOG); "
           "full-only is HYPOTHETICAL and wrong on purpose (only on PML-full exits), to show "
           "the dirty-log oracle catches the lost pages",
           &SimConfig::pml_drain);
  o.group = "x86 TDP MMU access tracking (docs/ARCHITECTURE.md, Access tracking)";
  o.choice("ept-ad",
           "EPT accessed/dirty flags (vmx's enable_ept_ad_bits): on, the walker sets A (and D "
           "on a write) and aging clears A; off, aging makes a young SPTE access-tracked (R/W/X "
           "cleared, R/X saved in high bits), its next access takes an EPT violation that the "
           "lockless fast page fault fixes with one cmpxchg. off refuses --pml on",
           &SimConfig::ept_ad);
  o.versioned("age-clear",
              "how aging clears a young SPTE: store (plain store), xchg (atomic exchange when "
              "the SPTE has volatile bits, plus the SPTE-change bookkeeping) or and (atomic AND "
              "of the A bit when it has volatile bits); auto: as --kvm-version (xchg from 5.18, "
              "and from 6.4)",
              &SimConfig::age_clear);
  o.group = "x86 TDP MMU roots (putting and invalidating roots)";
  o.choice("root-put",
           "how the last root reference is put: agreed (final version of the seed thread), "
           "dec-not-one or zap-always (versions the thread shows to be wrong)",
           &SimConfig::root_put);
  o.group = "x86 TDP MMU yielding (docs/KVM_RELEASES.md, Yielding)";
  o.versioned("lock-needbreak",
              "whether long mmu_lock walks (zaps, write-protection) yield to a thread waiting for "
              "mmu_lock; auto: as --kvm-version and --host-preempt (full: always; voluntary: "
              "5.12 to 6.10)",
              &SimConfig::lock_needbreak);
  o.choice("host-preempt",
           "host kernel preemption model as booted: voluntary (PREEMPT_DYNAMIC distro default) "
           "or full",
           &SimConfig::host_preempt);
  o.whole("zap-yield-every",
          "stress knob: also yield mmu_lock every N SPTEs a walk visits (0: only when KVM "
          "would: the host scheduler wants the CPU, or --lock-needbreak and a waiter)",
          &SimConfig::zap_yield_every, 0, 1u << 20);
  o.whole("churn-rounds", "root-churn: zap-all rounds the VMM thread makes",
          &SimConfig::churn_rounds, 0, 1u << 20);
  o.whole("churn-interval", "root-churn: cycles between two zap-all rounds",
          &SimConfig::churn_interval, 8, uint64_t(1) << 40);
  o.whole("churn-unmaps", "root-churn: range unmaps (over every root) per zap-all round",
          &SimConfig::churn_unmaps, 1, 1u << 20);
  o.group = "x86 TLB tags (docs/ARCHITECTURE.md, Several VMs)";
  o.choice("vpid",
           "kvm_intel's enable_vpid: on, a VPID per vCPU tags its TLB entries in the pCPU's "
           "TLBs; off, every vCPU runs with VPID 0 and each VM entry and exit invalidates its "
           "linear and combined mappings",
           &SimConfig::vpid);
}

void validate_x86(const SimConfig& c, const Fail& fail) {
  // PML logs what the walker's D-bit writes report: without EPT A/D flags there are none.
  if (c.ept_ad == EptAd::Off && c.pml == PmlMode::On)
    fail("ept-ad", "--ept-ad off cannot be combined with --pml on (PML needs EPT A/D flags)");
}

}  // namespace mmusim::config_detail
