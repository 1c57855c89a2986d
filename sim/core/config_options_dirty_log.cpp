// The options of the dirty-log workload's protocol, as dirty_log_perf_test runs it: the
// capabilities its VMM enables and the fraction of pages its vCPUs write
// (docs/ARCHITECTURE.md, Dirty logging; docs/KVM_RELEASES.md, Dirty-log protocol).
#include "sim/core/config_table.hpp"

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
}

void validate_dirty_log(const SimConfig& c, const Fail& fail) {
  if (c.dirty_log_initially_set == DirtyLogInitiallySet::On &&
      c.dirty_log_manual_protect == DirtyLogManualProtect::Off)
    fail("dirty-log-initially-set",
         "on needs --dirty-log-manual-protect on (KVM accepts KVM_DIRTY_LOG_INITIALLY_SET only "
         "with manual protect); set --dirty-log-initially-set off or --dirty-log-manual-protect on");
}

}  // namespace mmusim::config_detail
