#include "app/params_hardware.hpp"

#include "sim/core/kvm_timeline.hpp"

namespace mmusim {

MemorySystemParams memory_system_params(const SimConfig& cfg) {
  MemorySystemParams p;
  p.pcpus = cfg.physical_cpus();
  p.l1_size = cfg.l1_size;
  p.l1_ways = cfg.l1_ways;
  p.l2_size = cfg.l2_size;
  p.l2_ways = cfg.l2_ways;
  p.llc_size = cfg.llc_size;
  p.llc_ways = cfg.llc_ways;
  p.dram_channels = cfg.dram_channels;
  p.home_nodes = cfg.home_nodes;
  p.home_node_occupancy = cfg.lat.home_node_occupancy;
  p.fill_buffers = cfg.fill_buffers;
  p.l1_hit = cfg.lat.l1_hit;
  p.l2_hit = cfg.lat.l2_hit;
  p.llc_hit = cfg.lat.llc_hit;
  p.dram = cfg.lat.dram;
  p.dram_occupancy = cfg.lat.dram_occupancy;
  p.c2c_transfer = cfg.lat.c2c_transfer;
  p.c2c_remote = cfg.lat.c2c_remote;
  p.sockets = cfg.sockets;
  p.invalidate = cfg.lat.invalidate;
  p.atomic = cfg.lat.atomic;
  p.cmo_line_level = cfg.lat.cmo_line_level;
  return p;
}

WalkerParams walker_params(const SimConfig& cfg) {
  WalkerParams p;
  p.pwc_entries = cfg.pwc_entries;
  p.pwc_ways = cfg.pwc_ways;
  p.pwc = cfg.lat.pwc;
  p.pml = cfg.pml == PmlMode::On;
  return p;
}

VcpuParams vcpu_params(const SimConfig& cfg) {
  VcpuParams p;
  p.s2_forced_writeback = cfg.arch == Arch::Arm64 && cfg.arm64_fwb;
  p.tlb_l1 = cfg.lat.tlb_l1;
  p.tlb_l2 = cfg.lat.tlb_l2;
  p.vmexit = cfg.lat.vmexit;
  p.vmentry = cfg.lat.vmentry;
  p.ipi = cfg.lat.ipi;
  p.tlb_flush_local = cfg.lat.tlb_flush_local;
  p.request_check = cfg.lat.request_check;
  p.compute_per_access = cfg.lat.compute_per_access;
  p.guest_ipi_handler = cfg.lat.guest_ipi_handler;
  p.invlpg = cfg.lat.invlpg;
  p.timeslice = cfg.timeslice;
  p.ple_window = cfg.ple_window;
  p.directed_yield = cfg.directed_yield;
  p.pv_sched_yield = cfg.pv_sched_yield;
  return p;
}

HostMmParams host_mm_params(const SimConfig& cfg) {
  HostMmParams p;
  // --backing auto: guest RAM is backed by host pages of the stage-2 mapping size, THP for
  // 2M and hugetlbfs for 1G (no THP is 1G), which is what --page-size has always implied.
  switch (cfg.backing) {
    case HostBacking::Auto:
      p.backing_level = cfg.page_size >= (uint64_t(1) << 30) ? 3
                        : cfg.page_size >= (uint64_t(1) << 21) ? 2
                                                               : 1;
      p.hugetlb = p.backing_level == 3;
      break;
    case HostBacking::Small: p.backing_level = 1; break;
    case HostBacking::Thp: p.backing_level = 2; break;
    case HostBacking::Hugetlb2M: p.backing_level = 2, p.hugetlb = true; break;
    case HostBacking::Hugetlb1G: p.backing_level = 3, p.hugetlb = true; break;
  }
  p.host_page_fault = cfg.lat.host_page_fault;
  p.alloc.pcp_batch = cfg.host_pcp_batch;
  p.alloc.pcp_high = cfg.host_pcp_high;
  p.memcg.depth = cfg.memcg_depth;
  p.memcg.charge_batch = kvm_form(cfg.memcg_charge_batch, cfg.kvm_version,
                                  KvmChange::HostMemcgChargeBatch64, 32u, 64u);
  p.lru.batch = kvm_form(cfg.host_lru_batch, cfg.kvm_version, KvmChange::HostFolioBatch31, 15u,
                         31u);
  p.host_pte_update = cfg.lat.host_pte_update;
  p.host_page_copy = cfg.lat.host_page_copy;
  p.host_swap_io = cfg.lat.host_swap_io;
  return p;
}

PcpuTlbGeometry pcpu_tlb_geometry(const SimConfig& cfg) {
  PcpuTlbGeometry g;
  g.l1_entries = cfg.tlb_l1_entries;
  g.l1_ways = cfg.tlb_l1_ways;
  g.l1_2m_entries = cfg.tlb_l1_2m_entries;
  g.l1_2m_ways = cfg.tlb_l1_2m_ways;
  g.l1_1g_entries = cfg.tlb_l1_1g_entries;
  g.l2_entries = cfg.tlb_l2_entries;
  g.l2_ways = cfg.tlb_l2_ways;
  g.l2_1g_entries = cfg.tlb_l2_1g_entries;
  g.l2_1g_ways = cfg.tlb_l2_1g_ways;
  return g;
}

TlbTagParams tlb_tag_params(const SimConfig& cfg) {
  TlbTagParams p;
  p.arch = cfg.arch;
  p.pcpus = cfg.physical_cpus();
  p.vmid_bits = cfg.vmid_bits_narrow ? cfg.vmid_bits_narrow : vmid_width(cfg.vmid_bits);
  p.vpid = cfg.vpid == VpidMode::On;
  p.vmid_allocator = kvm_form(cfg.vmid_allocator, cfg.kvm_version,
                              KvmChange::Arm64VmidGenerational, VmidAllocator::Global,
                              VmidAllocator::Generational);
  p.mips_asid_bits = cfg.mips_asid_bits;
  p.mips_guestid_bits = cfg.mips_guestid_bits;
  // Whose context a tag belongs to (sim/hv/tlb_tags.hpp): trap and emulate's per-vCPU guest mm,
  // VZ's per-VM GPA mm (Root ASID Dealias), or VZ's per-vCPU GuestIDs.
  if (cfg.mips_virt.value_or(MipsVirt::Vz) == MipsVirt::Te)
    p.mips_scheme = MipsTagScheme::VcpuAsids;
  else
    p.mips_scheme = cfg.mips_guestid_bits ? MipsTagScheme::GuestIds : MipsTagScheme::VmRootAsid;
  p.skip_rollover_flush = cfg.skip_vmid_rollover_flush;
  // The counters appear where a tag space is shared: overcommitted pCPUs, or vCPUs without
  // VPIDs (the runs without either keep the statistics they always had).
  p.publish = cfg.physical_cpus() < cfg.total_vcpus() ||
              (cfg.arch == Arch::X86 && cfg.vpid == VpidMode::Off);
  return p;
}

HostSchedulerParams host_scheduler_params(const SimConfig& cfg) {
  HostSchedulerParams p;
  p.vcpus = cfg.total_vcpus();
  p.pcpus = cfg.physical_cpus();
  p.context_switch = cfg.lat.context_switch;
  return p;
}

RemoteFlushParams remote_flush_params(const SimConfig& cfg) {
  RemoteFlushParams p;
  p.flush = cfg.flush;
  p.arch = cfg.arch;
  p.env.ipi = cfg.lat.ipi;
  return p;
}

}  // namespace mmusim
