// libFuzzer harness for the configuration parser (sim/core/config*.cpp): the command line and
// the INI file. The input is split at the first line "%%": before it, one command-line word per
// line (after "mmusim"); after it, the text of an INI file passed with --config. Any outcome but
// success or UsageError -- another exception, a crash, a sanitizer report, a hang -- is a finding.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/core/config.hpp"
#include "sim/core/error.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

// --help prints the whole table; keep the fuzzer's output readable and its loop fast.
struct Silence {
  std::ostringstream sink;
  Silence() { std::cout.rdbuf(sink.rdbuf()); }
} silence;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const size_t split = in.find("\n%%\n");
  const std::string args = in.substr(0, split);
  std::vector<std::string> words{"mmusim"};
  std::istringstream lines(args);
  for (std::string w; std::getline(lines, w);) {
    // The harness owns --config (it names the scratch INI file) so the fuzzer cannot point the
    // parser at devices such as /dev/zero; the cases of unreadable paths are unit-tested.
    if (w.rfind("--config", 0) == 0) continue;
    words.push_back(w);
  }
  if (split != std::string::npos) {
    const std::string ini = in.substr(split + 4);
    words.push_back("--config");
    words.push_back(fuzz::write_scratch("run.ini", reinterpret_cast<const uint8_t*>(ini.data()),
                                        ini.size()));
  }
  std::vector<const char*> argv;
  for (const std::string& w : words) argv.push_back(w.c_str());
  mmusim::SimConfig cfg;
  try {
    mmusim::parse_config(static_cast<int>(argv.size()), argv.data(), cfg);
  } catch (const mmusim::UsageError&) {
    // Rejected input: the expected outcome for most of what the fuzzer makes.
  }
  std::cout.clear();
  return 0;
}
