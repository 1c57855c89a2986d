#include "sim/core/stats.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sim/core/error.hpp"

namespace mmusim {

namespace {

// Log-linear layout: values 0..1023 get one bucket each; every power of two from 2^10 upwards is
// split into 64 equal sub-buckets, so a bucket spans at most 1/64 of its lower bound.
constexpr unsigned kExactLimitShift = 10;
constexpr uint64_t kExactLimit = uint64_t(1) << kExactLimitShift;  // 1024
constexpr unsigned kSubShift = 6;
constexpr uint64_t kSubBuckets = uint64_t(1) << kSubShift;  // 64

unsigned log2_floor(uint64_t v) { return 63u - static_cast<unsigned>(__builtin_clzll(v)); }

}  // namespace

size_t Histogram::bucket_of(uint64_t v) {
  if (v < kExactLimit) return static_cast<size_t>(v);
  const unsigned e = log2_floor(v);  // 10..63
  const uint64_t sub = (v >> (e - kSubShift)) & (kSubBuckets - 1);
  return static_cast<size_t>(kExactLimit + (e - kExactLimitShift) * kSubBuckets + sub);
}

uint64_t Histogram::bucket_value(size_t b) {
  if (b < kExactLimit) return b;
  const uint64_t rel = b - kExactLimit;
  const unsigned e = static_cast<unsigned>(rel / kSubBuckets) + kExactLimitShift;
  const uint64_t sub = rel % kSubBuckets;
  const unsigned width_shift = e - kSubShift;
  const uint64_t lower = (kSubBuckets + sub) << width_shift;
  return lower + ((uint64_t(1) << width_shift) - 1);  // the largest value mapped to b
}

void Histogram::sample(uint64_t v) {
  const size_t b = bucket_of(v);
  // Grown on demand: a histogram of small latencies never pays for the high buckets.
  if (b >= buckets_.size()) buckets_.resize(b + 1, 0);
  ++buckets_[b];
  if (count_ == 0 || v < min_) min_ = v;
  if (v > max_) max_ = v;
  ++count_;
  sum_ += v;
}

uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  if (!(p > 0.0)) return min();  // also catches NaN
  if (p >= 100.0) return max_;
  // Rank of the p-th percentile sample (1-based, nearest-rank method). The small epsilon keeps
  // products such as 99 * 1000 / 100 from rounding up to the next rank.
  const double exact = p * static_cast<double>(count_) / 100.0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(exact - 1e-9));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  uint64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      const uint64_t v = bucket_value(b);
      // The bucket's upper bound may exceed every sample in it; the true maximum is known.
      return v < max_ ? v : max_;
    }
  }
  return max_;  // unreachable while bucket counts sum to count_
}

const char* stat_kind_name(StatKind k) {
  switch (k) {
    case StatKind::kCounter:
      return "counter";
    case StatKind::kValue:
      return "value";
    case StatKind::kHistogram:
      return "histogram";
  }
  return "counter";
}

void Stats::add_entry(const std::string& name, StatKind kind, const std::string& description) {
  if (name.empty()) throw ModelError("statistic with an empty name");
  if (description.empty() || description.find('\n') != std::string::npos)
    throw ModelError("statistic '" + name + "' needs a one-line description");
  if (!entries_.emplace(name, Entry{kind, description}).second)
    throw ModelError("statistic '" + name + "' is registered twice");
}

Counter& Stats::add_counter(const std::string& name, StatKind kind,
                            const std::string& description) {
  if (parent_) return parent_->add_counter(prefix_ + name, kind, description);
  if (kind == StatKind::kHistogram)
    throw ModelError("statistic '" + name + "': a histogram is not a counter");
  add_entry(name, kind, description);
  auto& slot = counters_[name];
  slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& Stats::add_histogram(const std::string& name, const std::string& description) {
  if (parent_) return parent_->add_histogram(prefix_ + name, description);
  add_entry(name, StatKind::kHistogram, description);
  auto& slot = histograms_[name];
  slot = std::make_unique<Histogram>();
  return *slot;
}

const Counter* Stats::find_counter(const std::string& name) const {
  if (parent_) return parent_->find_counter(prefix_ + name);
  auto it = counters_.find(name);
  return it == counters_.end() ? nullptr : it->second.get();
}

const Histogram* Stats::find_histogram(const std::string& name) const {
  if (parent_) return parent_->find_histogram(prefix_ + name);
  auto it = histograms_.find(name);
  return it == histograms_.end() ? nullptr : it->second.get();
}

uint64_t Stats::value(const std::string& name) const {
  const Counter* c = find_counter(name);
  return c ? c->value() : 0;
}

std::string json_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // UTF-8 bytes pass through unchanged
        }
    }
  }
  return out;
}

namespace {

void write_histogram(std::ostream& os, const Histogram& h) {
  // snprintf with a fixed format, not ostream precision, so the mean is byte-identical
  // whatever flags the stream carries.
  char mean[64];
  std::snprintf(mean, sizeof mean, "%.3f", h.mean());
  os << "{\"count\": " << h.count() << ", \"mean\": " << mean << ", \"min\": " << h.min()
     << ", \"p50\": " << h.percentile(50) << ", \"p90\": " << h.percentile(90)
     << ", \"p99\": " << h.percentile(99) << ", \"max\": " << h.max() << ", \"sum\": " << h.sum()
     << "}";
}

}  // namespace

void Stats::write_json(std::ostream& os) const {
  if (parent_) return parent_->write_json(os);  // a view writes the whole registry
  if (counters_.empty() && histograms_.empty()) {
    os << "{}\n";
    return;
  }
  os << "{\n";
  // Merge the two sorted maps so counters and histograms share one key order.
  auto c = counters_.begin();
  auto h = histograms_.begin();
  bool first = true;
  while (c != counters_.end() || h != histograms_.end()) {
    const bool take_counter =
        h == histograms_.end() || (c != counters_.end() && c->first < h->first);
    if (!first) os << ",\n";
    first = false;
    if (take_counter) {
      os << "  \"" << json_escape(c->first) << "\": " << c->second->value();
      ++c;
    } else {
      os << "  \"" << json_escape(h->first) << "\": ";
      write_histogram(os, *h->second);
      ++h;
    }
  }
  os << "\n}\n";
}

void Stats::write_json_file(const std::string& path) const {
  std::ostringstream os;
  write_json(os);
  write_file_atomic(path, os.str(), "stats file");
}

void Stats::write_schema_json(std::ostream& os) const {
  if (parent_) return parent_->write_schema_json(os);
  if (entries_.empty()) {
    os << "{}\n";
    return;
  }
  os << "{\n";
  bool first = true;
  for (const auto& [name, e] : entries_) {
    if (!first) os << ",\n";
    first = false;
    os << "  \"" << json_escape(name) << "\": {\"kind\": \"" << stat_kind_name(e.kind)
       << "\", \"description\": \"" << json_escape(e.description) << "\"}";
  }
  os << "\n}\n";
}

void Stats::write_schema_file(const std::string& path) const {
  std::ostringstream os;
  write_schema_json(os);
  write_file_atomic(path, os.str(), "stats schema file");
}

void write_file_atomic(const std::string& path, const std::string& contents, const char* what) {
  // A path that exists and is not a regular file (/dev/null, /dev/stdout, a named pipe) is
  // written in place: renaming over it would replace the device or pipe with a regular file.
  struct stat st;
  const bool special = ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  const std::string tmp =
      special ? path : path + ".tmp." + std::to_string(static_cast<long>(::getpid()));
  auto fail = [&](const std::string& verb, int err) {
    if (!special) std::remove(tmp.c_str());
    throw UsageError(std::string("cannot ") + verb + " " + what + " '" + path +
                     "': " + std::strerror(err));
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("write", errno);
  const size_t written = std::fwrite(contents.data(), 1, contents.size(), f);
  const int write_err = errno;
  // fclose flushes; a full disk may only show up here.
  if (std::fclose(f) != 0 || written != contents.size()) {
    fail("write", written != contents.size() ? write_err : errno);
  }
  if (!special && std::rename(tmp.c_str(), path.c_str()) != 0) fail("replace", errno);
}

}  // namespace mmusim
