// The options of remote-flush strategies, vCPU overcommit and the ebizzy workload.
#include "sim/core/config_table.hpp"

namespace mmusim::config_detail {

void add_flush_options(OptionTable& o) {
  o.group = "Remote flush, overcommit and ebizzy";
  o.whole("timeslice",
          "host scheduler tick in cycles when --pcpus < --vcpus: a vCPU whose pCPU another "
          "vCPU waits for is preempted at its next tick",
          &SimConfig::timeslice, 1, kMaxLatency);
  o.t.back().arg = "CYCLES";
  o.whole("ple-window",
          "pause-loop exiting with --pcpus < --vcpus: a vCPU spinning in guest mode (shootdown "
          "acknowledgements, a contended guest lock) exits to KVM after spinning this many "
          "cycles (KVM's ple_window, 4096); 0 disables it as ple_gap=0 does",
          &SimConfig::ple_window, 0, kMaxLatency);
  o.t.back().arg = "CYCLES";
  o.choice("directed-yield",
           "on a pause-loop exit, yield the pCPU to a preempted vCPU of the VM "
           "(kvm_vcpu_on_spin); off: the exit only costs its exit and entry",
           &SimConfig::directed_yield);
  o.choice("pv-sched-yield",
           "with --pcpus < --vcpus the guest asks the host to yield to a preempted target of "
           "its shootdown IPI (KVM_FEATURE_PV_SCHED_YIELD, since 5.3)",
           &SimConfig::pv_sched_yield);
  o.whole("iterations", "workload iterations (ebizzy: chunks each thread allocates and frees)",
          &SimConfig::iterations, 1, 1u << 30);
  o.size("ebizzy-chunk", "ebizzy: bytes of one chunk, a multiple of 4K", &SimConfig::ebizzy_chunk);
  o.whole("ebizzy-work", "ebizzy: guest compute cycles per record (searching the chunk)",
          &SimConfig::ebizzy_work, 0, kMaxLatency);
  o.t.back().arg = "CYCLES";
  o.lat("context_switch", &Latencies::context_switch,
        "host switching a pCPU to another vCPU thread");
  o.lat("guest_ipi_handler", &Latencies::guest_ipi_handler,
        "guest TLB-flush IPI entry, dispatch and acknowledgement");
  o.lat("invlpg", &Latencies::invlpg, "one per-address TLB invalidation (INVLPG, ranged entry)");
}

void validate_flush(const SimConfig& c, const Fail& fail) {
  // broadcast is arm64's own strategy (ArchModel::make_flush_strategy), every other kind is
  // arch-neutral. Refused here, where the error can name the line that set --flush (in a host
  // file, the VM's or the [host] one); building the VM refuses it again, as a safety net.
  if (c.flush == FlushKind::Broadcast && c.arch != Arch::Arm64)
    fail("flush", in_quotes(mode_name(c.flush)) + " is not available for --arch " +
                      mode_name(c.arch));
  if (c.ebizzy_chunk < 4096 || c.ebizzy_chunk % 4096 != 0)
    fail("ebizzy-chunk", format_size(c.ebizzy_chunk) + " is not a non-zero multiple of 4K");
  if (c.ebizzy_chunk > (uint64_t(1) << 30))
    fail("ebizzy-chunk", format_size(c.ebizzy_chunk) + " is more than the 1G allowed");
}

}  // namespace mmusim::config_detail
