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

TEST(HardwareParams, DefaultsAreTheComponentsOwnDefaults) {
  const SimConfig cfg;
  EXPECT_EQ(walker_params(cfg).pwc_ways, WalkerParams{}.pwc_ways);
  EXPECT_EQ(pcpu_tlb_geometry(cfg).l2_1g_entries, PcpuTlbGeometry{}.l2_1g_entries);
  EXPECT_EQ(pcpu_tlb_geometry(cfg).l2_1g_ways, PcpuTlbGeometry{}.l2_1g_ways);
}

TEST(HardwareParams, OptionsReachTheirFields) {
  const SimConfig cfg = parsed({"--pwc-entries", "16", "--pwc-ways", "2", "--tlb-l2-1g-entries",
                                "32", "--tlb-l2-1g-ways", "8", "--lat-pwc", "3", "--l2-ways",
                                "20", "--l2-size", "2560K", "--timeslice", "5000"});
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
}

}  // namespace
}  // namespace mmusim
