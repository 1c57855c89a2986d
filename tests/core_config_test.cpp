// parse_config / parse_size: defaults, every option reaching its field, INI files and their
// precedence, and one clear UsageError per kind of bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/error.hpp"

namespace mmusim {
namespace {

bool run(const std::vector<std::string>& args, SimConfig& cfg) {
  std::vector<const char*> argv{"mmusim"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_config(static_cast<int>(argv.size()), argv.data(), cfg);
}

SimConfig parse(const std::vector<std::string>& args) {
  SimConfig cfg;
  EXPECT_TRUE(run(args, cfg));
  return cfg;
}

// The UsageError message, or a test failure when parsing succeeds.
std::string error_of(const std::vector<std::string>& args) {
  SimConfig cfg;
  try {
    run(args, cfg);
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError for " << ::testing::PrintToString(args);
  return "";
}

// A scratch directory per test, removed with its files afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "mmusim_cfg_XXXXXX";
    const char* made = mkdtemp(tmpl.data());
    if (!made) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ConfigTest, NoArgumentsGivesDocumentedDefaults) {
  const SimConfig c = parse({});
  EXPECT_EQ(c.arch, Arch::X86);
  EXPECT_EQ(c.vcpus, 4u);
  EXPECT_EQ(c.pcpus, 0u);
  EXPECT_EQ(c.physical_cpus(), 4u);
  EXPECT_DOUBLE_EQ(c.clock_ghz, 2.6);
  EXPECT_EQ(c.quantum, 1000u);
  EXPECT_EQ(c.mem_per_vcpu, 64ull << 20);
  EXPECT_EQ(c.page_size, 4096u);
  EXPECT_FALSE(c.mmu_lock.has_value());  // auto: as --kvm-version says
  EXPECT_EQ(c.kvm_version, kNewestKvmRelease);
  EXPECT_EQ(c.pattern, AccessPattern::Seq);
  EXPECT_EQ(c.lat.dram, 164u);
  EXPECT_EQ(c.lat.host_page_fault, 1724u);
  EXPECT_TRUE(c.check);
  EXPECT_FALSE(c.quiet);
  EXPECT_TRUE(c.stats_json.empty());
}

TEST(ConfigTest, EveryOptionReachesItsField) {
  TempDir dir;
  const std::string stats = dir.path() + "/s.json", trace = dir.path() + "/t.json";
  const SimConfig c = parse({"--arch",
                             "x86",
                             "--vcpus",
                             "16",
                             "--pcpus",
                             "32",
                             "--clock-ghz",
                             "2.5",
                             "--quantum",
                             "77",
                             "--seed",
                             "18446744073709551615",
                             "--workload",
                             "demand-paging",
                             "--mem-per-vcpu",
                             "1G",
                             "--overlap",
                             "0.25",
                             "--pattern",
                             "random",
                             "--passes",
                             "3",
                             "--page-size",
                             "2M",
                             "--mmu-lock",
                             "exclusive",
                             "--guest-levels",
                             "5",
                             "--ept-levels",
                             "5",
                             "--tlb-l1-entries",
                             "128",
                             "--tlb-l1-ways",
                             "8",
                             "--tlb-l1-2m-entries",
                             "16",
                             "--tlb-l1-2m-ways",
                             "2",
                             "--tlb-l1-1g-entries",
                             "8",
                             "--tlb-l2-entries",
                             "2048",
                             "--tlb-l2-ways",
                             "16",
                             "--tlb-l2-1g-entries",
                             "32",
                             "--tlb-l2-1g-ways",
                             "8",
                             "--pwc-entries",
                             "0",
                             "--pwc-ways",
                             "2",
                             "--l1-size",
                             "32K",
                             "--l1-ways",
                             "8",
                             "--l2-size",
                             "2M",
                             "--l2-ways",
                             "16",
                             "--llc-size",
                             "16M",
                             "--llc-ways",
                             "8",
                             "--dram-channels",
                             "3",
                             "--sockets",
                             "4",
                             "--stats-json",
                             stats,
                             "--timeline=" + trace,
                             "--check",
                             "off",
                             "--quiet"});
  EXPECT_EQ(c.vcpus, 16u);
  EXPECT_EQ(c.pcpus, 32u);
  EXPECT_DOUBLE_EQ(c.clock_ghz, 2.5);
  EXPECT_EQ(c.quantum, 77u);
  EXPECT_EQ(c.seed, 18446744073709551615ull);
  EXPECT_EQ(c.mem_per_vcpu, 1ull << 30);
  EXPECT_DOUBLE_EQ(c.overlap, 0.25);
  EXPECT_EQ(c.pattern, AccessPattern::Random);
  EXPECT_EQ(c.passes, 3u);
  EXPECT_EQ(c.page_size, 2ull << 20);
  EXPECT_EQ(c.mmu_lock, MmuLockMode::Exclusive);
  EXPECT_EQ(c.guest_levels, 5u);
  EXPECT_EQ(c.ept_levels, 5u);
  EXPECT_EQ(c.tlb_l1_entries, 128u);
  EXPECT_EQ(c.tlb_l1_ways, 8u);
  EXPECT_EQ(c.tlb_l1_2m_entries, 16u);
  EXPECT_EQ(c.tlb_l1_2m_ways, 2u);
  EXPECT_EQ(c.tlb_l1_1g_entries, 8u);
  EXPECT_EQ(c.tlb_l2_entries, 2048u);
  EXPECT_EQ(c.tlb_l2_ways, 16u);
  EXPECT_EQ(c.tlb_l2_1g_entries, 32u);
  EXPECT_EQ(c.tlb_l2_1g_ways, 8u);
  EXPECT_EQ(c.pwc_entries, 0u);
  EXPECT_EQ(c.pwc_ways, 2u);
  EXPECT_EQ(c.l1_size, 32ull << 10);
  EXPECT_EQ(c.l1_ways, 8u);
  EXPECT_EQ(c.l2_size, 2ull << 20);
  EXPECT_EQ(c.l2_ways, 16u);
  EXPECT_EQ(c.llc_size, 16ull << 20);
  EXPECT_EQ(c.llc_ways, 8u);
  EXPECT_EQ(c.dram_channels, 3u);
  EXPECT_EQ(c.sockets, 4u);
  EXPECT_EQ(c.stats_json, stats);
  EXPECT_EQ(c.timeline, trace);
  EXPECT_FALSE(c.check);
  EXPECT_TRUE(c.quiet);
}

TEST(ConfigTest, EveryLatencyHasItsOption) {
  struct Case {
    const char* option;
    Cycles Latencies::*field;
  };
  const Case cases[] = {
      {"tlb-l1", &Latencies::tlb_l1},
      {"tlb-l2", &Latencies::tlb_l2},
      {"pwc", &Latencies::pwc},
      {"l1-hit", &Latencies::l1_hit},
      {"l2-hit", &Latencies::l2_hit},
      {"llc-hit", &Latencies::llc_hit},
      {"dram", &Latencies::dram},
      {"dram-occupancy", &Latencies::dram_occupancy},
      {"c2c-transfer", &Latencies::c2c_transfer},
      {"c2c-remote", &Latencies::c2c_remote},
      {"invalidate", &Latencies::invalidate},
      {"atomic", &Latencies::atomic},
      {"vmexit", &Latencies::vmexit},
      {"vmentry", &Latencies::vmentry},
      {"ipi", &Latencies::ipi},
      {"fault-entry", &Latencies::fault_entry},
      {"host-page-fault", &Latencies::host_page_fault},
      {"page-alloc", &Latencies::page_alloc},
      {"tdp-map-work", &Latencies::tdp_map_work},
      {"spte-change-work", &Latencies::spte_change_work},
      {"tlb-flush-local", &Latencies::tlb_flush_local},
      {"cond-resched", &Latencies::cond_resched},
      {"request-check", &Latencies::request_check},
      {"compute-per-access", &Latencies::compute_per_access},
      {"tlbi-op", &Latencies::tlbi_op},
      {"tlbi-dsb", &Latencies::tlbi_dsb},
      {"cmo-line-level", &Latencies::cmo_line_level},
      {"s2-map-work", &Latencies::s2_map_work},
      {"guest-fault-work", &Latencies::guest_fault_work},
      {"guest-clear-page", &Latencies::guest_clear_page},
      {"guest-lock-spin", &Latencies::guest_lock_spin},
      {"mips-tlb-exception", &Latencies::mips_tlb_exception},
      {"mips-refill-work", &Latencies::mips_refill_work},
      {"mips-asid-bump", &Latencies::mips_asid_bump},
      {"mips-map-work", &Latencies::mips_map_work},
      {"host-pte-update", &Latencies::host_pte_update},
      {"host-page-copy", &Latencies::host_page_copy},
      {"host-swap-io", &Latencies::host_swap_io},
      {"context-switch", &Latencies::context_switch},
      {"guest-ipi-handler", &Latencies::guest_ipi_handler},
      {"invlpg", &Latencies::invlpg},
      {"shadow-fault-work", &Latencies::shadow_fault_work},
      {"shadow-sync-work", &Latencies::shadow_sync_work},
      {"shadow-emulate", &Latencies::shadow_emulate},
      {"home-node-occupancy", &Latencies::home_node_occupancy},
  };
  static_assert(sizeof(Latencies) == sizeof(cases) / sizeof(cases[0]) * sizeof(Cycles),
                "a Latencies field was added: give it a case here");
  for (const Case& k : cases) {
    const SimConfig c = parse({std::string("--lat-") + k.option, "12345"});
    EXPECT_EQ(c.lat.*k.field, 12345u) << k.option;
  }
  EXPECT_NE(error_of({"--lat-dram", "-5"}).find("--lat-dram: expected a whole number"),
            std::string::npos);
}

TEST(ConfigTest, ParseSizeAcceptsBinaryUnits) {
  EXPECT_EQ(parse_size("4096", "x"), 4096u);
  EXPECT_EQ(parse_size("4K", "x"), 4096u);
  EXPECT_EQ(parse_size("4k", "x"), 4096u);
  EXPECT_EQ(parse_size("64M", "x"), 64ull << 20);
  EXPECT_EQ(parse_size("1G", "x"), 1ull << 30);
  EXPECT_EQ(parse_size("2T", "x"), 2ull << 40);
  EXPECT_EQ(parse_size("64MiB", "x"), 64ull << 20);
  EXPECT_EQ(parse_size("64mib", "x"), 64ull << 20);
  EXPECT_EQ(parse_size("64MB", "x"), 64ull << 20);
  EXPECT_EQ(parse_size("512B", "x"), 512u);
  EXPECT_EQ(parse_size("16777215T", "x"), 16777215ull << 40);
}

TEST(ConfigTest, ParseSizeRejectsNonsenseNamingTheOption) {
  for (const char* bad : {"", "abc", "-1", "4X", "1.5G", "4KiBB", "K", " 4K", "4 K", "64iB",
                          "99999999999999999999", "16777216T"}) {
    try {
      parse_size(bad, "--mem-per-vcpu");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--mem-per-vcpu: ", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos);
    }
  }
  // The option may be named with or without its dashes.
  EXPECT_EQ(error_of({"--l2-size", "big"}).rfind("--l2-size: expected a size", 0), 0u);
}

TEST(ConfigTest, PageSizeIsOneOfThreeMappingSizes) {
  EXPECT_EQ(parse({"--page-size", "4K"}).page_size, 4096u);
  EXPECT_EQ(parse({"--page-size", "2m", "--mem-per-vcpu", "64M"}).page_size, 2ull << 20);
  EXPECT_EQ(parse({"--page-size", "1G", "--mem-per-vcpu", "2G"}).page_size, 1ull << 30);
  EXPECT_EQ(error_of({"--page-size", "3M"}), "--page-size: expected 4K, 2M or 1G, got '3M'");
  EXPECT_EQ(error_of({"--page-size", "8K"}), "--page-size: expected 4K, 2M or 1G, got '8K'");
  EXPECT_EQ(error_of({"--page-size", "huge"}), "--page-size: expected 4K, 2M or 1G, got 'huge'");
}

TEST(ConfigTest, ExactMessagesFromTheBrief) {
  EXPECT_EQ(error_of({"--vcpus", "abc"}),
            "--vcpus: expected a whole number from 1 to 4096, got 'abc'");
  EXPECT_EQ(error_of({"--overlap", "1.5"}),
            "--overlap: expected a fraction from 0 to 1, got '1.5'");
  EXPECT_EQ(error_of({"--frobnicate"}).rfind("unknown option '--frobnicate'", 0), 0u);
  // Overcommit is modelled (sim/hv/host_scheduler): fewer pCPUs than vCPUs is accepted.
  EXPECT_EQ(parse({"--pcpus", "2", "--vcpus", "4"}).physical_cpus(), 2u);
  EXPECT_EQ(error_of({"--ebizzy-chunk", "6K"}),
            "--ebizzy-chunk: 6K is not a non-zero multiple of 4K");
}

// Each bad input names its option at the start of the one-line message.
TEST(ConfigTest, EveryValidationNamesItsOption) {
  struct Case {
    std::vector<std::string> args;
    const char* prefix;
  };
  const std::vector<Case> cases = {
      {{"--vcpus", "0"}, "--vcpus: "},
      {{"--vcpus", "4097"}, "--vcpus: "},
      {{"--vcpus", "-1"}, "--vcpus: "},
      {{"--vcpus=-1"}, "--vcpus: "},
      {{"--vcpus", "+4"}, "--vcpus: "},
      {{"--vcpus", "4.0"}, "--vcpus: "},
      {{"--vcpus", ""}, "--vcpus: "},
      {{"--pcpus", "-1"}, "--pcpus: "},
      {{"--pcpus", "4097"}, "--pcpus: "},
      {{"--clock-ghz", "0.05"}, "--clock-ghz: "},
      {{"--clock-ghz", "11"}, "--clock-ghz: "},
      {{"--clock-ghz", "nan"}, "--clock-ghz: "},
      {{"--clock-ghz", "2GHz"}, "--clock-ghz: "},
      {{"--quantum", "0"}, "--quantum: "},
      {{"--seed", "18446744073709551616"}, "--seed: "},
      {{"--seed", "-3"}, "--seed: "},
      {{"--mem-per-vcpu", "6K"}, "--mem-per-vcpu: "},
      {{"--mem-per-vcpu", "0"}, "--mem-per-vcpu: "},
      {{"--mem-per-vcpu", "2T"}, "--mem-per-vcpu: "},
      {{"--mem-per-vcpu", "4M", "--page-size", "1G"}, "--mem-per-vcpu: "},
      {{"--mem-per-vcpu", "3M", "--page-size", "2M"}, "--mem-per-vcpu: "},
      {{"--overlap", "-0.1"}, "--overlap: "},
      {{"--pattern", "zigzag"}, "--pattern: "},
      {{"--passes", "0"}, "--passes: "},
      {{"--mmu-lock", "rw"}, "--mmu-lock: "},
      {{"--guest-levels", "3"}, "--guest-levels: "},
      {{"--ept-levels", "6"}, "--ept-levels: "},
      {{"--tlb-l1-entries", "60"}, "--tlb-l1-entries: "},
      {{"--tlb-l1-entries", "62"}, "--tlb-l1-entries: "},
      {{"--tlb-l1-entries", "0"}, "--tlb-l1-entries: "},
      {{"--tlb-l1-ways", "0"}, "--tlb-l1-ways: "},
      {{"--tlb-l1-2m-entries", "24"}, "--tlb-l1-2m-entries: "},
      {{"--tlb-l1-1g-entries", "0"}, "--tlb-l1-1g-entries: "},
      {{"--tlb-l2-entries", "1000"}, "--tlb-l2-entries: "},
      {{"--tlb-l2-ways", "7"}, "--tlb-l2-entries: "},
      {{"--pwc-entries", "-1"}, "--pwc-entries: "},
      {{"--pwc-ways", "0"}, "--pwc-ways: "},
      {{"--pwc-ways", "3"}, "--pwc-entries: "},
      {{"--tlb-l2-1g-ways", "3"}, "--tlb-l2-1g-entries: "},
      {{"--l1-size", "40K"}, "--l1-size: "},
      {{"--l1-size", "32"}, "--l1-size: "},
      {{"--l1-ways", "0"}, "--l1-ways: "},
      {{"--l2-ways", "3"}, "--l2-size: "},
      {{"--llc-size", "30M"}, "--llc-size: "},
      {{"--dram-channels", "0"}, "--dram-channels: "},
      {{"--sockets", "0"}, "--sockets: "},
      {{"--check", "maybe"}, "--check: "},
      {{"--quiet=perhaps"}, "--quiet: "},
      {{"--stats-json", "/nonexistent-dir/s.json"}, "--stats-json: "},
      {{"--timeline", ""}, "--timeline: "},
      {{"--vcpus"}, "--vcpus: "},
      {{"--vcpus", "2", "--vcpus", "3"}, "--vcpus: "},
      {{"--help=yes"}, "--help: "},
      {{"--lat-dram", "1e3"}, "--lat-dram: "},
      {{"--config", "/nonexistent-dir/x.ini"}, "--config: "},
  };
  for (const Case& k : cases) {
    const std::string msg = error_of(k.args);
    EXPECT_EQ(msg.rfind(k.prefix, 0), 0u) << ::testing::PrintToString(k.args) << " -> " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(ConfigTest, MessagesSayWhatIsAllowed) {
  EXPECT_EQ(error_of({"--guest-levels", "3"}), "--guest-levels: expected 4 or 5, got '3'");
  EXPECT_EQ(error_of({"--pattern", "zigzag"}), "--pattern: expected seq or random, got 'zigzag'");
  EXPECT_NE(error_of({"--tlb-l1-entries", "60"}).find("power of two"), std::string::npos);
  EXPECT_NE(error_of({"--mem-per-vcpu", "6K"}).find("multiple of --page-size 4K"),
            std::string::npos);
  EXPECT_NE(error_of({"--vcpu", "3"}).find("did you mean '--vcpus'"), std::string::npos);
}

TEST(ConfigTest, NoPrefixGuessingAndNoPositionals) {
  EXPECT_EQ(error_of({"--vcp", "2"}).rfind("unknown option '--vcp'", 0), 0u);
  EXPECT_EQ(error_of({"extra"}).rfind("unexpected argument 'extra'", 0), 0u);
  EXPECT_EQ(error_of({"--vcpus", "2", "3"}).rfind("unexpected argument '3'", 0), 0u);
}

TEST(ConfigTest, FailedParseLeavesOutputUntouched) {
  SimConfig c;
  c.vcpus = 99;
  EXPECT_THROW(run({"--vcpus", "8", "--passes", "0"}, c), UsageError);
  EXPECT_EQ(c.vcpus, 99u);
}

TEST(ConfigTest, HelpListsEveryOptionWithDefaultAndReturnsFalse) {
  SimConfig c;
  c.vcpus = 99;
  ::testing::internal::CaptureStdout();
  const bool go_on = run({"--help"}, c);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(go_on);
  EXPECT_EQ(c.vcpus, 99u);
  for (const char* line :
       {"--vcpus N", "--mem-per-vcpu SIZE", "--page-size 4K|2M|1G", "--lat-host-page-fault CYCLES",
        "--lat-compute-per-access CYCLES", "--stats-json FILE", "--timeline FILE", "--check on|off",
        "--quiet", "--config FILE", "--help", "--tlb-l1-1g-entries N", "--dram-channels N",
        "--mmu-lock auto|exclusive|shared", "--guest-levels 4|5", "--seed N"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line;
  }
  // Each option appears once (a duplicate registration would make Boost call it ambiguous).
  std::istringstream lines(out);
  std::set<std::string> seen;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  --", 0) != 0) continue;
    const std::string name = line.substr(2, line.find(' ', 2) - 2);
    EXPECT_TRUE(seen.insert(name).second) << "listed twice: " << name;
  }
  EXPECT_GE(seen.size(), 59u);
  EXPECT_NE(out.find("(default: 1724)"), std::string::npos);
  EXPECT_NE(out.find("(default: 64M)"), std::string::npos);
  EXPECT_NE(out.find("(default: auto)"), std::string::npos);
  ::testing::internal::CaptureStdout();
  EXPECT_FALSE(run({"-h"}, c));
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), out);
}

TEST(ConfigTest, IniFileSetsValuesAndCommandLineWins) {
  TempDir dir;
  const std::string ini = dir.write("run.ini",
                                    "# a comment\n"
                                    "; another\n"
                                    "\n"
                                    "vcpus = 8\n"
                                    "mmu-lock = exclusive   # trailing comment\n"
                                    "lat-dram=200\n"
                                    "mem_per_vcpu = 128MiB\n"
                                    "quiet = on\n");
  const SimConfig c = parse({"--config", ini, "--vcpus", "2"});
  EXPECT_EQ(c.vcpus, 2u);
  EXPECT_EQ(c.mmu_lock, MmuLockMode::Exclusive);
  EXPECT_EQ(c.lat.dram, 200u);
  EXPECT_EQ(c.mem_per_vcpu, 128ull << 20);
  EXPECT_TRUE(c.quiet);
  // Order on the command line does not matter: the command line always wins.
  EXPECT_EQ(parse({"--vcpus", "3", "--config", ini}).vcpus, 3u);
  EXPECT_EQ(parse({"--config", ini}).vcpus, 8u);
}

TEST(ConfigTest, IniErrorsNameFileAndLine) {
  TempDir dir;
  const std::string unknown = dir.write("u.ini", "vcpus = 2\nfrobnicate = 1\n");
  std::string msg = error_of({"--config", unknown});
  EXPECT_EQ(msg.rfind(unknown + ":2: unknown key 'frobnicate'", 0), 0u) << msg;

  const std::string bad = dir.write("b.ini", "\n\nvcpus = many\n");
  msg = error_of({"--config", bad});
  EXPECT_EQ(msg, bad + ":3: --vcpus: expected a whole number from 1 to 4096, got 'many'");

  // A bad file value is reported even if it is an impossible combination found later.
  const std::string combo = dir.write("c.ini", "mem-per-vcpu = 6K\n");
  msg = error_of({"--config", combo});
  EXPECT_EQ(msg.rfind(combo + ":1: --mem-per-vcpu: ", 0), 0u) << msg;

  const std::string dup = dir.write("d.ini", "vcpus = 2\nvcpus = 3\n");
  EXPECT_NE(error_of({"--config", dup}).find(":2: 'vcpus' is already set on line 1"),
            std::string::npos);
  const std::string section = dir.write("s.ini", "[mmu]\nvcpus = 2\n");
  EXPECT_NE(error_of({"--config", section}).find(section + ":1: sections"), std::string::npos);
  const std::string noeq = dir.write("n.ini", "vcpus 2\n");
  EXPECT_NE(error_of({"--config", noeq}).find(noeq + ":1: expected 'key = value'"),
            std::string::npos);
  const std::string nested = dir.write("r.ini", "config = other.ini\n");
  EXPECT_NE(error_of({"--config", nested}).find(nested + ":1: 'config'"), std::string::npos);

  const std::string missing = dir.path() + "/missing.ini";
  msg = error_of({"--config", missing});
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  EXPECT_NE(error_of({"--config", dir.path()}).find("directory"), std::string::npos);
}

}  // namespace
}  // namespace mmusim
