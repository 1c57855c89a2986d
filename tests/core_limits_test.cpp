// Absurd values are refused up front, each with one message naming the option: a billion vCPUs,
// guest memory whose page tables the host could not hold (against --host-mem-limit, or the
// machine's RAM), caches with no room for a line, a quantum beyond SystemC time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/error.hpp"

using namespace mmusim;

namespace {

std::string error_of(const std::vector<std::string>& args) {
  std::vector<const char*> argv{"mmusim"};
  for (const auto& a : args) argv.push_back(a.c_str());
  SimConfig cfg;
  try {
    parse_config(static_cast<int>(argv.size()), argv.data(), cfg);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

TEST(Limits, BillionVcpusRefused) {
  const std::string e = error_of({"--vcpus", "1000000000"});
  EXPECT_TRUE(starts_with(e, "--vcpus: expected a whole number from 1 to 4096")) << e;
  EXPECT_TRUE(starts_with(error_of({"--vcpus", "1e9"}), "--vcpus: ")) << error_of({"--vcpus", "1e9"});
}

TEST(Limits, GuestMemoryBeyondTheLimitRefused) {
  // 64 vCPUs x 1G = 64G of 4K pages: 2 x (128M + 128M of tables) + 128M of host page tables
  // + 1G of struct pages + 200M, about 1.8G.
  const std::vector<std::string> run{"--vcpus", "64", "--mem-per-vcpu", "1G"};
  auto with_limit = [&](const char* limit) {
    std::vector<std::string> a = run;
    a.insert(a.end(), {"--host-mem-limit", limit});
    return error_of(a);
  };
  const std::string e = with_limit("512M");
  EXPECT_TRUE(starts_with(e, "--mem-per-vcpu: 64 vCPUs x 1G = 64G of guest memory needs about "))
      << e;
  EXPECT_NE(e.find("more than --host-mem-limit 512M"), std::string::npos) << e;
  EXPECT_EQ(with_limit("2G"), "");  // the same run fits a larger budget
  // 2M stage-2 pages need 512 times fewer stage-2 tables (the guest's own 4K tables still
  // count): about 459M, which fits 600M where the 4K run does not.
  const std::vector<std::string> huge{"--vcpus", "64", "--mem-per-vcpu", "1G",
                                      "--host-mem-limit", "600M"};
  EXPECT_TRUE(starts_with(error_of(huge), "--mem-per-vcpu: ")) << error_of(huge);
  std::vector<std::string> huge2m = huge;
  huge2m.insert(huge2m.end(), {"--page-size", "2M"});
  EXPECT_EQ(error_of(huge2m), "");
}

TEST(Limits, MachineRamIsTheDefaultLimit) {
  // 4096 vCPUs x 1T = 4P: 16T of page tables, more than any host this runs on.
  const std::string e = error_of({"--vcpus", "4096", "--mem-per-vcpu", "1T"});
  EXPECT_TRUE(starts_with(e, "--mem-per-vcpu: 4096 vCPUs x 1T = ")) << e;
  EXPECT_NE(e.find("this machine's RAM"), std::string::npos) << e;
  EXPECT_EQ(error_of({"--vcpus", "4", "--mem-per-vcpu", "64M"}), "");  // the default-sized run
}

TEST(Limits, ZeroSizeCachesRefused) {
  EXPECT_EQ(error_of({"--l1-size", "0"}),
            "--l1-size: 0 bytes cannot hold one 64-byte line in each of the 8 ways (--l1-ways)");
  EXPECT_TRUE(starts_with(error_of({"--llc-size", "0"}), "--llc-size: 0 bytes cannot hold"));
  EXPECT_TRUE(starts_with(error_of({"--l2-size", "512", "--l2-ways", "16"}), "--l2-size: 512 bytes"));
}

TEST(Limits, QuantumBeyondSystemcTimeRefused) {
  const std::string e = error_of({"--quantum", "18446744073709551615"});
  EXPECT_TRUE(starts_with(e, "--quantum: 18446744073709551615 cycles is more than")) << e;
  EXPECT_EQ(error_of({"--quantum", "1000000"}), "");
}

TEST(Limits, IniValuesNameFileAndLine) {
  char path[] = "/tmp/mmusim-limits-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "vcpus = 2\nl2-size = 0\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
  close(fd);
  const std::string e = error_of({"--config", path});
  unlink(path);
  EXPECT_EQ(e, std::string(path) + ":2: --l2-size: 0 bytes cannot hold one 64-byte line in each "
                                   "of the 16 ways (--l2-ways)");
}

TEST(Limits, ConfigFromADeviceRefusedNotReadForever) {
  // Found while fuzzing the config parser: getline on /dev/zero never returns.
  EXPECT_EQ(error_of({"--config", "/dev/zero"}),
            "--config: cannot read '/dev/zero': it is a device, not a file");
}

TEST(Limits, HugeConfigFileRefused) {
  char path[] = "/tmp/mmusim-limits-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string line = "# padding\n";
  for (int i = 0; i < (2 << 20) / int(line.size()); ++i)
    ASSERT_EQ(write(fd, line.data(), line.size()), ssize_t(line.size()));
  close(fd);
  const std::string e = error_of({"--config", path});
  unlink(path);
  EXPECT_EQ(e, "--config: '" + std::string(path) + "' is larger than 1M; is it a config file?");
}
