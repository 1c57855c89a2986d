// A component's statistics, declared as members of a stats group: each member is registered in
// the Platform's Stats registry once, at construction, with its name, a kind implied by its type
// (statistics::Counter, statistics::Value, statistics::Histogram) and a one-line description
// (README.md, Outputs). A component's struct derives from StatsGroup and lists its members:
//
//   struct RcuStats : StatsGroup {
//     explicit RcuStats(Stats& s) : StatsGroup(s) {}
//     statistics::Counter grace_periods{*this, "rcu.grace_periods", "grace periods completed"};
//   };
//
// A group's prefix (e.g. "vcpu.3") is put before every member name with a dot. A statistic
// that two components update has one owner that declares it; the others get a reference to the
// owner's member, so no name is registered twice (Stats::add_counter throws if one is).
#pragma once
#include <cstdint>
#include <string>

#include "sim/core/stats.hpp"

namespace mmusim {

class StatsGroup {
 public:
  explicit StatsGroup(Stats& registry, std::string prefix = "")
      : registry_(&registry), prefix_(std::move(prefix)) {}
  // A sub-group: its names are "<parent prefix>.<name>.<member>".
  StatsGroup(const StatsGroup& parent, const std::string& name)
      : registry_(parent.registry_), prefix_(parent.full_name(name)) {}
  StatsGroup(StatsGroup&&) = delete;  // members point at the group's registry entries
  StatsGroup& operator=(const StatsGroup&) = delete;

  Stats& registry() const { return *registry_; }
  std::string full_name(const std::string& name) const {
    return prefix_.empty() ? name : prefix_ + "." + name;
  }

 private:
  Stats* registry_;
  std::string prefix_;
};

namespace statistics {

// A count of events: incremented as they happen, or set once from a count kept elsewhere.
class Counter {
 public:
  Counter(const StatsGroup& g, const std::string& name, const std::string& description)
      : c_(&g.registry().add_counter(g.full_name(name), StatKind::kCounter, description)) {}
  void inc(uint64_t n = 1) { c_->inc(n); }
  void set(uint64_t v) { c_->set(v); }
  uint64_t value() const { return c_->value(); }
  mmusim::Counter& storage() { return *c_; }

 private:
  mmusim::Counter* c_;
};

// A quantity set once it is known: cycles of a phase, a peak, a size, a configured count.
class Value {
 public:
  Value(const StatsGroup& g, const std::string& name, const std::string& description)
      : c_(&g.registry().add_counter(g.full_name(name), StatKind::kValue, description)) {}
  void set(uint64_t v) { c_->set(v); }
  uint64_t value() const { return c_->value(); }

 private:
  mmusim::Counter* c_;
};

// A distribution of samples (latencies, counts per operation).
class Histogram {
 public:
  Histogram(const StatsGroup& g, const std::string& name, const std::string& description)
      : h_(&g.registry().add_histogram(g.full_name(name), description)) {}
  void sample(uint64_t v) { h_->sample(v); }
  const mmusim::Histogram& get() const { return *h_; }
  mmusim::Histogram& storage() { return *h_; }

 private:
  mmusim::Histogram* h_;
};

}  // namespace statistics
}  // namespace mmusim
