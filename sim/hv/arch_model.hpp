// What an architecture contributes to a platform: its guest (stage-1) and second-stage page
// formats and its hypervisor MMU software. The platform builds everything else (memory, vCPUs,
// host threads) the same way for every arch; models/arch_registry picks one by --arch.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/stats.hpp"
#include "sim/core/timeline.hpp"
#include "sim/core/violations.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/hypervisor_mmu.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/phys_mem.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "sim/sync/rcu.hpp"

namespace mmusim {

// The shared platform pieces an arch's hypervisor code is built on.
struct ArchDeps {
  const SimConfig& cfg;
  PhysMem& phys;
  PagePool& pool;
  HostMm& host;
  RemoteFlush& flush;
  Rcu& rcu;
  KernelHeap& heap;
  Stats& stats;
  Timeline& timeline;
  Violations& oracle;
};

class ArchModel {
 public:
  virtual ~ArchModel() = default;
  virtual const char* name() const = 0;
  virtual const PageTableFormat& guest_format() const = 0;
  virtual const PageTableFormat& stage2_format() const = 0;
  virtual HypervisorMmu& mmu() = 0;
};

}  // namespace mmusim
