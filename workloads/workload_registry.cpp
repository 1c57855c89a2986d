#include "sim/core/error.hpp"
#include "workloads/demand_paging.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

std::unique_ptr<Workload> make_workload(const SimConfig& cfg) {
  if (cfg.workload == "demand-paging") return std::make_unique<DemandPaging>(cfg);
  throw UsageError("--workload: '" + cfg.workload + "' is not available; known: demand-paging");
}

}  // namespace mmusim
