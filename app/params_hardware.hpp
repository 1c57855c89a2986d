// The typed parameters of the hardware and host-side components, each built once from the
// options (SimConfig) by the Platform: memory system, page walker, vCPU, pCPU TLBs and TLB tags, host memory manager,
// host scheduler and remote-flush front end.
#pragma once
#include "sim/core/config.hpp"
#include "sim/cpu/pcpu_tlbs.hpp"
#include "sim/cpu/vcpu.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/host_scheduler.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/hv/tlb_tags.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/mmu/walker.hpp"

namespace mmusim {

MemorySystemParams memory_system_params(const SimConfig& cfg);
WalkerParams walker_params(const SimConfig& cfg);
VcpuParams vcpu_params(const SimConfig& cfg);
PcpuTlbGeometry pcpu_tlb_geometry(const SimConfig& cfg);
TlbTagParams tlb_tag_params(const SimConfig& cfg);
HostMmParams host_mm_params(const SimConfig& cfg);
HostSchedulerParams host_scheduler_params(const SimConfig& cfg);
RemoteFlushParams remote_flush_params(const SimConfig& cfg);

}  // namespace mmusim
