// Options of trace replay (--workload trace) and of the modelled guest kernel that builds the
// guest's page tables on first touch.
#include <fstream>

#include "sim/core/config_table.hpp"

namespace mmusim::config_detail {

void add_trace_options(OptionTable& o) {
  o.group = "Trace replay (--workload trace; format in docs/TRACE_FORMAT.md)";
  o.add(
      "trace", "FILE",
      "trace to replay: text or binary mmusim trace, plain, gzip or xz compressed",
      [](const SimConfig& c) { return c.trace; },
      [](SimConfig& c, const std::string& v) {
        std::ifstream in(v, std::ios::binary);
        if (!in) bad_value("trace", in_quotes(v) + " cannot be opened for reading");
        c.trace = v;
      });
  o.size("trace-queue",
         "host memory for records read ahead of the thread that replays them; beyond it a "
         "thread re-reads the file alone (docs/TRACE_FORMAT.md, Replay)",
         &SimConfig::trace_queue);
  o.group = "Latencies (core cycles)";
  o.lat("guest_fault_work", &Latencies::guest_fault_work,
        "guest kernel page-fault handler work besides its page-table accesses");
  o.lat("guest_clear_page", &Latencies::guest_clear_page, "guest zeroing a new 4K frame");
  o.lat("guest_lock_spin", &Latencies::guest_lock_spin,
        "one re-check of a contended guest page-table lock");
}

void validate_trace(const SimConfig& c, const Fail& fail) {
  if (c.workload == WorkloadKind::Trace && c.trace.empty())
    fail("trace", "--workload trace needs --trace FILE");
  if (c.workload != WorkloadKind::Trace && !c.trace.empty())
    fail("trace", "given, but --workload is " + in_quotes(mode_name(c.workload)) + " (use --workload trace)");
}

}  // namespace mmusim::config_detail
