// Mode options are enum classes (sim/core/modes.hpp): each name the option table accepts sets
// its own enum value, prints back as the same name, and an unknown name is refused with the
// list of names; no name silently falls back to a default.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/config_table.hpp"
#include "sim/core/error.hpp"
#include "sim/core/modes.hpp"

namespace mmusim {
namespace {

// The option table's own parse of one value (without the cross-option checks, which refuse
// some modes on their own, e.g. --x86-mmu shadow without its workload).
SimConfig set_by_table(const std::string& option, const std::string& value) {
  SimConfig cfg;
  for (const auto& o : config_detail::all_options()) {
    if (o.name != option) continue;
    o.apply(cfg, value);
    EXPECT_EQ(o.show(cfg), value);
    return cfg;
  }
  ADD_FAILURE() << "no option --" << option;
  return cfg;
}

// Every value of E, selected by its name through --`option`, lands in `field` as that value;
// the names are distinct, and the enum prints as its name.
template <class E>
void expect_round_trip(const std::string& option, E SimConfig::*field) {
  std::set<std::string> seen;
  for (const auto& m : ModeNames<E>::table) {
    SCOPED_TRACE(option + " " + m.name);
    EXPECT_TRUE(seen.insert(m.name).second) << "duplicate name";
    EXPECT_EQ(set_by_table(option, m.name).*field, m.value);
    std::ostringstream os;
    os << m.value;
    EXPECT_EQ(os.str(), m.name);
    E back{};
    ASSERT_TRUE(mode_from_name(m.name, back));
    EXPECT_EQ(back, m.value);
  }
  E unused{};
  EXPECT_FALSE(mode_from_name("no-such-mode", unused));
}

// A behaviour of the KVM release timeline: each name of E sets the option, `auto` unsets it.
template <class E>
void expect_round_trip(const std::string& option, std::optional<E> SimConfig::*field) {
  for (const auto& m : ModeNames<E>::table) {
    SCOPED_TRACE(option + " " + m.name);
    EXPECT_EQ(set_by_table(option, m.name).*field, m.value);
  }
  EXPECT_FALSE((set_by_table(option, "auto").*field).has_value());
}

TEST(Modes, EveryNameSelectsItsOwnValue) {
  expect_round_trip("arch", &SimConfig::arch);
  expect_round_trip("mmu-lock", &SimConfig::mmu_lock);
  expect_round_trip("tdp-fast-fault", &SimConfig::tdp_fast_fault);
  expect_round_trip("removed-spte", &SimConfig::removed_spte);
  expect_round_trip("huge-split-on-fault", &SimConfig::huge_split_on_fault);
  expect_round_trip("root-put", &SimConfig::root_put);
  expect_round_trip("ept-ad", &SimConfig::ept_ad);
  expect_round_trip("age-clear", &SimConfig::age_clear);
  expect_round_trip("cmo-policy", &SimConfig::cmo_policy);
  expect_round_trip("x86-mmu", &SimConfig::x86_mmu);
  expect_round_trip("unsync-walk", &SimConfig::unsync_walk);
  expect_round_trip("pvec-full", &SimConfig::pvec_full);
  expect_round_trip("prefetch-unsync", &SimConfig::prefetch_unsync);
  expect_round_trip("lookup-sync-flush", &SimConfig::lookup_sync_flush);
  expect_round_trip("pattern", &SimConfig::pattern);
  expect_round_trip("access-offset", &SimConfig::access_offset);
  expect_round_trip("workload", &SimConfig::workload);
  expect_round_trip("flush", &SimConfig::flush);
}

TEST(Modes, AnUnknownNameIsRefusedWithTheNames) {
  std::vector<const char*> argv{"mmusim", "--root-put", "agred"};
  SimConfig cfg;
  try {
    parse_config(3, argv.data(), cfg);
    FAIL() << "a misspelt mode was accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--root-put: expected agreed, dec-not-one or zap-always, got 'agred'");
  }
}

}  // namespace
}  // namespace mmusim
