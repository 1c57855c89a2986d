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

#include "sim/core/config_table.hpp"
#include "sim/core/error.hpp"
#include "sim/core/config_host_file.hpp"

namespace mmusim {
namespace po = boost::program_options;

namespace config_detail {

// A value check throws UsageError("--name: ..."); the caller prefixes FILE:LINE for INI values.
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
  std::vector<std::string> known{"config", "host", "help"};
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
  // A device or a named pipe is written in place (write_file_atomic): it must be writable
  // itself, its directory need not be.
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    if (::access(path.c_str(), W_OK) != 0)
      bad_value(option, "cannot write to " + in_quotes(path) + ": " + std::strerror(errno));
    return;
  }
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
                  const std::vector<std::string>& planned) {
  if (std::find(accepted.begin(), accepted.end(), v) != accepted.end()) return;
  if (std::find(planned.begin(), planned.end(), v) != planned.end()) {
    bad_value(option, in_quotes(v) + " is not modelled yet; available: " + alternatives(accepted));
  }
  bad_value(option, "expected " + alternatives(accepted) + ", got " + in_quotes(v));
}



namespace {
std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}
}  // namespace

// Hand-written instead of po::parse_config_file so that every error names the file and line
// (Boost's exceptions carry neither).
std::vector<IniLine> read_ini_lines(const std::string& path, const std::string& option) {
  const std::string opt = "--" + option + ": ";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError(opt + "cannot read " + in_quotes(path) + ": it is a directory");
  }
  // A device never ends (/dev/zero, /dev/urandom): getline would grow one line until memory
  // runs out. An INI file past 1 MiB is not a config file either. (Found while fuzzing.)
  if (std::filesystem::is_character_file(path, ec) || std::filesystem::is_block_file(path, ec)) {
    throw UsageError(opt + "cannot read " + in_quotes(path) + ": it is a device, not a file");
  }
  if (std::filesystem::is_regular_file(path, ec) &&
      std::filesystem::file_size(path, ec) > (uint64_t(1) << 20)) {
    throw UsageError(opt + in_quotes(path) + " is larger than 1M; is it a config file?");
  }
  std::ifstream in(path);
  if (!in)
    throw UsageError(opt + "cannot read " + in_quotes(path) + ": " + std::strerror(errno));
  std::vector<IniLine> lines;
  std::string raw;
  for (int line = 1; std::getline(in, raw); ++line) {
    IniLine l;
    l.line = line;
    l.where = path + ":" + std::to_string(line) + ": ";
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
      if (text.back() != ']')
        throw UsageError(l.where + "expected a section header '[name]', got " + in_quotes(text));
      l.header = true;
      l.section = trim(text.substr(1, text.size() - 2));
      lines.push_back(std::move(l));
      continue;
    }
    const size_t eq = text.find('=');
    if (eq == std::string::npos) {
      throw UsageError(l.where + "expected 'key = value', got " + in_quotes(text));
    }
    l.key = trim(text.substr(0, eq));
    l.value = trim(text.substr(eq + 1));
    if (l.key.rfind("--", 0) == 0) l.key.erase(0, 2);    // tolerate keys copied from a command line
    std::replace(l.key.begin(), l.key.end(), '_', '-');  // and field names from the header
    if (l.value.size() >= 2 && l.value.front() == '"' && l.value.back() == '"') {
      l.value = l.value.substr(1, l.value.size() - 2);
    }
    lines.push_back(std::move(l));
  }
  return lines;
}

void check_ini_key(const IniLine& l, const std::vector<Option>& table) {
  if (l.key == "config" || l.key == "help" || l.key == "host") {
    throw UsageError(l.where + in_quotes(l.key) + " cannot be used inside a file");
  }
  const bool known =
      std::any_of(table.begin(), table.end(), [&](const Option& o) { return o.name == l.key; });
  if (!known)
    throw UsageError(l.where + "unknown key " + in_quotes(l.key) + suggestion(l.key, table, ""));
}

}  // namespace config_detail

using namespace config_detail;

namespace {

// Keys of the --config file: every line `key = value`; sections are refused rather than
// silently turned into "section.key" names that then fail as unknown.
void read_ini(const std::string& path, const std::vector<Option>& table,
              std::map<std::string, Source>& values) {
  std::map<std::string, int> seen;  // key -> line, for duplicate detection
  for (const IniLine& l : read_ini_lines(path, "config")) {
    if (l.header) {
      throw UsageError(l.where + "sections are not supported; write plain 'key = value' lines "
                       "(a host description with a section per VM is read by --host)");
    }
    check_ini_key(l, table);
    auto [it, fresh] = seen.emplace(l.key, l.line);
    if (!fresh) {
      throw UsageError(l.where + in_quotes(l.key) + " is already set on line " +
                       std::to_string(it->second));
    }
    values.emplace(l.key, Source{l.value, l.where});  // a command-line value already there wins
  }
}

void print_help(std::ostream& os, std::vector<Option> table) {
  table.push_back({"General", "config", "FILE", "read 'name = value' lines from an INI file", "",
                   nullptr, nullptr});
  table.push_back({"General", "host", "FILE",
                   "several VMs that differ: a [host] section (options every VM shares) and a "
                   "[vm NAME] section per VM (docs/ARCHITECTURE.md, Several VMs)", "", nullptr,
                   nullptr});
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
  validate_all(c, fail);
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
  const std::vector<Option> table = all_options();
  po::options_description desc;
  for (const Option& o : table) {
    auto* sem = po::value<std::string>();
    if (!o.implicit.empty()) sem->implicit_value(o.implicit);
    desc.add_options()(o.name.c_str(), sem, o.help.c_str());
  }
  desc.add_options()("config", po::value<std::string>(), "INI file")(
      "host", po::value<std::string>(), "host description file")("help,h", "help");

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
  std::vector<VmSection> vm_sections;
  if (vm.count("host")) {
    if (values.count("vcpus"))
      throw UsageError(values["vcpus"].origin + "--vcpus: cannot be used with --host; each "
                       "[vm NAME] section sets its own");
    if (values.count("vms"))
      throw UsageError(values["vms"].origin + "--vms: cannot be used with --host, whose [vm NAME] "
                       "sections are the VMs");
    vm_sections = read_host_file(vm["host"].as<std::string>(), table, values);
  }

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
  // With a host file the host's own values describe no VM (its vcpus and workload are
  // defaults): only the VMs' configs are checked, each with the [host] values in it.
  if (vm_sections.empty()) {
    validate(cfg, values);
  } else {
    cfg.host_file = vm["host"].as<std::string>();
    cfg.vm_configs = vm_configs_of(cfg, vm_sections, table, values);
    cfg.vms = unsigned(cfg.vm_configs.size());
    validate_host_limits(cfg, [&](const std::string& option, const std::string& msg) {
      if (option == "host") throw UsageError("--host: " + cfg.host_file + ": " + msg);
      // A host-wide option: where it was set (the [host] line, or nowhere: its default).
      auto it = values.find(option);
      const std::string where = it != values.end() && !it->second.origin.empty()
                                    ? it->second.origin
                                    : "--host: " + cfg.host_file + ": ";
      throw UsageError(where + "--" + option + ": " + msg);
    });
  }
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
