// The options of the x86 shadow MMU: --x86-mmu shadow instead of TDP/EPT, the three
// orderings of the unsync walk around the unsync-walk change, and the guest-pt-churn workload's
// rates.
#include "sim/core/config_table.hpp"

namespace mmusim::config_detail {

void add_shadow_options(OptionTable& o) {
  o.group = "x86 shadow MMU (--x86-mmu shadow) and guest-pt-churn";
  o.choice("x86-mmu", "x86 hypervisor MMU: tdp (EPT, the TDP MMU) or shadow (shadow page tables)",
           &SimConfig::x86_mmu);
  o.choice("unsync-walk",
           "mmu_unsync_walk ordering: rewalk (before the patch: bits cleared after the "
           "sync), clear-on-add (the review's version), clear-before-add (the patch as posted: "
           "a child's bit is cleared before it is added; with KVM's add it is synced all the "
           "same, see --pvec-full)",
           &SimConfig::unsync_walk);
  o.choice("pvec-full",
           "adding a page to the unsync walk's vector of 16: kvm (KVM's mmu_pages_add: the page "
           "is always appended, an unsync page already in the vector is skipped, and a full "
           "vector then ends the walk with -ENOSPC) or refuse (HYPOTHETICAL, not KVM's "
           "behaviour: a full vector refuses the page, which is then not synced; with "
           "--unsync-walk clear-before-add that page is lost)",
           &SimConfig::pvec_full);
  o.versioned("prefetch-unsync",
              "whether a prefetched shadow entry (INVLPG's update_pte) that the guest PTE lets be "
              "writable may make the target's last-level shadow page unsync, as a fault does: "
              "on, or off (the entry is made read-only); auto: as --kvm-version (off from 5.16)",
              &SimConfig::prefetch_unsync);
  o.versioned("lookup-sync-flush",
              "the TLB flush after a fault's lookup finds an unsync shadow page and syncs it: "
              "current (the faulting vCPU's TLB, after every such sync) or remote (every vCPU's, "
              "when the sync removed or downgraded a translation); auto: as --kvm-version "
              "(remote from 5.16)",
              &SimConfig::lookup_sync_flush);
  o.on_off("unsync", "let last-level shadow pages go unsync instead of emulating every write",
           &SimConfig::unsync);
  o.whole("churn-procs", "guest-pt-churn: guest processes per vCPU", &SimConfig::churn_procs, 1,
          64);
  o.size("churn-proc-bytes", "guest-pt-churn: data window of one process",
         &SimConfig::churn_proc_bytes);
  o.whole("churn-steps", "guest-pt-churn: steps each vCPU runs", &SimConfig::churn_steps, 1,
          1u << 24);
  o.whole("churn-writes", "guest-pt-churn: PTE writes of one mmap/munmap/exec step",
          &SimConfig::churn_writes, 1, 4096);
  o.whole("churn-accesses", "guest-pt-churn: data accesses per step", &SimConfig::churn_accesses,
          0, 4096);
  o.real("churn-switch", "P", "guest-pt-churn: probability that a step switches process (CR3)",
         &SimConfig::churn_switch, 0.0, 1.0, "a probability");
  o.real("churn-unmap-single", "P",
         "guest-pt-churn: probability that a munmap-like step unmaps one page instead of "
         "--churn-writes pages",
         &SimConfig::churn_unmap_single, 0.0, 1.0, "a probability");
  o.whole("churn-invlpg-ceiling",
          "guest-pt-churn: a munmap of at most this many pages is followed by one INVLPG per "
          "page, a larger one by a full TLB flush (Linux's tlb_single_page_flush_ceiling); 0: "
          "always a full flush",
          &SimConfig::churn_invlpg_ceiling, 0, 4096);
  o.real("churn-fork", "P",
         "guest-pt-churn: probability that a step forks the current process: the child takes "
         "the slot of another process of the vCPU (whose tables are torn down first), gets a "
         "copy of the parent's page tables, and the parent's writable PTEs become read-only "
         "(copy-on-write) in both, then the parent's TLB is flushed; a later write breaks COW. "
         "Skipped with one process per vCPU",
         &SimConfig::churn_fork, 0.0, 1.0, "a probability");
  o.real("churn-exec", "P",
         "guest-pt-churn: probability that a step execs: the current process gets fresh page "
         "tables (mapping --churn-writes pages), switches CR3 to them and tears the old ones "
         "down (PTEs cleared, table pages freed to the guest's allocator)",
         &SimConfig::churn_exec, 0.0, 1.0, "a probability");
  o.real("churn-reuse-data", "P",
         "guest-pt-churn: probability that a table page freed by a teardown is reused at once "
         "by the guest as a data page, written through the direct map while the hypervisor "
         "may still shadow it (stores to a shadowed directory are emulated until KVM's "
         "write-flooding detection zaps its shadow page; a last-level one goes unsync)",
         &SimConfig::churn_reuse_data, 0.0, 1.0, "a probability");
  o.real("churn-guest-huge", "F",
         "guest-pt-churn: share of each first process's data window (its last 2 MiB regions) "
         "that the guest maps with 2 MiB pages (PDEs with PS) instead of page tables, and the "
         "share of data accesses going there; they are never unmapped, nor copied to a fork's "
         "child, and an exec'd image uses 4 KiB pages only",
         &SimConfig::churn_guest_huge, 0.0, 1.0, "a share between 0 and 1");
  o.whole("shadow-max-pages",
          "shadow MMU: n_max_mmu_pages, the shadow pages kept before the oldest unused ones are "
          "zapped (KVM_SET_NR_MMU_PAGES); 0: KVM's default, 20 per mille of the guest memory "
          "(at least 64)",
          &SimConfig::shadow_max_pages, 0, uint64_t(1) << 32);
  o.lat("shadow_fault_work", &Latencies::shadow_fault_work,
        "shadow fault handler instructions besides memory references");
  o.lat("shadow_sync_work", &Latencies::shadow_sync_work,
        "kvm_sync_page set-up per page besides its entry reads");
  o.lat("shadow_emulate", &Latencies::shadow_emulate,
        "decoding and emulating one guest write to a write-protected guest table");
}

void validate_shadow(const SimConfig& c, const Fail& fail) {
  const bool churn = c.workload == WorkloadKind::GuestPtChurn;
  if (c.x86_mmu == X86Mmu::Shadow && c.arch != Arch::X86) fail("x86-mmu", "shadow paging is modelled for --arch x86 only");
  if (churn && c.arch != Arch::X86)
    fail("workload", "guest-pt-churn runs on --arch x86 (--x86-mmu shadow or tdp)");
  if (c.x86_mmu == X86Mmu::Shadow && c.guest_levels != 4)
    fail("guest-levels", "the shadow MMU models 4-level guest paging");
  if (c.x86_mmu == X86Mmu::Shadow && !churn)
    fail("workload", "--x86-mmu shadow runs the guest-pt-churn workload (its guest writes its "
                     "own page tables)");
  if (c.churn_proc_bytes < (uint64_t(2) << 20) || c.churn_proc_bytes % (uint64_t(2) << 20) ||
      c.churn_proc_bytes > (uint64_t(1) << 30))
    fail("churn-proc-bytes", "a multiple of 2M between 2M and 1G");
}

}  // namespace mmusim::config_detail
