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
  switch (cfg.workload) {
    case WorkloadKind::DemandPaging: return std::make_unique<DemandPaging>(cfg);
    case WorkloadKind::KsmMerge: return std::make_unique<KsmMerge>(cfg);
    case WorkloadKind::SwapStorm: return std::make_unique<SwapStorm>(cfg);
    case WorkloadKind::IdleTracking: return std::make_unique<IdleTracking>(cfg);
    case WorkloadKind::Trace: return std::make_unique<TraceWorkload>(cfg);
    case WorkloadKind::RootChurn: return std::make_unique<RootChurn>(cfg);
    case WorkloadKind::DirtyLog: return std::make_unique<DirtyLog>(cfg);
    case WorkloadKind::AccessTracking: return std::make_unique<AccessTracking>(cfg);
    case WorkloadKind::Ebizzy: return std::make_unique<Ebizzy>(cfg);
    case WorkloadKind::LockedBoot: return std::make_unique<LockedBoot>(cfg);
    case WorkloadKind::GuestPtChurn: return std::make_unique<GuestPtChurn>(cfg);
  }
  throw ModelError("make_workload: a WorkloadKind without a workload");
}

}  // namespace mmusim
