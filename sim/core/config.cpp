// Command line and INI parsing for SimConfig. Boost.Program_options splits the command line;
// every value is taken as a string and checked here, because Boost's own conversions accept
// "-1" for unsigned options (it wraps) and report bad values without saying what is allowed.
#include "sim/core/config.hpp"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <type_traits>
#include <utility>

#include "sim/core/error.hpp"

namespace mmusim {
namespace po = boost::program_options;

namespace {

// A value check throws UsageError("--name: ..."); the caller prefixes FILE:LINE for INI values.
using Apply = std::function<void(SimConfig&, const std::string&)>;
using Show = std::function<std::string(const SimConfig&)>;  // current value as option text

struct Option {
  std::string group;     // heading in --help
  std::string name;      // without dashes; also the INI key
  std::string arg;       // value placeholder in --help, e.g. "N", "SIZE"
  std::string help;      // one line
  std::string implicit;  // value of a bare "--name" (flags); empty: a value is required
  Show show;
  Apply apply;
};

// Callers may name the option with or without its dashes.
[[noreturn]] void bad_value(const std::string& option, const std::string& msg) {
  throw UsageError((option.rfind('-', 0) == 0 ? option : "--" + option) + ": " + msg);
}

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// "a", "a or b", "a, b or c".
std::string alternatives(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += i + 1 == values.size() ? " or " : ", ";
    out += values[i];
  }
  return out;
}

// Digits only: no sign, no blanks, no overflow.
bool parse_decimal(const std::string& s, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// Digits with an optional binary unit K/M/G/T (any case) and an optional B or iB after it.
// False when malformed or when the size does not fit 64 bits.
bool size_of(const std::string& text, uint64_t& out) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  uint64_t n = 0;
  if (!parse_decimal(text.substr(0, digits), n)) return false;
  std::string suffix = text.substr(digits);
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t unit = suffix.empty() ? std::string::npos : std::string("kmgt").find(suffix[0]);
  const unsigned shift = unit == std::string::npos ? 0 : 10u * static_cast<unsigned>(unit + 1);
  if (shift) suffix.erase(0, 1);
  if (!(suffix.empty() || suffix == "b" || (shift && suffix == "ib"))) return false;
  if (n > (UINT64_MAX >> shift)) return false;
  out = n << shift;
  return true;
}

uint64_t parse_whole(const std::string& text, const std::string& option, uint64_t lo, uint64_t hi) {
  uint64_t v = 0;
  if (!parse_decimal(text, v) || v < lo || v > hi) {
    const std::string a = std::to_string(lo), b = std::to_string(hi);
    const std::string expected = hi == lo + 1       ? a + " or " + b  // e.g. paging levels
                                 : hi == UINT64_MAX ? "a whole number of at least " + a
                                                    : "a whole number from " + a + " to " + b;
    bad_value(option, "expected " + expected + ", got " + in_quotes(text));
  }
  return v;
}

double parse_real(const std::string& text, const std::string& option, double lo, double hi,
                  const char* what) {
  // strtod alone would take blanks, "inf", "nan" and hex; allow plain decimal notation only.
  const bool plain = !text.empty() &&
                     text.find_first_not_of("0123456789.eE+-") == std::string::npos &&
                     (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.');
  char* end = nullptr;
  const double v = plain ? std::strtod(text.c_str(), &end) : 0.0;
  if (!plain || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) {
    char range[64];
    std::snprintf(range, sizeof range, " from %g to %g", lo, hi);
    bad_value(option, std::string("expected ") + what + range + ", got " + in_quotes(text));
  }
  return v;
}

bool parse_on_off(const std::string& text, const std::string& option) {
  if (text == "on" || text == "true" || text == "yes" || text == "1") return true;
  if (text == "off" || text == "false" || text == "no" || text == "0") return false;
  bad_value(option, "expected on or off, got " + in_quotes(text));
}

std::string format_size(uint64_t bytes) {
  static const char units[] = {'T', 'G', 'M', 'K'};
  for (int i = 0; i < 4; ++i) {
    const unsigned shift = 10u * static_cast<unsigned>(4 - i);
    if (bytes && bytes % (uint64_t(1) << shift) == 0) {
      return std::to_string(bytes >> shift) + units[i];
    }
  }
  return std::to_string(bytes);
}

// A "did you mean" hint: the known option closest to `name` by edit distance, if close enough.
std::string suggestion(const std::string& name, const std::vector<Option>& table,
                       const std::string& prefix) {
  std::vector<std::string> known{"config", "help"};
  for (const Option& o : table) known.push_back(o.name);
  std::string best;
  size_t best_d = std::max<size_t>(2, name.size() / 4) + 1;
  for (const std::string& k : known) {
    std::vector<size_t> row(k.size() + 1);  // one row of the Levenshtein table
    for (size_t j = 0; j <= k.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= name.size(); ++i) {
      size_t diag = row[0]++;
      for (size_t j = 1; j <= k.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (name[i - 1] == k[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    if (row[k.size()] < best_d) best_d = row[k.size()], best = k;
  }
  return best.empty() ? "" : " (did you mean " + in_quotes(prefix + best) + "?)";
}

// Output paths are checked before the run so a long simulation does not fail at its very end.
void check_writable(const std::string& path, const std::string& option) {
  if (path.empty()) bad_value(option, "expected a file name");
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    bad_value(option, in_quotes(path) + " is a directory");
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (::access(dir.c_str(), W_OK) != 0) {
    bad_value(option, "cannot write to directory " + in_quotes(dir) + ": " + std::strerror(errno));
  }
}

// Choices with the list of accepted values and, for names reserved for later models, a hint
// that they are known but not modelled yet.
void check_choice(const std::string& v, const std::string& option,
                  const std::vector<std::string>& accepted,
                  const std::vector<std::string>& planned = {}) {
  if (std::find(accepted.begin(), accepted.end(), v) != accepted.end()) return;
  if (std::find(planned.begin(), planned.end(), v) != planned.end()) {
    bad_value(option, in_quotes(v) + " is not modelled yet; available: " + alternatives(accepted));
  }
  bad_value(option, "expected " + alternatives(accepted) + ", got " + in_quotes(v));
}

constexpr uint64_t kMaxLatency = 1000000000;  // keeps sums of latencies far from overflow
constexpr uint64_t kMaxEntries = 1u << 20;

std::vector<Option> config_options() {
  std::vector<Option> t;
  std::string group;
  auto add = [&](std::string name, std::string arg, std::string help, Show show, Apply apply) {
    t.push_back({group, std::move(name), std::move(arg), std::move(help), "", show, apply});
  };
  auto whole = [&](const char* name, const char* help, auto field, uint64_t lo, uint64_t hi) {
    using T = std::remove_reference_t<decltype(std::declval<SimConfig&>().*field)>;
    add(
        name, "N", help, [field](const SimConfig& c) { return std::to_string(c.*field); },
        [=](SimConfig& c, const std::string& v) {
          c.*field = static_cast<T>(parse_whole(v, name, lo, hi));
        });
  };
  auto size = [&](const char* name, const char* help, uint64_t SimConfig::*field) {
    add(
        name, "SIZE", help, [field](const SimConfig& c) { return format_size(c.*field); },
        [=](SimConfig& c, const std::string& v) { c.*field = parse_size(v, name); });
  };
  auto real = [&](const char* name, const char* arg, const char* help, double SimConfig::*field,
                  double lo, double hi, const char* what) {
    auto show = [field](const SimConfig& c) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", c.*field);
      return std::string(buf);
    };
    add(name, arg, help, show,
        [=](SimConfig& c, const std::string& v) { c.*field = parse_real(v, name, lo, hi, what); });
  };
  auto choice = [&](const char* name, const char* help, std::string SimConfig::*field,
                    std::vector<std::string> accepted, std::vector<std::string> planned) {
    std::string arg = accepted.size() == 1 ? "NAME" : accepted[0];
    for (size_t i = 1; i < accepted.size(); ++i) arg += "|" + accepted[i];
    add(
        name, arg, help, [field](const SimConfig& c) { return c.*field; },
        [=](SimConfig& c, const std::string& v) {
          check_choice(v, name, accepted, planned);
          c.*field = v;
        });
  };
  auto file = [&](const char* name, const char* help, std::string SimConfig::*field) {
    add(
        name, "FILE", help, [field](const SimConfig& c) { return c.*field; },
        [=](SimConfig& c, const std::string& v) {
          check_writable(v, name);
          c.*field = v;
        });
  };
  auto on_off = [&](const char* name, const char* help, bool SimConfig::*field) {
    add(
        name, "on|off", help, [field](const SimConfig& c) { return c.*field ? "on" : "off"; },
        [=](SimConfig& c, const std::string& v) { c.*field = parse_on_off(v, name); });
  };
  auto lat = [&](const char* field_name, Cycles Latencies::*field, const char* help) {
    std::string name = std::string("lat-") + field_name;
    std::replace(name.begin(), name.end(), '_', '-');
    add(
        name, "CYCLES", help, [field](const SimConfig& c) { return std::to_string(c.lat.*field); },
        [=](SimConfig& c, const std::string& v) {
          c.lat.*field = parse_whole(v, name, 0, kMaxLatency);
        });
  };

  group = "Platform";
  choice("arch", "architecture whose MMU is modelled", &SimConfig::arch, {"x86"},
         {"arm64", "mips"});
  whole("vcpus", "guest vCPUs, 1..4096", &SimConfig::vcpus, 1, 4096);
  whole("pcpus", "physical CPUs, 0 = one per vCPU", &SimConfig::pcpus, 0, 4096);
  real("clock-ghz", "GHZ", "core clock in GHz, 0.1..10", &SimConfig::clock_ghz, 0.1, 10.0,
       "a frequency in GHz");
  whole("quantum", "temporal-decoupling quantum in cycles", &SimConfig::quantum, 1, UINT64_MAX);
  whole("seed", "random seed; equal seeds give identical runs", &SimConfig::seed, 0, UINT64_MAX);

  group = "Workload";
  choice("workload", "guest workload", &SimConfig::workload, {"demand-paging"}, {});
  size("mem-per-vcpu", "memory each vCPU touches: a multiple of --page-size, at most 1T",
       &SimConfig::mem_per_vcpu);
  real("overlap", "F", "fraction of each vCPU's slice shared with the next vCPU, 0..1",
       &SimConfig::overlap, 0.0, 1.0, "a fraction");
  choice("pattern", "order in which a vCPU touches its pages", &SimConfig::pattern,
         {"seq", "random"}, {});
  whole("passes", "times each vCPU touches its slice", &SimConfig::passes, 1, UINT32_MAX);

  group = "MMU";
  add(
      "page-size", "4K|2M|1G", "EPT mapping size",
      [](const SimConfig& c) { return format_size(c.page_size); },
      [](SimConfig& c, const std::string& v) {
        uint64_t bytes = 0;
        if (!size_of(v, bytes) ||
            (bytes != (4ull << 10) && bytes != (2ull << 20) && bytes != (1ull << 30))) {
          bad_value("page-size", "expected 4K, 2M or 1G, got " + in_quotes(v));
        }
        c.page_size = bytes;
      });
  choice("mmu-lock", "MMU lock on the EPT fault path", &SimConfig::mmu_lock,
         {"exclusive", "shared"}, {});
  choice("flush", "remote TLB flush strategy (unsafe-skip: deliberately skips the flush)",
         &SimConfig::flush, {"ipi-all", "unsafe-skip"}, {});
  whole("guest-levels", "guest page-table levels", &SimConfig::guest_levels, 4, 5);
  t.back().arg = "4|5";
  whole("ept-levels", "EPT levels", &SimConfig::ept_levels, 4, 5);
  t.back().arg = "4|5";

  group = "TLBs and paging-structure caches (entries / ways = power-of-two sets)";
  whole("tlb-l1-entries", "L1 TLB entries for 4K pages", &SimConfig::tlb_l1_entries, 1,
        kMaxEntries);
  whole("tlb-l1-ways", "L1 TLB ways for 4K pages", &SimConfig::tlb_l1_ways, 1, kMaxEntries);
  whole("tlb-l1-2m-entries", "L1 TLB entries for 2M pages", &SimConfig::tlb_l1_2m_entries, 1,
        kMaxEntries);
  whole("tlb-l1-2m-ways", "L1 TLB ways for 2M pages", &SimConfig::tlb_l1_2m_ways, 1, kMaxEntries);
  whole("tlb-l1-1g-entries", "L1 TLB entries for 1G pages (fully associative)",
        &SimConfig::tlb_l1_1g_entries, 1, kMaxEntries);
  whole("tlb-l2-entries", "L2 TLB (STLB) entries", &SimConfig::tlb_l2_entries, 1, kMaxEntries);
  whole("tlb-l2-ways", "L2 TLB ways", &SimConfig::tlb_l2_ways, 1, kMaxEntries);
  whole("pwc-entries", "entries per paging-structure cache, 0 = none", &SimConfig::pwc_entries, 0,
        kMaxEntries);

  group = "Caches (size / (64 x ways) = power-of-two sets) and DRAM";
  size("l1-size", "private L1 data cache size", &SimConfig::l1_size);
  whole("l1-ways", "L1 ways", &SimConfig::l1_ways, 1, 1024);
  size("l2-size", "private L2 cache size", &SimConfig::l2_size);
  whole("l2-ways", "L2 ways", &SimConfig::l2_ways, 1, 1024);
  size("llc-size", "shared last-level cache size", &SimConfig::llc_size);
  whole("llc-ways", "LLC ways", &SimConfig::llc_ways, 1, 1024);
  whole("dram-channels", "DRAM channels", &SimConfig::dram_channels, 1, 1024);

  group = "Latencies (core cycles)";
  // The stringised field name makes the option name follow the field: --lat-<field, _ -> ->.
#define MMUSIM_LAT(field, help) lat(#field, &Latencies::field, help)
  MMUSIM_LAT(tlb_l1, "L1 TLB lookup");
  MMUSIM_LAT(tlb_l2, "L2 TLB lookup after an L1 miss");
  MMUSIM_LAT(pwc, "paging-structure cache lookup");
  MMUSIM_LAT(l1_hit, "L1 data cache hit");
  MMUSIM_LAT(l2_hit, "L2 cache hit");
  MMUSIM_LAT(llc_hit, "LLC hit");
  MMUSIM_LAT(dram, "DRAM access, excluding queueing");
  MMUSIM_LAT(dram_occupancy, "cycles one access keeps a DRAM channel busy");
  MMUSIM_LAT(c2c_transfer, "line modified in another core's private cache");
  MMUSIM_LAT(invalidate, "invalidating other sharers before a write");
  MMUSIM_LAT(atomic, "extra cost of a locked read-modify-write");
  MMUSIM_LAT(vmexit, "guest to host transition");
  MMUSIM_LAT(vmentry, "host to guest transition");
  MMUSIM_LAT(ipi, "IPI from send to delivery");
  MMUSIM_LAT(fault_entry, "fault decode and dispatch before the MMU code");
  MMUSIM_LAT(host_page_fault, "host fault on first touch of a backing page");
  MMUSIM_LAT(page_zero_4k, "zeroing one 4K host page");
  MMUSIM_LAT(page_alloc, "taking a page-table page from the MMU cache");
  MMUSIM_LAT(tdp_map_work, "instructions of one TDP map call besides its memory references");
  MMUSIM_LAT(spte_change_work, "handle_changed_spte bookkeeping per SPTE change");
  MMUSIM_LAT(tlb_flush_local, "local flush of one vCPU's TLBs");
  MMUSIM_LAT(request_check, "scanning pending vCPU requests on guest entry");
  MMUSIM_LAT(compute_per_access, "guest work between two accesses");
#undef MMUSIM_LAT

  group = "Output and checking";
  file("stats-json", "write statistics as JSON to FILE", &SimConfig::stats_json);
  file("timeline", "write a Chrome trace-event timeline (Perfetto) to FILE", &SimConfig::timeline);
  on_off("check", "run the correctness oracle", &SimConfig::check);
  on_off("quiet", "no human summary on stdout; a bare --quiet means on", &SimConfig::quiet);
  t.back().arg = "[on|off]";
  t.back().implicit = "on";
  return t;
}

struct Source {
  std::string value;
  std::string origin;  // "" for the command line, "FILE:LINE: " for the config file
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Reads `key = value` lines. Hand-written instead of po::parse_config_file so that every error
// names the file and line (Boost's exceptions carry neither) and sections are refused rather than
// silently turned into "section.key" names that then fail as unknown.
void read_ini(const std::string& path, const std::vector<Option>& table,
              std::map<std::string, Source>& values) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError("--config: cannot read " + in_quotes(path) + ": it is a directory");
  }
  std::ifstream in(path);
  if (!in)
    throw UsageError("--config: cannot read " + in_quotes(path) + ": " + std::strerror(errno));
  std::map<std::string, int> seen;  // key -> line, for duplicate detection
  std::string raw;
  for (int line = 1; std::getline(in, raw); ++line) {
    const std::string where = path + ":" + std::to_string(line) + ": ";
    if (line == 1 && raw.rfind("\xEF\xBB\xBF", 0) == 0) raw.erase(0, 3);  // UTF-8 BOM
    // A '#' starts a comment at the start of a line or after a blank, so "out#1.json" survives.
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '#' && (i == 0 || raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
        raw.erase(i);
        break;
      }
    }
    const std::string text = trim(raw);
    if (text.empty() || text[0] == ';') continue;
    if (text[0] == '[') {
      throw UsageError(where + "sections are not supported; write plain 'key = value' lines");
    }
    const size_t eq = text.find('=');
    if (eq == std::string::npos) {
      throw UsageError(where + "expected 'key = value', got " + in_quotes(text));
    }
    std::string key = trim(text.substr(0, eq));
    std::string value = trim(text.substr(eq + 1));
    if (key.rfind("--", 0) == 0) key.erase(0, 2);    // tolerate keys copied from a command line
    std::replace(key.begin(), key.end(), '_', '-');  // and field names from the header
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "config" || key == "help") {
      throw UsageError(where + in_quotes(key) + " cannot be used inside a config file");
    }
    const bool known =
        std::any_of(table.begin(), table.end(), [&](const Option& o) { return o.name == key; });
    if (!known)
      throw UsageError(where + "unknown key " + in_quotes(key) + suggestion(key, table, ""));
    auto [it, fresh] = seen.emplace(key, line);
    if (!fresh) {
      throw UsageError(where + in_quotes(key) + " is already set on line " +
                       std::to_string(it->second));
    }
    values.emplace(key, Source{value, where});  // a command-line value already there wins
  }
}

void print_help(std::ostream& os, std::vector<Option> table) {
  table.push_back({"General", "config", "FILE", "read 'name = value' lines from an INI file", "",
                   nullptr, nullptr});
  table.push_back({"General", "help", "| -h", "print this help and exit", "", nullptr, nullptr});
  auto left = [](const Option& o) { return "--" + o.name + (o.arg.empty() ? "" : " " + o.arg); };
  size_t width = 0;
  for (const Option& o : table) width = std::max(width, left(o).size());
  os << "Usage: mmusim [options]\n"
        "Simulates guest memory accesses through a hypervisor MMU (two-dimensional paging).\n"
        "Options take a value as '--name VALUE' or '--name=VALUE'; sizes accept 4096, 4K, 64M,\n"
        "1G, 64MiB. A --config FILE holds 'name = value' lines; the command line wins.\n";
  const SimConfig defaults;
  std::string group;
  for (const Option& o : table) {
    if (o.group != group) os << "\n" << (group = o.group) << ":\n";
    std::string l = left(o);
    l.resize(width, ' ');
    os << "  " << l << "  " << o.help;
    if (o.show) {
      const std::string def = o.show(defaults);
      os << " (default: " << (def.empty() ? "none" : def) << ")";
    }
    os << "\n";
  }
}

// Checks that need more than one option, once every value is in.
void validate(const SimConfig& c, const std::map<std::string, Source>& values) {
  auto fail = [&](const std::string& name, const std::string& msg) {
    auto it = values.find(name);
    throw UsageError((it == values.end() ? "" : it->second.origin) + "--" + name + ": " + msg);
  };
  if (c.pcpus != 0 && c.pcpus < c.vcpus) {
    fail("pcpus", "fewer physical CPUs than vCPUs (overcommit) is not modelled yet");
  }
  const std::string page = format_size(c.page_size);
  if (c.mem_per_vcpu < c.page_size) {
    fail("mem-per-vcpu",
         format_size(c.mem_per_vcpu) + " is smaller than one page (--page-size " + page + ")");
  }
  if (c.mem_per_vcpu % c.page_size != 0) {
    fail("mem-per-vcpu", format_size(c.mem_per_vcpu) + " is not a multiple of --page-size " + page);
  }
  if (c.mem_per_vcpu > (uint64_t(1) << 40)) {
    fail("mem-per-vcpu", format_size(c.mem_per_vcpu) + " is more than the 1T allowed");
  }
  auto is_pow2 = [](uint64_t v) { return v != 0 && (v & (v - 1)) == 0; };
  auto set_assoc = [&](const char* entries_opt, const char* ways_opt, uint64_t entries,
                       uint64_t ways) {
    const std::string e = std::to_string(entries), w = std::to_string(ways);
    if (entries % ways != 0) {
      fail(entries_opt,
           e + " entries do not split evenly into " + w + " ways (--" + ways_opt + ")");
    }
    if (!is_pow2(entries / ways)) {
      fail(entries_opt, e + " entries / " + w + " ways = " + std::to_string(entries / ways) +
                            " sets; the set count must be a power of two");
    }
  };
  set_assoc("tlb-l1-entries", "tlb-l1-ways", c.tlb_l1_entries, c.tlb_l1_ways);
  set_assoc("tlb-l1-2m-entries", "tlb-l1-2m-ways", c.tlb_l1_2m_entries, c.tlb_l1_2m_ways);
  set_assoc("tlb-l2-entries", "tlb-l2-ways", c.tlb_l2_entries, c.tlb_l2_ways);
  auto cache = [&](const char* size_opt, const char* ways_opt, uint64_t size, uint64_t ways) {
    const uint64_t way_bytes = kLineSize * ways;
    const std::string geometry = format_size(size) + " / (64-byte lines x " + std::to_string(ways) +
                                 " ways, --" + ways_opt + ")";
    if (size % way_bytes != 0 || !is_pow2(size / way_bytes)) {
      fail(size_opt, geometry + " is not a whole power-of-two number of sets");
    }
  };
  cache("l1-size", "l1-ways", c.l1_size, c.l1_ways);
  cache("l2-size", "l2-ways", c.l2_size, c.l2_ways);
  cache("llc-size", "llc-ways", c.llc_size, c.llc_ways);
  if (!c.stats_json.empty() && c.stats_json == c.timeline) {
    fail("timeline", "same file as --stats-json");
  }
}

[[noreturn]] void rethrow_boost(const po::error& e, const std::vector<Option>& table) {
  if (auto* u = dynamic_cast<const po::unknown_option*>(&e)) {
    const std::string name = u->get_option_name();
    const size_t dashes = std::min(name.find_first_not_of('-'), name.size());
    const std::string bare = name.substr(dashes);
    throw UsageError("unknown option " + in_quotes(name) + suggestion(bare, table, "--") +
                     "; see --help");
  }
  if (auto* s = dynamic_cast<const po::invalid_command_line_syntax*>(&e)) {
    const std::string name = s->get_option_name();
    if (s->kind() == po::invalid_syntax::missing_parameter) {
      throw UsageError(name + ": missing value");
    }
    if (s->kind() == po::invalid_syntax::extra_parameter) {
      throw UsageError(name + ": takes no value");
    }
  }
  if (auto* m = dynamic_cast<const po::multiple_occurrences*>(&e)) {
    throw UsageError(m->get_option_name() + ": given more than once");
  }
  throw UsageError(e.what());
}

}  // namespace

bool parse_config(int argc, const char* const* argv, SimConfig& out) {
  const std::vector<Option> table = config_options();
  po::options_description desc;
  for (const Option& o : table) {
    auto* sem = po::value<std::string>();
    if (!o.implicit.empty()) sem->implicit_value(o.implicit);
    desc.add_options()(o.name.c_str(), sem, o.help.c_str());
  }
  desc.add_options()("config", po::value<std::string>(), "INI file")("help,h", "help");

  po::variables_map vm;
  try {
    // No guessing: "--vcpu" must not silently mean "--vcpus", and a later option sharing a
    // prefix must not make an old command line ambiguous.
    const int style =
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    const po::parsed_options parsed =
        po::command_line_parser(argc, argv).options(desc).style(style).run();
    for (const auto& o : parsed.options) {
      // Without a positional description Boost still hands positionals over, keyed "".
      if (o.position_key >= 0 || o.string_key.empty()) {
        const std::string arg = o.original_tokens.empty() ? "" : o.original_tokens.front();
        throw UsageError("unexpected argument " + in_quotes(arg) +
                         " (options are written --name VALUE); see --help");
      }
    }
    po::store(parsed, vm);
  } catch (const po::error& e) {
    rethrow_boost(e, table);
  }

  if (vm.count("help")) {
    print_help(std::cout, table);
    return false;
  }

  std::map<std::string, Source> values;
  for (const Option& o : table) {
    if (vm.count(o.name)) values[o.name] = Source{vm[o.name].as<std::string>(), ""};
  }
  if (vm.count("config")) read_ini(vm["config"].as<std::string>(), table, values);

  // Fresh defaults, and `out` untouched unless everything parses.
  SimConfig cfg;
  for (const Option& o : table) {
    auto it = values.find(o.name);
    if (it == values.end()) continue;
    try {
      o.apply(cfg, it->second.value);
    } catch (const UsageError& e) {
      throw UsageError(it->second.origin + e.what());
    }
  }
  validate(cfg, values);
  out = cfg;
  return true;
}

uint64_t parse_size(const std::string& text, const std::string& option) {
  uint64_t bytes = 0;
  if (!size_of(text, bytes)) {
    bad_value(option, "expected a size such as 4096, 4K, 64M, 1G or 64MiB, got " + in_quotes(text));
  }
  return bytes;
}

}  // namespace mmusim
