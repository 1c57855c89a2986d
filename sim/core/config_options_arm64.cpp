// The options of the arm64 model: stage-2 geometry, broadcast TLB maintenance, cache
// maintenance policy for locked memslots (the locked-memslots series), eager splitting of blocks
// for dirty logging and the locked-boot workload.
#include "sim/core/config_table.hpp"
#include "sim/core/kvm_release.hpp"
#include "sim/core/kvm_timeline.hpp"

namespace mmusim::config_detail {

void add_arm64_options(OptionTable& o) {
  o.group = "arm64 (--arch arm64)";
  o.whole("ipa-bits", "stage-2 input (IPA) size in bits", &SimConfig::ipa_bits, 32, 48);
  o.whole("s2-levels",
          "stage-2 levels, 2..4; 0 = as KVM: fewest levels with at most 16 concatenated "
          "start-level tables",
          &SimConfig::s2_levels, 0, 4);
  o.choice("cmo-policy",
           "cache maintenance for locked memslots: eager (at lock and at first run), deferred "
           "(at first run only), none (skipped: MMU-off guests may read stale data); with "
           "--arm64-fwb on no policy cleans anything and none is correct too",
           &SimConfig::cmo_policy);
  o.choice("vmid-bits",
           "VMID width (ID_AA64MMFR1_EL1.VMIDBits; KVM uses 16 when the CPU has them): a VMID "
           "per VM tags its entries in the pCPUs' TLBs; running out starts a new generation and "
           "invalidates every TLB (docs/ARCHITECTURE.md, Several VMs)",
           &SimConfig::vmid_bits);
  o.versioned("vmid-allocator",
              "the VMID allocator: global (a rollover makes every vCPU exit and every VM take a "
              "new VMID) or generational (the VMIDs active on a pCPU survive a rollover, no "
              "vCPU exits); auto: as --kvm-version (generational from 5.18)",
              &SimConfig::vmid_allocator);
  o.whole("tlbi-range-threshold",
          "pages above which --flush broadcast invalidates the whole VMID instead of by IPA "
          "(not for the unmap's per-leaf or range TLBIs, --s2-unmap-tlbi)",
          &SimConfig::tlbi_range_threshold, 0, uint64_t(1) << 36);
  o.on_off("arm64-fwb",
           "FEAT_S2FWB (optional from Armv8.4): stage 2 forces write-back (also for a guest "
           "access with its MMU off), so KVM skips the clean+invalidate to the PoC of a new "
           "mapping, of an unmapped page and of locked memslots (whatever --cmo-policy), and "
           "from 6.6 invalidates an unmap by range (--s2-unmap-tlbi); off (the "
           "default) as on Neoverse N1 (Armv8.2) servers, docs/CALIBRATION.md names no arm64 "
           "reference CPU",
           &SimConfig::arm64_fwb);
  o.versioned("s2-relax-tlbi",
              "the TLBI after a stage-2 permission relaxation: broadcast (inner shareable, "
              "every core) or local (the faulting core only); auto: as --kvm-version (local "
              "from 6.5)",
              &SimConfig::s2_relax_tlbi);
  o.versioned("s2-fault-cmo",
              "where a stage-2 fault cleans the new frame to the PoC: before-map (before the "
              "walk, also when the mapping turns out to be installed already) or in-walker "
              "(only when the leaf is about to be installed); auto: as --kvm-version "
              "(in-walker from 5.14)",
              &SimConfig::s2_fault_cmo);
  o.versioned("s2-exclusive-break",
              "how a stage-2 map under mmu_lock for write (--mmu-lock exclusive) changes an "
              "entry: direct (an empty entry is written with one store; a valid one is cleared "
              "to 0, invalidated, then written) or locked (every entry is first set to the "
              "locked-invalid marker, then invalidated if it was valid, cleaned, written); "
              "auto: as --kvm-version (locked from 6.2)",
              &SimConfig::s2_exclusive_break);
  o.versioned("s2-unmap-tlbi",
              "the TLB invalidation of a stage-2 unmap: per-leaf (TLBI by IPA, VMALLE1IS and "
              "DSB for each cleared leaf, during the walk) or range (one sequence of range "
              "TLBIs, VMALLE1IS and one DSB after the walk); auto: as --kvm-version (range from "
              "6.6, and only with --arm64-fwb on: without FWB every release is per-leaf)",
              &SimConfig::s2_unmap_tlbi);
  o.versioned("s2-relax-race-tlbi",
              "a stage-2 permission relaxation that lost its race to another vCPU (-EAGAIN): "
              "skip (no TLB invalidation) or always (the relaxation's TLBI, --s2-relax-tlbi, all "
              "the same); auto: as --kvm-version (always from 6.7)",
              &SimConfig::s2_relax_race_tlbi);
  o.add("arm64-eager-split-chunk", "auto|SIZE",
        "KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE as the VMM sets it (6.5 on): 0 (off) or a block "
        "size, 4K, 2M or 1G; enabling dirty logging (or, with initially-set, each clear over "
        "what it clears) splits the slot's blocks into tables of 4 KiB pages that many bytes "
        "at a time, mmu_lock dropped between chunks to top up a cache of table pages; auto: "
        "0, KVM's default, which neither dirty_log_perf_test nor QEMU (eager-split-size) "
        "changes unless asked. On arm64 it replaces x86's --eager-split",
        [](const SimConfig& c) {
          return c.arm64_eager_split_chunk ? format_size(*c.arm64_eager_split_chunk)
                                           : std::string("auto");
        },
        [](SimConfig& c, const std::string& v) {
          if (v == "auto")
            c.arm64_eager_split_chunk.reset();
          else
            c.arm64_eager_split_chunk = parse_size(v, "arm64-eager-split-chunk");
        });
  o.size("image-size", "locked-boot: guest image the VMM writes after locking the memslots",
         &SimConfig::image_size);
  o.on_off("lock-writable", "locked-boot: lock the memslots writable (off: read-only)",
           &SimConfig::lock_writable);
  o.whole("relock-cycles",
          "locked-boot: times the vCPUs exit to the VMM, which unlocks the memslot (a migration "
          "starts), re-locks it (cancelled), rewrites the image and lets them run again",
          &SimConfig::relock_cycles, 0, 1000);

  o.lat("tlbi_op", &Latencies::tlbi_op, "one broadcast TLBI occupying the DVM interconnect");
  o.lat("tlbi_dsb", &Latencies::tlbi_dsb, "DSB ISH waiting for every core to complete TLBIs");
  o.lat("cmo_line_level", &Latencies::cmo_line_level,
        "one cache maintenance op on one line at one cache level");
  o.lat("s2_map_work", &Latencies::s2_map_work,
        "instructions of one arm64 stage-2 map call besides its memory references");
}

namespace {

// KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE (docs/KVM_RELEASES.md): arm64 only, from 6.5, 0 or a
// block size of the 4 KiB granule (kvm_is_block_size_supported). x86's --eager-split is the
// eager_page_split module parameter, which arm64 KVM does not have: `on` is refused there
// rather than ignored, so no arm64 run claims eager splitting it did not model.
void validate_arm64_eager_split(const SimConfig& c, const Fail& fail) {
  const uint64_t chunk = c.arm64_eager_split_chunk.value_or(0);
  if (c.arch == Arch::Arm64 && c.eager_split == EagerSplit::On)
    fail("eager-split", "on is x86's eager_page_split module parameter; arm64 KVM splits "
                        "blocks eagerly when the VMM sets KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE: "
                        "use --arm64-eager-split-chunk (e.g. 2M) instead");
  if (!chunk) return;
  const std::string text = format_size(chunk);
  if (c.arch != Arch::Arm64)
    fail("arm64-eager-split-chunk", text + ": --arch " + mode_name(c.arch) +
                                        " has no KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE (x86 "
                                        "splits eagerly per --eager-split)");
  if (c.eager_split == EagerSplit::Off)
    fail("eager-split", "off contradicts --arm64-eager-split-chunk " + text +
                            "; on arm64 leave --eager-split unset and set the chunk to 0 for off");
  if (!kvm_has(c.kvm_version, KvmChange::Arm64EagerSplitChunk))
    fail("arm64-eager-split-chunk",
         text + ": --kvm-version " + kvm_release_text(c.kvm_version) +
             " has no KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE (added in " +
             kvm_release_text(kvm_timeline_entry(KvmChange::Arm64EagerSplitChunk).since) +
             "); use 0 or auto, or a --kvm-version from then on");
  if (chunk != (uint64_t(4) << 10) && chunk != (uint64_t(2) << 20) && chunk != (uint64_t(1) << 30))
    fail("arm64-eager-split-chunk",
         text + " is not 0 or a stage-2 block size of the 4 KiB granule (4K, 2M or 1G); KVM "
                "refuses it");
}

}  // namespace

void validate_vmid_space(const SimConfig& c, unsigned pcpus, const Fail& fail) {
  // kvm_arm_vmid_alloc_init (5.18 on): a rollover keeps one VMID per CPU and must still find a
  // free one, so there must be more VMIDs than CPUs besides the reserved VMID 0.
  if (c.arch != Arch::Arm64) return;
  if (kvm_form(c.vmid_allocator, c.kvm_version, KvmChange::Arm64VmidGenerational,
               VmidAllocator::Global, VmidAllocator::Generational) != VmidAllocator::Generational)
    return;
  const unsigned bits = vmid_width(c.vmid_bits);
  if ((uint64_t(1) << bits) - 1 <= pcpus)
    fail("vmid-bits", std::to_string(bits) + "-bit VMIDs are too few for " +
                          std::to_string(pcpus) +
                          " physical CPUs (VMID 0 is reserved; the allocator needs one more "
                          "VMID than CPUs)");
}

void validate_arm64(const SimConfig& c, const Fail& fail) {
  if (c.vm_configs.empty()) validate_vmid_space(c, c.physical_cpus(), fail);
  if (c.s2_levels == 1) fail("s2-levels", "1 level cannot map a 4K-granule IPA space; use 0, 2, 3 or 4");
  validate_arm64_eager_split(c, fail);
  if (c.arch != Arch::Arm64) return;
  if (c.guest_levels != 4)
    fail("guest-levels", "arm64 guests use 4 levels (48-bit VA, 4K granule)");
  // Guest data lives from 4 GiB up (workloads/guest_layout.hpp); every vCPU's slice must fit.
  const unsigned __int128 top = (unsigned __int128)(uint64_t(4) << 30) +
                                (unsigned __int128)c.mem_per_vcpu * c.vcpus;
  if (top > ((unsigned __int128)1 << c.ipa_bits))
    fail("ipa-bits", std::to_string(c.ipa_bits) + " bits cannot address the guest data (4 GiB + " +
                         format_size(c.mem_per_vcpu) + " x " + std::to_string(c.vcpus) +
                         " vCPUs)");
  if (c.s2_levels != 0) {
    const int root_bits = int(c.ipa_bits) - 12 - 9 * (int(c.s2_levels) - 1);
    if (root_bits < 1)
      fail("s2-levels", std::to_string(c.s2_levels) + " levels are too many for --ipa-bits " +
                            std::to_string(c.ipa_bits));
    if (root_bits > 13 || (c.s2_levels == 4 && root_bits > 9))
      fail("s2-levels", std::to_string(c.s2_levels) + " levels cannot cover --ipa-bits " +
                            std::to_string(c.ipa_bits) +
                            " (at most 16 concatenated start-level tables, none at level 0)");
  }
  if (c.image_size == 0 || c.image_size % 64 != 0)
    fail("image-size", "must be a non-zero multiple of 64 bytes (cache lines)");
}

}  // namespace mmusim::config_detail
