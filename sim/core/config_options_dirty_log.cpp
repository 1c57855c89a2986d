// The options of the dirty-log workload's protocol, as dirty_log_perf_test runs it: the
// capabilities its VMM enables and the fraction of pages its vCPUs write
// (docs/ARCHITECTURE.md, Dirty logging; docs/KVM_RELEASES.md, Dirty-log protocol).
#include "sim/core/config_table.hpp"
#include "sim/core/dirty_ring_limits.hpp"
#include "sim/core/kvm_release.hpp"
#include "sim/core/kvm_timeline.hpp"

namespace mmusim::config_detail {

void add_dirty_log_options(OptionTable& o) {
  o.group = "Dirty-log workload protocol (docs/ARCHITECTURE.md, Dirty logging)";
  o.choice("dirty-log-manual-protect",
           "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: on, KVM_GET_DIRTY_LOG only copies the bitmap and "
           "KVM_CLEAR_DIRTY_LOG clears and write-protects; off, KVM_GET_DIRTY_LOG gets, clears "
           "and write-protects in one ioctl (the selftest enables it when the kernel has it, "
           "every modelled release does)",
           &SimConfig::dirty_log_manual_protect);
  o.versioned("dirty-log-initially-set",
              "KVM_DIRTY_LOG_INITIALLY_SET (needs --dirty-log-manual-protect on): enabling "
              "logging sets every bit and write-protects no 4K mapping, the first clear does; "
              "auto: on with manual protect, off without",
              &SimConfig::dirty_log_initially_set);
  o.whole("dirty-log-write-fraction",
          "dirty_log_perf_test's -f: each vCPU writes page i of its slice when i % N == 0 and "
          "only reads the others (1: every page written)",
          &SimConfig::dirty_log_write_fraction, 1, 1u << 20);
  o.t.back().arg = "N";
  o.versioned("dirty-tracking",
              "how the VMM learns the pages written: bitmap (KVM_GET_DIRTY_LOG / "
              "KVM_CLEAR_DIRTY_LOG) or ring (KVM_CAP_DIRTY_LOG_RING: per-vCPU rings the VMM "
              "harvests, then KVM_RESET_DIRTY_RINGS; x86 from 5.11, arm64 from 6.2); auto: "
              "bitmap",
              &SimConfig::dirty_tracking);
  o.whole("dirty-ring-entries",
          "entries of each vCPU's dirty ring (16 bytes each), a power of two from 256 (1024 on "
          "x86 with --pml on) to 65536; a vCPU exits to the VMM once its ring holds all but 64 "
          "(with PML 576) of them",
          &SimConfig::dirty_ring_entries, 1, kDirtyRingMaxEntries);
  o.choice("dirty-ring-reset",
           "what KVM_RESET_DIRTY_RINGS does with the harvested entries: kvm write-protects their "
           "pages again; skip-protect (hypothetical) only frees the entries, so later writes "
           "to those pages are not logged",
           &SimConfig::dirty_ring_reset);
}

namespace {

void validate_dirty_ring(const SimConfig& c, const Fail& fail) {
  const bool ring = c.dirty_tracking == DirtyTracking::Ring;
  if (!power_of_two(c.dirty_ring_entries) || c.dirty_ring_entries < kDirtyRingPageEntries)
    fail("dirty-ring-entries", std::to_string(c.dirty_ring_entries) +
                                   " is not a power of two from " +
                                   std::to_string(kDirtyRingPageEntries) +
                                   " (KVM takes a ring of at least one page)");
  if (!ring) {
    if (c.dirty_ring_reset != DirtyRingReset::Kvm)
      fail("dirty-ring-reset", "applies to --dirty-tracking ring only");
    return;
  }
  if (c.workload != WorkloadKind::DirtyLog)
    fail("dirty-tracking", "ring is harvested by --workload dirty-log's VMM only");
  if (c.arch == Arch::Mips)
    fail("dirty-tracking", "ring: KVM MIPS has no dirty ring (KVM_CAP_DIRTY_LOG_RING exists on "
                           "x86 and arm64 only); use --dirty-tracking bitmap");
  const KvmChange since = c.arch == Arch::X86 ? KvmChange::X86DirtyRing : KvmChange::Arm64DirtyRing;
  if (!kvm_has(c.kvm_version, since))
    fail("dirty-tracking",
         "ring: --kvm-version " + kvm_release_text(c.kvm_version) + " has no dirty ring on --arch " +
             mode_name(c.arch) + " (added in " + kvm_release_text(kvm_timeline_entry(since).since) +
             "); use --dirty-tracking bitmap or a later --kvm-version");
  if (c.dirty_log_initially_set == DirtyLogInitiallySet::On)
    fail("dirty-log-initially-set",
         "on with --dirty-tracking ring: initially-set acts on the dirty bitmap, which a VM "
         "with the ring has none of (KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG fail with "
         "ENXIO), so no clear would ever protect the pages it leaves writable; set "
         "--dirty-log-initially-set off or --dirty-tracking bitmap");
  // kvm_cpu_dirty_log_size: the PML buffer's 512 entries must fit beyond the soft limit.
  const unsigned min = dirty_ring_min_entries(c.arch == Arch::X86 && c.pml == PmlMode::On ? 512 : 0);
  if (c.dirty_ring_entries < min)
    fail("dirty-ring-entries",
         std::to_string(c.dirty_ring_entries) + " is below the " + std::to_string(min) +
             " entries KVM requires with --pml on (the 512-entry PML buffer is reserved beyond "
             "the soft limit); use --dirty-ring-entries " + std::to_string(min) +
             " or more, or --pml off");
}

}  // namespace

void validate_dirty_log(const SimConfig& c, const Fail& fail) {
  if (c.dirty_log_initially_set == DirtyLogInitiallySet::On &&
      c.dirty_log_manual_protect == DirtyLogManualProtect::Off)
    fail("dirty-log-initially-set",
         "on needs --dirty-log-manual-protect on (KVM accepts KVM_DIRTY_LOG_INITIALLY_SET only "
         "with manual protect); set --dirty-log-initially-set off or --dirty-log-manual-protect on");
  validate_dirty_ring(c, fail);
}

}  // namespace mmusim::config_detail
