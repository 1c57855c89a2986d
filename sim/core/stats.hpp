// Statistics registry: counters, values and histograms under hierarchical dotted names
// (e.g. "vcpu.3.tlb.l1.miss", "hv.fault.latency"), each registered once with its kind and a
// one-line description. Components declare their statistics as members of a stats group
// (sim/core/stats_group.hpp), which registers them here; the storage stays valid for the
// registry's lifetime. Output is one JSON object keyed by name, sorted, so equal runs give
// byte-identical files; the schema (kind and description of every name) is a second one.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace mmusim {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_ += n; }
  void set(uint64_t v) { value_ = v; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

// Distribution of non-negative integer samples (cycles, counts). Keeps exact count, sum, min and
// max; percentiles come from log-linear buckets (values below 1024 exact, above that within
// 1/64 relative error), so memory does not grow with the number of samples.
class Histogram {
 public:
  void sample(uint64_t v);
  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }
  // p in [0,100]; the smallest recorded bucket value v such that at least p% of samples <= v.
  uint64_t percentile(double p) const;

 private:
  static size_t bucket_of(uint64_t v);
  static uint64_t bucket_value(size_t b);  // upper bound represented by bucket b
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0, sum_ = 0, min_ = 0, max_ = 0;
};

// What a statistic measures, which decides how a reader treats it: a counter counts events, a
// value is a quantity set once known (cycles of a phase, a peak, a size), a histogram is a
// distribution written as {count, mean, min, p50, p90, p99, max, sum}.
enum class StatKind { kCounter, kValue, kHistogram };
const char* stat_kind_name(StatKind k);  // "counter", "value", "histogram"

class Stats {
 public:
  Stats() = default;
  // A view of `parent` that registers and looks up every name with `prefix` put before it:
  // the statistics of one VM of several, "vm.1." (docs/ARCHITECTURE.md, Several VMs). The
  // storage and the output stay the parent's; an empty prefix names exactly the parent's names.
  Stats(Stats& parent, std::string prefix) : parent_(&parent), prefix_(std::move(prefix)) {}
  Stats(const Stats&) = delete;
  Stats& operator=(const Stats&) = delete;
  // Registers `name` once: a second registration of the same name is a ModelError (two owners
  // of one statistic would each see half of it, or one of them nothing). `description` is one
  // line. Components register through StatsGroup members rather than calling these directly.
  Counter& add_counter(const std::string& name, StatKind kind, const std::string& description);
  Histogram& add_histogram(const std::string& name, const std::string& description);
  // Lookups for tests and reports; nullptr when absent.
  const Counter* find_counter(const std::string& name) const;
  const Histogram* find_histogram(const std::string& name) const;
  uint64_t value(const std::string& name) const;  // counter value, 0 when absent

  // {"name": 12, "hist.name": {"count":..,"mean":..,"p50":..,"p90":..,"p99":..,"max":..}, ...}
  void write_json(std::ostream& os) const;
  // Writes to path atomically (temporary file + rename). Throws UsageError if it cannot.
  void write_json_file(const std::string& path) const;
  // {"name": {"kind": "counter", "description": "..."}, ...} for every registered name, sorted.
  void write_schema_json(std::ostream& os) const;
  void write_schema_file(const std::string& path) const;

 private:
  struct Entry {
    StatKind kind;
    std::string description;
  };
  void add_entry(const std::string& name, StatKind kind, const std::string& description);
  Stats* parent_ = nullptr;  // a view's registry
  std::string prefix_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::unique_ptr<Counter>> counters_;
  std::map<std::string, std::unique_ptr<Histogram>> histograms_;
};

// Output helpers shared by the statistics and timeline writers.
// `s` as the inside of a JSON string literal (quotes, backslashes and control characters escaped).
std::string json_escape(const std::string& s);
// Writes `contents` to `path + ".tmp.<pid>"`, then renames it over `path`, so a reader never sees
// a half-written file and an old file survives a failed write. A `path` that exists and is not
// a regular file (a device such as /dev/null, a named pipe) is written in place instead. `what`
// names the file in the UsageError thrown when the file cannot be written (e.g. "stats file").
void write_file_atomic(const std::string& path, const std::string& contents, const char* what);

}  // namespace mmusim
