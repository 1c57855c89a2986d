// --kvm-version and the release timeline: which texts name a release in the accepted range,
// the error a bad one gets, and the timeline's entries (each with its own option, a release in
// range and an upstream commit title) deciding each behaviour's form per release.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/error.hpp"
#include "sim/core/kvm_timeline.hpp"

namespace mmusim {
namespace {

bool parse(const std::vector<std::string>& args, SimConfig& cfg) {
  std::vector<const char*> argv{"mmusim"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_config(static_cast<int>(argv.size()), argv.data(), cfg);
}

std::string error_of(const std::vector<std::string>& args) {
  SimConfig cfg;
  try {
    parse(args, cfg);
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << args.back();
  return "";
}

TEST(KvmRelease, EveryReleaseFromTheOldestToTheNewestIsAccepted) {
  const std::vector<std::string> releases = {"5.10", "5.11", "5.12", "5.13", "5.14", "5.15",
                                             "5.16", "5.17", "5.18", "5.19", "6.0",  "6.1",
                                             "6.2",  "6.3",  "6.4",  "6.5",  "6.6",  "6.7",
                                             "6.8",  "6.9",  "6.10", "6.11", "6.12"};
  for (const std::string& text : releases) {
    KvmRelease r;
    ASSERT_TRUE(kvm_release_from_text(text, r)) << text;
    EXPECT_EQ(kvm_release_text(r), text);
    SimConfig cfg;
    ASSERT_TRUE(parse({"--kvm-version", text}, cfg));
    EXPECT_EQ(cfg.kvm_version, r);
  }
  EXPECT_EQ(kvm_release_text(kOldestKvmRelease), releases.front());
  EXPECT_EQ(kvm_release_text(kNewestKvmRelease), releases.back());
  EXPECT_EQ(SimConfig{}.kvm_version, kNewestKvmRelease);
  EXPECT_EQ((KvmRelease{6, 12}.code()), 612u);
}

TEST(KvmRelease, BadReleasesNameTheOptionAndTheRange) {
  for (const char* bad : {"4.19", "7.3", "5.x", "banana", "5.9", "5.20", "6.13", "6.012",
                          "06.1", "6.", ".6", "6.1.2", "6", " 6.1", "-5.10"}) {
    KvmRelease r;
    EXPECT_FALSE(kvm_release_from_text(bad, r)) << bad;
    const std::string e = error_of({"--kvm-version=" + std::string(bad)});
    EXPECT_EQ(e.rfind("--kvm-version: ", 0), 0u) << e;
    EXPECT_NE(e.find("5.10 to 6.12"), std::string::npos) << e;
  }
}

TEST(KvmRelease, PerBehaviourOptionsDefaultToAutoAndAcceptEachForm) {
  SimConfig cfg;
  ASSERT_TRUE(parse({}, cfg));
  EXPECT_FALSE(cfg.mmu_lock.has_value());
  EXPECT_FALSE(cfg.tdp_fast_fault.has_value());
  ASSERT_TRUE(parse({"--mmu-lock", "exclusive", "--tdp-fast-fault", "slow-path"}, cfg));
  EXPECT_EQ(cfg.mmu_lock, MmuLockMode::Exclusive);
  EXPECT_EQ(cfg.tdp_fast_fault, TdpFastFault::SlowPath);
  ASSERT_TRUE(parse({"--mmu-lock", "auto", "--tdp-fast-fault", "auto"}, cfg));
  EXPECT_FALSE(cfg.mmu_lock.has_value());
  EXPECT_FALSE(cfg.tdp_fast_fault.has_value());
  const std::string e = error_of({"--tdp-fast-fault", "sometimes"});
  EXPECT_NE(e.find("auto, slow-path or lockless"), std::string::npos) << e;
}

TEST(KvmTimeline, EachEntryHasItsOptionAReleaseInRangeAndACommitTitle) {
  ASSERT_GT(kKvmTimelineSize, 0u);
  for (size_t i = 0; i < kKvmTimelineSize; ++i) {
    const KvmTimelineEntry& e = kKvmTimeline[i];
    EXPECT_TRUE(kOldestKvmRelease < e.since) << e.commit;  // both forms are selectable
    EXPECT_TRUE(e.since <= kNewestKvmRelease) << e.commit;
    // A commit title: "subsystem: summary" (KVM; the scheduler for needbreak; memcg).
    EXPECT_NE(std::string(e.commit).find(": "), std::string::npos) << e.commit;
    EXPECT_NE(std::string(e.before), "");
    EXPECT_NE(std::string(e.after), "");
    SimConfig cfg;  // the option exists and takes `auto`
    EXPECT_TRUE(parse({"--" + std::string(e.option), "auto"}, cfg)) << e.option;
    EXPECT_EQ(&kvm_timeline_entry(e.change), &e);
  }
}

TEST(KvmTimeline, EachChangeAppearsInItsRelease) {
  EXPECT_FALSE(kvm_has({5, 11}, KvmChange::X86ParallelFaults));
  EXPECT_TRUE(kvm_has({5, 12}, KvmChange::X86ParallelFaults));
  EXPECT_FALSE(kvm_has({5, 14}, KvmChange::X86TdpFastPageFault));
  EXPECT_TRUE(kvm_has({5, 15}, KvmChange::X86TdpFastPageFault));
  EXPECT_FALSE(kvm_has({6, 1}, KvmChange::Arm64ParallelFaults));
  EXPECT_TRUE(kvm_has({6, 2}, KvmChange::Arm64ParallelFaults));
  EXPECT_FALSE(kvm_has({5, 12}, KvmChange::MipsTeRemoved));
  EXPECT_TRUE(kvm_has({5, 13}, KvmChange::MipsTeRemoved));
  EXPECT_FALSE(kvm_has({6, 0}, KvmChange::HostMemcgChargeBatch64));
  EXPECT_TRUE(kvm_has({6, 1}, KvmChange::HostMemcgChargeBatch64));
  EXPECT_FALSE(kvm_timeline_entry(KvmChange::HostMemcgChargeBatch64).arch.has_value());
  EXPECT_FALSE(kvm_has({6, 8}, KvmChange::HostFolioBatch31));
  EXPECT_TRUE(kvm_has({6, 9}, KvmChange::HostFolioBatch31));
  // Forms: the release decides unless the behaviour's own option is set.
  const std::optional<MmuLockMode> unset, shared = MmuLockMode::Shared;
  auto lock = [](const std::optional<MmuLockMode>& o, KvmRelease r) {
    return kvm_form(o, r, KvmChange::X86ParallelFaults, MmuLockMode::Exclusive,
                    MmuLockMode::Shared);
  };
  EXPECT_EQ(lock(unset, {5, 11}), MmuLockMode::Exclusive);
  EXPECT_EQ(lock(unset, {5, 12}), MmuLockMode::Shared);
  EXPECT_EQ(lock(shared, {5, 11}), MmuLockMode::Shared);
}

}  // namespace
}  // namespace mmusim
