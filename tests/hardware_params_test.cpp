// The hardware Params builders (app/params_hardware.cpp) carry each option into the field of
// the component that reads it, including the sizes that were constants of the model before
// they became options (--pwc-ways, --tlb-l2-1g-entries/-ways).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/params_hardware.hpp"
#include "sim/core/config.hpp"

namespace mmusim {
namespace {

SimConfig parsed(std::vector<std::string> args) {
  std::vector<const char*> argv{"mmusim"};
  for (const auto& a : args) argv.push_back(a.c_str());
  SimConfig cfg;
  EXPECT_TRUE(parse_config(static_cast<int>(argv.size()), argv.data(), cfg));
  return cfg;
}

// Every default a hardware or host component reads is written twice, in SimConfig and in the
// component's own Params (docs/CALIBRATION.md cites one figure for both): the builders must
// hand each component its own default.
TEST(HardwareParams, DefaultsAreTheComponentsOwnDefaults) {
  const SimConfig cfg;
  const WalkerParams walker = walker_params(cfg), walker_own;
  EXPECT_EQ(walker.pwc_ways, walker_own.pwc_ways);
  EXPECT_EQ(walker.pwc, walker_own.pwc);
  EXPECT_EQ(pcpu_tlb_geometry(cfg).l2_1g_entries, PcpuTlbGeometry{}.l2_1g_entries);
  EXPECT_EQ(pcpu_tlb_geometry(cfg).l2_1g_ways, PcpuTlbGeometry{}.l2_1g_ways);
  // The memory system's every field but the CPU count, which follows --vcpus / --pcpus.
  const MemorySystemParams m = memory_system_params(cfg), own;
  EXPECT_EQ(m.l1_size, own.l1_size);
  EXPECT_EQ(m.l1_ways, own.l1_ways);
  EXPECT_EQ(m.l2_size, own.l2_size);
  EXPECT_EQ(m.l2_ways, own.l2_ways);
  EXPECT_EQ(m.llc_size, own.llc_size);
  EXPECT_EQ(m.llc_ways, own.llc_ways);
  EXPECT_EQ(m.dram_channels, own.dram_channels);
  EXPECT_EQ(m.fill_buffers, own.fill_buffers);
  EXPECT_EQ(m.l1_hit, own.l1_hit);
  EXPECT_EQ(m.l2_hit, own.l2_hit);
  EXPECT_EQ(m.llc_hit, own.llc_hit);
  EXPECT_EQ(m.dram, own.dram);
  EXPECT_EQ(m.dram_occupancy, own.dram_occupancy);
  EXPECT_EQ(m.c2c_transfer, own.c2c_transfer);
  EXPECT_EQ(m.c2c_remote, own.c2c_remote);
  EXPECT_EQ(m.sockets, own.sockets);
  EXPECT_EQ(m.invalidate, own.invalidate);
  EXPECT_EQ(m.atomic, own.atomic);
  EXPECT_EQ(m.cmo_line_level, own.cmo_line_level);
  EXPECT_EQ(m.home_nodes, own.home_nodes);
  EXPECT_EQ(m.home_node_occupancy, own.home_node_occupancy);
  const VcpuParams vcpu = vcpu_params(cfg), vcpu_own;
  EXPECT_EQ(vcpu.tlb_l1, vcpu_own.tlb_l1);
  EXPECT_EQ(vcpu.tlb_l2, vcpu_own.tlb_l2);
  EXPECT_EQ(vcpu.vmexit, vcpu_own.vmexit);
  EXPECT_EQ(vcpu.vmentry, vcpu_own.vmentry);
  EXPECT_EQ(vcpu.ipi, vcpu_own.ipi);
  EXPECT_EQ(vcpu.tlb_flush_local, vcpu_own.tlb_flush_local);
  EXPECT_EQ(vcpu.request_check, vcpu_own.request_check);
  EXPECT_EQ(vcpu.compute_per_access, vcpu_own.compute_per_access);
  EXPECT_EQ(vcpu.guest_ipi_handler, vcpu_own.guest_ipi_handler);
  EXPECT_EQ(vcpu.invlpg, vcpu_own.invlpg);
  EXPECT_EQ(vcpu.timeslice, vcpu_own.timeslice);
  EXPECT_EQ(vcpu.ple_window, vcpu_own.ple_window);
  const HostMmParams host_mm = host_mm_params(cfg), host_mm_own;
  EXPECT_EQ(host_mm.host_page_fault, host_mm_own.host_page_fault);
  EXPECT_EQ(host_mm.host_pte_update, host_mm_own.host_pte_update);
  EXPECT_EQ(host_mm.host_page_copy, host_mm_own.host_page_copy);
  EXPECT_EQ(host_mm.host_swap_io, host_mm_own.host_swap_io);
  const HostSchedulerParams host_scheduler = host_scheduler_params(cfg), host_scheduler_own;
  EXPECT_EQ(host_scheduler.context_switch, host_scheduler_own.context_switch);
  EXPECT_EQ(remote_flush_params(cfg).env.ipi, FlushEnvParams{}.ipi);
}

TEST(HardwareParams, OptionsReachTheirFields) {
  const SimConfig cfg = parsed({"--pwc-entries", "16", "--pwc-ways", "2", "--tlb-l2-1g-entries",
                                "32", "--tlb-l2-1g-ways", "8", "--lat-pwc", "3", "--l2-ways",
                                "20", "--l2-size", "2560K", "--timeslice", "5000", "--sockets",
                                "3", "--lat-c2c-remote", "400"});
  const WalkerParams w = walker_params(cfg);
  EXPECT_EQ(w.pwc_entries, 16u);
  EXPECT_EQ(w.pwc_ways, 2u);
  EXPECT_EQ(w.pwc, 3u);
  const PcpuTlbGeometry g = pcpu_tlb_geometry(cfg);
  EXPECT_EQ(g.l2_1g_entries, 32u);
  EXPECT_EQ(g.l2_1g_ways, 8u);
  EXPECT_EQ(vcpu_params(cfg).timeslice, 5000u);
  const MemorySystemParams m = memory_system_params(cfg);
  EXPECT_EQ(m.l2_ways, 20u);
  EXPECT_EQ(m.l2_size, 2560ull << 10);
  EXPECT_EQ(m.sockets, 3u);
  EXPECT_EQ(m.c2c_remote, 400u);
}

// MEMCG_CHARGE_BATCH is on the release timeline (sim/core/kvm_timeline.cpp): 32 before 6.1, 64
// from it; the option forces either in any release.
TEST(HardwareParams, MemcgChargeBatchFollowsTheReleaseUnlessGiven) {
  EXPECT_EQ(host_mm_params(parsed({"--kvm-version", "6.0"})).memcg.charge_batch, 32u);
  EXPECT_EQ(host_mm_params(parsed({"--kvm-version", "6.1"})).memcg.charge_batch, 64u);
  EXPECT_EQ(host_mm_params(parsed({})).memcg.charge_batch, 64u);  // the newest release
  EXPECT_EQ(host_mm_params(parsed({"--kvm-version", "5.12", "--memcg-charge-batch", "64"}))
                .memcg.charge_batch,
            64u);
  EXPECT_EQ(host_mm_params(parsed({"--memcg-charge-batch", "32"})).memcg.charge_batch, 32u);
  EXPECT_EQ(host_mm_params(parsed({"--memcg-charge-batch", "auto", "--kvm-version", "5.11"}))
                .memcg.charge_batch,
            32u);
}

// PAGEVEC_SIZE is on the release timeline too: 15 before 6.9, 31 from it; 0 keeps no lists.
TEST(HardwareParams, HostLruBatchFollowsTheReleaseUnlessGiven) {
  EXPECT_EQ(host_mm_params(parsed({"--kvm-version", "6.8"})).lru.batch, 15u);
  EXPECT_EQ(host_mm_params(parsed({"--kvm-version", "6.9"})).lru.batch, 31u);
  EXPECT_EQ(host_mm_params(parsed({})).lru.batch, 31u);  // the newest release
  EXPECT_EQ(host_mm_params(parsed({"--kvm-version", "5.12", "--host-lru-batch", "0"})).lru.batch,
            0u);
  EXPECT_EQ(host_mm_params(parsed({"--host-lru-batch", "15"})).lru.batch, 15u);
}

}  // namespace
}  // namespace mmusim
