// Several Platforms in one process: each has its own kernel layer and SystemC context
// (sim/sync/sim_kernel.hpp), so simulations of different configurations built and run one after
// another here give, byte for byte, the stats each gives run alone in a process of its own.
// Nothing of one run (clock, horizon, parked agents, interned names, lockdep's note) reaches
// the next.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "app/platform.hpp"
#include "sim/core/config.hpp"

namespace mmusim {
namespace {

using Args = std::vector<std::string>;

// Configurations of tests/golden/configs.txt: every arch, both x86 MMUs, host threads, an
// overcommitted host scheduler, and a different clock and quantum.
const std::vector<Args> kConfigs = {
    {"--arch", "x86", "--workload", "demand-paging", "--vcpus", "4", "--mem-per-vcpu", "2M",
     "--mmu-lock", "shared"},
    {"--arch", "arm64", "--workload", "locked-boot", "--vcpus", "2", "--cmo-policy", "eager"},
    {"--arch", "mips", "--workload", "swap-storm", "--vcpus", "2", "--mem-per-vcpu", "1M",
     "--host-events", "6"},
    {"--arch", "x86", "--x86-mmu", "shadow", "--workload", "guest-pt-churn", "--vcpus", "2",
     "--churn-steps", "40", "--unsync-walk", "rewalk"},
    {"--arch", "x86", "--workload", "ebizzy", "--vcpus", "4", "--pcpus", "2", "--timeslice",
     "200000", "--iterations", "4", "--flush", "pv", "--clock-ghz", "2.5", "--quantum", "300"},
};

std::string stats_in_this_process(const Args& args) {
  std::vector<const char*> argv = {"mmusim"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  SimConfig cfg;
  EXPECT_TRUE(parse_config(int(argv.size()), argv.data(), cfg));
  Platform p(cfg);
  p.run();
  std::ostringstream out;
  p.stats.write_json(out);
  return out.str();
}

// The stats of `args` run alone: in a child forked before this process ran any simulation.
std::string stats_alone(const Args& args) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::string s = stats_in_this_process(args);
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = write(fds[1], s.data() + off, s.size() - off);
      if (n <= 0) _exit(1);
      off += size_t(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child exited " << status;
  return out;
}

TEST(PlatformSequence, EachRunGivesTheStatsOfTheSameConfigurationRunAlone) {
  std::vector<std::string> alone;
  for (const Args& a : kConfigs) {
    alone.push_back(stats_alone(a));
    ASSERT_NE(alone.back().find("\"sim.cycles\""), std::string::npos) << alone.back();
  }
  sc_core::sc_simcontext* const before = sc_core::sc_curr_simcontext;
  std::vector<std::string> first;
  for (size_t i = 0; i < kConfigs.size(); ++i) {
    first.push_back(stats_in_this_process(kConfigs[i]));
    EXPECT_EQ(sc_core::sc_curr_simcontext, before) << "the Platform left its context installed";
    EXPECT_EQ(first[i], alone[i]) << "configuration " << i;
  }
  // And again, now after every other: the same again.
  for (size_t i = 0; i < kConfigs.size(); ++i)
    EXPECT_EQ(stats_in_this_process(kConfigs[i]), first[i]) << "configuration " << i;
}

// Two Platforms alive at once, built one after the other, each run after both exist: the
// second's context is current while it is built and runs; the first runs once the second is
// gone and its own context is back.
TEST(PlatformSequence, APlatformBuiltInsideAnotherRunsAfterItIsGone) {
  const std::string reference = stats_in_this_process(kConfigs[0]);
  SimConfig cfg;
  std::vector<const char*> argv = {"mmusim"};
  for (const std::string& a : kConfigs[0]) argv.push_back(a.c_str());
  ASSERT_TRUE(parse_config(int(argv.size()), argv.data(), cfg));
  Platform outer(cfg);
  {
    Platform inner(cfg);
    inner.run();
    std::ostringstream out;
    inner.stats.write_json(out);
    EXPECT_EQ(out.str(), reference);
  }
  outer.run();
  std::ostringstream out;
  outer.stats.write_json(out);
  EXPECT_EQ(out.str(), reference);
}

}  // namespace
}  // namespace mmusim
