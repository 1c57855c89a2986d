// How contended the host's last-level cache is right now, for reading a throughput figure.
//
// On a shared host (a cloud VM) other tenants evict this process's data from the L3 they share,
// and the simulator's working set (cache-model tag arrays, page tables, TLB arrays: tens of MiB)
// then comes from DRAM. The probe times dependent loads through a random cycle over a buffer
// larger than a core's L2 and much smaller than an L3: tens of ns when the L3 holds it, more when
// others evict it. It is one sign of a busy host, not all of them (docs/PERFORMANCE.md, Paired
// runs on a shared host: phases of slow runs with a fast probe were seen too).
#pragma once
#include <cstddef>

namespace mmusim_bench {

// Mean latency of one dependent load, in ns, over `bytes` of cache lines (default 8 MiB).
double llc_latency_ns(size_t bytes = size_t(8) << 20);

}  // namespace mmusim_bench
