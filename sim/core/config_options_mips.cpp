// The options of the MIPS model: KVM_CAP_SYNC_MMU on either side of KVM_CAP_SYNC_MMU on MIPS, the
// ASID and GuestID widths of the software-refilled TLBs, dirty logging; and the host memory
// manager's (page-allocator lists, memory cgroups, the host-event workloads ksm-merge,
// swap-storm and idle-tracking), which every architecture shares.
#include "sim/core/config_table.hpp"
#include "sim/core/kvm_release.hpp"
#include "sim/core/kvm_timeline.hpp"

namespace mmusim::config_detail {

void add_mips_options(OptionTable& o) {
  o.group = "MIPS (--arch mips) and host memory events";
  o.on_off("mips-sync-mmu",
           "MMU notifiers (KVM_CAP_SYNC_MMU); off: host COW/KSM/swap/migration are not "
           "reflected in the GPA table and page references are held, as before the seed",
           &SimConfig::mips_sync_mmu);
  o.whole("mips-asid-bits", "ASID width of each pCPU's ASID counter (shared by every vCPU on "
          "it); a flush moves a vCPU to a new ASID, a wrap of the counter flushes the pCPU's TLB",
          &SimConfig::mips_asid_bits, 1, 16);
  o.whole("mips-guestid-bits",
          "GuestID width of the VZ core (GuestCtl1.ID, up to 8 bits): each vCPU gets a GuestID "
          "per pCPU from that pCPU's counter and a flush gives it a new one; 0: no GuestIDs, so "
          "each VM has one root ASID that a flush renews, and a pCPU switching vCPUs drops the "
          "guest TLB",
          &SimConfig::mips_guestid_bits, 0, 8);
  o.on_off("mips-dirty-log", "dirty logging on the guest data memslot", &SimConfig::mips_dirty_log);
  o.versioned("mips-virt",
              "how KVM runs the MIPS guest: vz (VZ ASE: the guest refills its own guest TLB, "
              "KVM the root TLB from the GPA table) or te (trap and emulate: KVM emulates the "
              "guest TLB in memory and fills the host TLB from per-vCPU GVA tables; removed in "
              "5.13, so refused with a later --kvm-version); auto: vz",
              &SimConfig::mips_virt);
  o.whole("host-pcp-batch",
          "host page allocator: pages a per-CPU free list takes from (or gives back to) the "
          "zone at once under zone->lock (Linux's pcp batch)",
          &SimConfig::host_pcp_batch, 1, 4096);
  o.whole("host-pcp-high",
          "host page allocator: a per-CPU free list longer than this gives a batch back to the "
          "zone; at least --host-pcp-batch",
          &SimConfig::host_pcp_high, 1, 1u << 20);
  o.whole("memcg-depth",
          "memory cgroup of the VMM processes (one for every VM), as levels below the root: "
          "every charge the per-CPU stock cannot serve and every free of a charged page "
          "updates the counter of each level and the root's (0: the root cgroup, which "
          "charges no counter; a systemd login session is 3, "
          "user.slice/user-UID.slice/session-N.scope)",
          &SimConfig::memcg_depth, 0, 16);
  o.versioned_whole("memcg-charge-batch",
                    "pages a CPU's memory-cgroup charge stock takes from the counters at once "
                    "(MEMCG_CHARGE_BATCH); auto: as --kvm-version, 32 before 6.1 and 64 from it",
                    &SimConfig::memcg_charge_batch, 1, 4096);
  o.versioned_whole("host-lru-batch",
                    "pages a CPU's LRU add batch holds before they join the host's LRU list "
                    "under lru_lock (PAGEVEC_SIZE; 0: no LRU lists); auto: as --kvm-version, "
                    "15 before 6.9 and 31 from it",
                    &SimConfig::host_lru_batch, 0, 255);
  o.whole("host-events", "ksm-merge/swap-storm/idle-tracking: events the host thread raises",
          &SimConfig::host_events, 0, 1u << 20);
  o.whole("host-event-interval", "cycles between two host events", &SimConfig::host_event_interval,
          1, kMaxLatency);
  o.whole("host-event-pages", "pages one host event covers", &SimConfig::host_event_pages, 1,
          uint64_t(1) << 28);
  o.whole("event-passes", "passes each vCPU makes over its slice in the host-event workloads",
          &SimConfig::event_passes, 1, 1u << 20);

  o.lat("mips_tlb_exception", &Latencies::mips_tlb_exception,
        "TLB refill/invalid/modified exception entry and return");
  o.lat("mips_refill_work", &Latencies::mips_refill_work,
        "TLB refill handler instructions besides its loads");
  o.lat("mips_asid_bump", &Latencies::mips_asid_bump, "moving a vCPU to a new ASID on a flush");
  o.lat("mips_map_work", &Latencies::mips_map_work,
        "kvm_mips_map_page instructions besides memory references");
  o.lat("host_pte_update", &Latencies::host_pte_update, "host mm changing one of its PTEs");
  o.lat("host_page_copy", &Latencies::host_page_copy, "copying one 4K page (COW, KSM, migration)");
  o.lat("host_swap_io", &Latencies::host_swap_io,
        "one page written to or read from swap (zram, compressed in RAM; an SSD takes ~390000)");
}

void validate_mips(const SimConfig& c, const Fail& fail) {
  if (c.host_pcp_high < c.host_pcp_batch)
    fail("host-pcp-high", std::to_string(c.host_pcp_high) + " is less than --host-pcp-batch " +
                              std::to_string(c.host_pcp_batch));
  if (c.mips_virt == MipsVirt::Te && kvm_has(c.kvm_version, KvmChange::MipsTeRemoved))
    fail("mips-virt", "te: --kvm-version " + kvm_release_text(c.kvm_version) +
                          " has no trap-and-emulate KVM (removed in " +
                          kvm_release_text(kvm_timeline_entry(KvmChange::MipsTeRemoved).since) +
                          "); use --mips-virt vz or a --kvm-version before that");
  if (c.mips_guestid_bits != 0 && c.mips_virt == MipsVirt::Te)
    fail("mips-guestid-bits", std::to_string(c.mips_guestid_bits) +
                                  ": GuestIDs belong to the VZ ASE; --mips-virt te has none");
  if (c.arch != Arch::Mips) return;
  if (c.page_size != 4096) fail("page-size", "KVM MIPS maps guest memory with 4K GPA PTEs only");
  if (c.guest_levels != 4) fail("guest-levels", "MIPS guests use 4 levels (48-bit VA, 4K pages)");
  // The GPA table has three levels (39-bit GPA); guest data lives from 4 GiB up.
  const unsigned __int128 top = (unsigned __int128)(uint64_t(4) << 30) +
                                (unsigned __int128)c.mem_per_vcpu * c.vcpus;
  if (top > ((unsigned __int128)1 << 39))
    fail("mem-per-vcpu", "guest data beyond the 512 GiB a 3-level MIPS GPA table maps");
}

}  // namespace mmusim::config_detail
