// Builders of the workloads' typed parameters from the run's SimConfig, and the factory of the
// workload --workload names. The factory lives here, in the platform layer, rather than in
// workloads/: it is the one place that knows both SimConfig and every workload's Params, so
// each workload (and each shared piece: guest kernel, guest processes) sees only its own.
#pragma once
#include <memory>

#include "sim/core/config.hpp"
#include "workloads/access_tracking.hpp"
#include "workloads/demand_paging.hpp"
#include "workloads/dirty_log.hpp"
#include "workloads/ebizzy.hpp"
#include "workloads/guest_kernel.hpp"
#include "workloads/guest_process.hpp"
#include "workloads/guest_pt_churn.hpp"
#include "workloads/host_event_workload.hpp"
#include "workloads/idle_tracking.hpp"
#include "workloads/ksm_merge.hpp"
#include "workloads/locked_boot.hpp"
#include "workloads/page_table_test.hpp"
#include "workloads/root_churn.hpp"
#include "workloads/swap_storm.hpp"
#include "workloads/trace_workload.hpp"
#include "workloads/workload.hpp"

namespace mmusim {

DemandPagingParams demand_paging_params(const SimConfig& cfg);
DirtyLogParams dirty_log_params(const SimConfig& cfg);
PageTableTestParams page_table_test_params(const SimConfig& cfg);
AccessTrackingParams access_tracking_params(const SimConfig& cfg);
HostEventWorkloadParams host_event_workload_params(const SimConfig& cfg);
KsmMergeParams ksm_merge_params(const SimConfig& cfg);
SwapStormParams swap_storm_params(const SimConfig& cfg);
IdleTrackingParams idle_tracking_params(const SimConfig& cfg);
EbizzyParams ebizzy_params(const SimConfig& cfg);
RootChurnParams root_churn_params(const SimConfig& cfg);
LockedBootParams locked_boot_params(const SimConfig& cfg);
GuestKernelParams guest_kernel_params(const SimConfig& cfg);
TraceWorkloadParams trace_workload_params(const SimConfig& cfg);
GuestProcessParams guest_process_params(const SimConfig& cfg);
GuestPtChurnParams guest_pt_churn_params(const SimConfig& cfg);

// The workload cfg.workload names, built from its own Params.
std::unique_ptr<Workload> make_workload(const SimConfig& cfg);

}  // namespace mmusim
