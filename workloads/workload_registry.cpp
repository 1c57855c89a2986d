#include "sim/core/error.hpp"
#include "workloads/demand_paging.hpp"
#include "workloads/access_tracking.hpp"
#include "workloads/dirty_log.hpp"
#include "workloads/idle_tracking.hpp"
#include "workloads/ksm_merge.hpp"
#include "workloads/locked_boot.hpp"
#include "workloads/ebizzy.hpp"
#include "workloads/guest_pt_churn.hpp"
#include "workloads/root_churn.hpp"
#include "workloads/swap_storm.hpp"
#include "workloads/trace_workload.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

std::unique_ptr<Workload> make_workload(const SimConfig& cfg) {
  if (cfg.workload == "demand-paging") return std::make_unique<DemandPaging>(cfg);
  if (cfg.workload == "ksm-merge") return std::make_unique<KsmMerge>(cfg);
  if (cfg.workload == "swap-storm") return std::make_unique<SwapStorm>(cfg);
  if (cfg.workload == "idle-tracking") return std::make_unique<IdleTracking>(cfg);
  if (cfg.workload == "trace") return std::make_unique<TraceWorkload>(cfg);
  if (cfg.workload == "root-churn") return std::make_unique<RootChurn>(cfg);
  if (cfg.workload == "dirty-log") return std::make_unique<DirtyLog>(cfg);
  if (cfg.workload == "access-tracking") return std::make_unique<AccessTracking>(cfg);
  if (cfg.workload == "ebizzy") return std::make_unique<Ebizzy>(cfg);
  if (cfg.workload == "locked-boot") return std::make_unique<LockedBoot>(cfg);
  if (cfg.workload == "guest-pt-churn") return std::make_unique<GuestPtChurn>(cfg);
  throw UsageError("--workload: '" + cfg.workload + "' is not available; known: demand-paging, trace, root-churn, ebizzy, ksm-merge, swap-storm, idle-tracking, locked-boot, dirty-log, access-tracking, guest-pt-churn");
}

}  // namespace mmusim
