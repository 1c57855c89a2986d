#include "app/params_workloads.hpp"

#include "sim/core/error.hpp"

namespace mmusim {

// Fields that are not options keep their Params default (the value the model always used);
// each builder names them in a comment.

DemandPagingParams demand_paging_params(const SimConfig& cfg) {
  DemandPagingParams p;
  p.vcpus = cfg.vcpus;
  p.mem_per_vcpu = cfg.mem_per_vcpu;
  // --partition off is the slices laid on top of each other: a full overlap.
  p.overlap = cfg.partition == Partition::Off ? 1.0 : cfg.overlap;
  p.page_size = cfg.page_size;
  p.passes = cfg.passes;
  p.pattern = cfg.pattern;
  p.access_offset = cfg.access_offset;
  p.seed = cfg.seed;
  return p;
}

DirtyLogParams dirty_log_params(const SimConfig& cfg) {
  DirtyLogParams p;
  p.paging = demand_paging_params(cfg);
  p.iterations = cfg.iterations;
  p.arch = cfg.arch;
  p.caps.manual_protect = cfg.dirty_log_manual_protect == DirtyLogManualProtect::On;
  p.caps.initially_set = cfg.dirty_log_initially_set
                             ? *cfg.dirty_log_initially_set == DirtyLogInitiallySet::On
                             : p.caps.manual_protect;
  p.write_fraction = cfg.dirty_log_write_fraction;
  // auto: the bitmap, in every release (a VMM asks for the ring; config_options_dirty_log.cpp
  // refuses it where the release or arch has none).
  p.tracking = cfg.dirty_tracking.value_or(DirtyTracking::Bitmap);
  p.ring.entries = cfg.dirty_ring_entries;
  p.ring.reset = cfg.dirty_ring_reset;
  // With the ring the VMM does not enable KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (dirty_log_test's
  // ring mode): there is no bitmap to clear.
  if (p.tracking == DirtyTracking::Ring) p.caps = {false, false};
  return p;
}

PageTableTestParams page_table_test_params(const SimConfig& cfg) {
  PageTableTestParams p;
  p.vcpus = cfg.vcpus;
  p.region_bytes = cfg.mem_per_vcpu;  // one region every vCPU shares, as --partition off
  p.page_size = cfg.page_size;
  p.arch = cfg.arch;
  return p;
}

AccessTrackingParams access_tracking_params(const SimConfig& cfg) {
  AccessTrackingParams p;
  p.paging = demand_paging_params(cfg);
  p.arch = cfg.arch;
  // mark_idle_bytes: not an option.
  return p;
}

HostEventWorkloadParams host_event_workload_params(const SimConfig& cfg) {
  HostEventWorkloadParams p;
  p.paging = demand_paging_params(cfg);
  p.event_passes = cfg.event_passes;
  p.host_events = cfg.host_events;
  p.host_event_interval = cfg.host_event_interval;
  p.host_event_pages = cfg.host_event_pages;
  p.seed = cfg.seed;
  return p;
}

KsmMergeParams ksm_merge_params(const SimConfig& cfg) {
  KsmMergeParams p;
  p.events = host_event_workload_params(cfg);
  // write_fraction: not an option.
  return p;
}

SwapStormParams swap_storm_params(const SimConfig& cfg) {
  SwapStormParams p;
  p.events = host_event_workload_params(cfg);
  // write_fraction: not an option.
  return p;
}

IdleTrackingParams idle_tracking_params(const SimConfig& cfg) {
  IdleTrackingParams p;
  p.events = host_event_workload_params(cfg);
  // write_fraction: not an option.
  return p;
}

EbizzyParams ebizzy_params(const SimConfig& cfg) {
  EbizzyParams p;
  p.vcpus = cfg.vcpus;
  p.iterations = cfg.iterations;
  p.ebizzy_chunk = cfg.ebizzy_chunk;
  p.ebizzy_work = cfg.ebizzy_work;
  p.clock_ghz = cfg.clock_ghz;
  // slots: not an option.
  return p;
}

RootChurnParams root_churn_params(const SimConfig& cfg) {
  RootChurnParams p;
  p.paging = demand_paging_params(cfg);
  p.churn_rounds = cfg.churn_rounds;
  p.churn_interval = cfg.churn_interval;
  p.churn_unmaps = cfg.churn_unmaps;
  p.seed = cfg.seed;
  p.arch = cfg.arch;
  // unmap_bytes: not an option.
  return p;
}

LockedBootParams locked_boot_params(const SimConfig& cfg) {
  LockedBootParams p;
  p.vcpus = cfg.vcpus;
  p.mem_per_vcpu = cfg.mem_per_vcpu;
  p.image_size = cfg.image_size;
  p.lock_writable = cfg.lock_writable;
  p.relock_cycles = cfg.relock_cycles;
  return p;
}

GuestKernelParams guest_kernel_params(const SimConfig& cfg) {
  GuestKernelParams p;
  p.guest_fault_work = cfg.lat.guest_fault_work;
  p.guest_clear_page = cfg.lat.guest_clear_page;
  p.guest_lock_spin = cfg.lat.guest_lock_spin;
  // lock_spin_max_factor: not an option.
  return p;
}

TraceWorkloadParams trace_workload_params(const SimConfig& cfg) {
  TraceWorkloadParams p;
  p.trace = cfg.trace;
  p.vcpus = cfg.vcpus;
  p.guest_levels = cfg.guest_levels;
  p.page_size = cfg.page_size;
  p.arch = cfg.arch;
  p.kernel = guest_kernel_params(cfg);
  p.queue_bytes = cfg.trace_queue;
  // min_copy_shift: not an option.
  return p;
}

GuestProcessParams guest_process_params(const SimConfig& cfg) {
  GuestProcessParams p;
  p.churn_proc_bytes = cfg.churn_proc_bytes;
  p.churn_reuse_data = cfg.churn_reuse_data;
  p.seed = cfg.seed;
  // reuse_stores: not an option.
  return p;
}

GuestPtChurnParams guest_pt_churn_params(const SimConfig& cfg) {
  GuestPtChurnParams p;
  p.vcpus = cfg.vcpus;
  p.churn_procs = cfg.churn_procs;
  p.churn_proc_bytes = cfg.churn_proc_bytes;
  p.churn_steps = cfg.churn_steps;
  p.churn_writes = cfg.churn_writes;
  p.churn_accesses = cfg.churn_accesses;
  p.churn_switch = cfg.churn_switch;
  p.churn_unmap_single = cfg.churn_unmap_single;
  p.churn_invlpg_ceiling = cfg.churn_invlpg_ceiling;
  p.churn_fork = cfg.churn_fork;
  p.churn_exec = cfg.churn_exec;
  p.churn_guest_huge = cfg.churn_guest_huge;
  p.seed = cfg.seed;
  p.process = guest_process_params(cfg);
  return p;
}

std::unique_ptr<Workload> make_workload(const SimConfig& cfg) {
  switch (cfg.workload) {
    case WorkloadKind::DemandPaging:
      return std::make_unique<DemandPaging>(demand_paging_params(cfg));
    case WorkloadKind::KsmMerge: return std::make_unique<KsmMerge>(ksm_merge_params(cfg));
    case WorkloadKind::SwapStorm: return std::make_unique<SwapStorm>(swap_storm_params(cfg));
    case WorkloadKind::IdleTracking:
      return std::make_unique<IdleTracking>(idle_tracking_params(cfg));
    case WorkloadKind::Trace: return std::make_unique<TraceWorkload>(trace_workload_params(cfg));
    case WorkloadKind::RootChurn: return std::make_unique<RootChurn>(root_churn_params(cfg));
    case WorkloadKind::DirtyLog: return std::make_unique<DirtyLog>(dirty_log_params(cfg));
    case WorkloadKind::PageTableTest:
      return std::make_unique<PageTableTest>(page_table_test_params(cfg));
    case WorkloadKind::AccessTracking:
      return std::make_unique<AccessTracking>(access_tracking_params(cfg));
    case WorkloadKind::Ebizzy: return std::make_unique<Ebizzy>(ebizzy_params(cfg));
    case WorkloadKind::LockedBoot: return std::make_unique<LockedBoot>(locked_boot_params(cfg));
    case WorkloadKind::GuestPtChurn:
      return std::make_unique<GuestPtChurn>(guest_pt_churn_params(cfg));
  }
  throw ModelError("make_workload: a WorkloadKind without a workload");
}

}  // namespace mmusim
