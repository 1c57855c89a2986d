// The option table behind parse_config (internal to sim/core/config*.cpp). Each area of the
// simulator declares its options in a file of its own (config_options_<area>.cpp) through
// OptionTable's typed helpers; all_options() gathers them, and the area's cross-option checks
// go in its validate function.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "sim/core/config.hpp"

namespace mmusim::config_detail {

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

// Where an option's value came from: "" for the command line, "FILE:LINE: " for a file.
struct Source {
  std::string value;
  std::string origin;
};

// A line of an INI file that says something: a section header or a `key = value`.
struct IniLine {
  int line = 0;
  std::string where;  // "FILE:LINE: ", the prefix of every error about the line
  bool header = false;
  std::string section;  // a header's text between the brackets, blanks trimmed
  std::string key;      // without leading dashes, '_' written '-'
  std::string value;    // surrounding double quotes removed
};
// Reads the INI file given to --`option`: '#' and ';' comments, blank lines skipped. Throws
// UsageError for an unreadable file, a device, a file past 1M or a malformed line. Keys are not
// checked against the option table (check_ini_key does).
std::vector<IniLine> read_ini_lines(const std::string& path, const std::string& option);
// Throws UsageError (FILE:LINE) for a key that is no option, or one no file may set.
void check_ini_key(const IniLine& l, const std::vector<Option>& table);

constexpr uint64_t kMaxLatency = 1000000000;  // keeps sums of latencies far from overflow
constexpr uint64_t kMaxEntries = 1u << 20;

// Value helpers; each throws UsageError("--name: ...") on a bad value.
[[noreturn]] void bad_value(const std::string& option, const std::string& msg);
std::string in_quotes(const std::string& s);
std::string alternatives(const std::vector<std::string>& values);
// --help of an enum option: "a|b|c" as its argument, or NAME with the names in the help text
// when they would not fit the argument column.
std::string choice_arg(const std::vector<std::string>& values);
std::string choice_help(const std::string& help, const std::vector<std::string>& values);
// " (did you mean 'x'?)" naming the known option closest to `name`, or "".
std::string suggestion(const std::string& name, const std::vector<Option>& table,
                       const std::string& prefix);
bool parse_decimal(const std::string& s, uint64_t& out);
bool size_of(const std::string& text, uint64_t& out);
uint64_t parse_whole(const std::string& text, const std::string& option, uint64_t lo, uint64_t hi);
double parse_real(const std::string& text, const std::string& option, double lo, double hi,
                  const char* what);
bool parse_on_off(const std::string& text, const std::string& option);
std::string format_size(uint64_t bytes);
void check_writable(const std::string& path, const std::string& option);
void check_choice(const std::string& v, const std::string& option,
                  const std::vector<std::string>& accepted,
                  const std::vector<std::string>& planned = {});

class OptionTable {
 public:
  std::vector<Option> t;
  std::string group;  // heading for the options added next

  void add(std::string name, std::string arg, std::string help, Show show, Apply apply) {
    t.push_back({group, std::move(name), std::move(arg), std::move(help), "", show, apply});
  }
  template <class Field>
  void whole(const char* name, const char* help, Field SimConfig::*field, uint64_t lo,
             uint64_t hi) {
    add(
        name, "N", help, [field](const SimConfig& c) { return std::to_string(c.*field); },
        [=](SimConfig& c, const std::string& v) {
          c.*field = static_cast<Field>(parse_whole(v, name, lo, hi));
        });
  }
  void size(const char* name, const char* help, uint64_t SimConfig::*field);
  void real(const char* name, const char* arg, const char* help, double SimConfig::*field,
            double lo, double hi, const char* what);
  // An enum option: its values and their names come from ModeNames<E> (sim/core/modes.hpp).
  template <class E>
  void choice(const char* name, const char* help, E SimConfig::*field) {
    const std::vector<std::string> accepted = mode_names<E>();
    add(
        name, choice_arg(accepted), choice_help(help, accepted),
        [field](const SimConfig& c) { return std::string(mode_name(c.*field)); },
        [=](SimConfig& c, const std::string& v) {
          check_choice(v, name, accepted);
          mode_from_name(v, c.*field);
        });
  }
  // A behaviour of the KVM release timeline (sim/core/kvm_timeline.hpp): `auto` (unset, the
  // default) takes the form --kvm-version says; a name of E forces that form.
  template <class E>
  void versioned(const char* name, const char* help, std::optional<E> SimConfig::*field) {
    std::vector<std::string> accepted = mode_names<E>();
    accepted.insert(accepted.begin(), "auto");
    add(
        name, choice_arg(accepted), choice_help(help, accepted),
        [field](const SimConfig& c) {
          return std::string((c.*field) ? mode_name(*(c.*field)) : "auto");
        },
        [=](SimConfig& c, const std::string& v) {
          check_choice(v, name, accepted);
          E mode{};
          if (mode_from_name(v, mode)) c.*field = mode; else (c.*field).reset();
        });
  }
  // A number on the release timeline: `auto` (unset, the default) takes the value
  // --kvm-version says; a number from lo to hi forces it.
  void versioned_whole(const char* name, const char* help,
                       std::optional<unsigned> SimConfig::*field, unsigned lo, unsigned hi) {
    add(
        name, "auto|N", help,
        [field](const SimConfig& c) {
          return (c.*field) ? std::to_string(*(c.*field)) : std::string("auto");
        },
        [=](SimConfig& c, const std::string& v) {
          if (v == "auto")
            (c.*field).reset();
          else
            c.*field = unsigned(parse_whole(v, name, lo, hi));
        });
  }
  void file(const char* name, const char* help, std::string SimConfig::*field);
  void on_off(const char* name, const char* help, bool SimConfig::*field);
  void lat(const char* field_name, Cycles Latencies::*field, const char* help);
};

// One call per area; all_options() runs them in this order (the order of --help).
void add_core_options(OptionTable& o);
void add_x86_options(OptionTable& o);
void validate_x86(const SimConfig& c, const std::function<void(const std::string&, const std::string&)>& fail);
void add_trace_options(OptionTable& o);
std::vector<Option> all_options();

// Cross-option checks of each area; `fail(option, message)` throws the UsageError.
using Fail = std::function<void(const std::string&, const std::string&)>;
void validate_core(const SimConfig& c, const Fail& fail);
void validate_trace(const SimConfig& c, const Fail& fail);
void validate_all(const SimConfig& c, const Fail& fail);
// arm64 (sim/core/config_options_arm64.cpp)
void add_arm64_options(OptionTable& o);
void validate_arm64(const SimConfig& c, const Fail& fail);
// The 5.18 VMID allocator needs more VMIDs than `pcpus` (the host's physical CPUs).
void validate_vmid_space(const SimConfig& c, unsigned pcpus, const Fail& fail);
// MIPS and host memory events (sim/core/config_options_mips.cpp)
void add_mips_options(OptionTable& o);
void validate_mips(const SimConfig& c, const Fail& fail);
// remote-flush strategies, overcommit, ebizzy (sim/core/config_options_flush.cpp)
void add_flush_options(OptionTable& o);
void validate_flush(const SimConfig& c, const Fail& fail);
// the dirty-log workload's protocol (sim/core/config_options_dirty_log.cpp)
void add_dirty_log_options(OptionTable& o);
void validate_dirty_log(const SimConfig& c, const Fail& fail);
// x86 shadow MMU and guest-pt-churn (sim/core/config_options_shadow.cpp)
void add_shadow_options(OptionTable& o);
void validate_shadow(const SimConfig& c, const Fail& fail);

// --kvm-version (sim/core/config_options_release.cpp)
void add_release_options(OptionTable& o);

// limits on absurd values, against this machine's RAM (sim/core/config_options_limits.cpp)
void add_limits_options(OptionTable& o);
void validate_limits(const SimConfig& c, const Fail& fail);
void validate_host_limits(const SimConfig& c, const Fail& fail);  // a host file's VMs together

}  // namespace mmusim::config_detail
