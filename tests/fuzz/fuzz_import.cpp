// libFuzzer harness for the trace importers (workloads/lackey_import.*, champsim_import.*) and
// the compressed-input layer under them (plain, gzip or xz, told apart by the first bytes, so
// one harness covers all three). The first byte picks the importer and its options; the rest is
// the input file. Success or UsageError are the only allowed outcomes.
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "tests/fuzz/fuzz_common.hpp"
#include "workloads/champsim_import.hpp"
#include "workloads/lackey_import.hpp"
#include "workloads/trace_text_output.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = data[0];
  const std::string in = fuzz::write_scratch("in", data + 1, size - 1);
  const std::string out = fuzz::scratch_dir() + "/out.trace";
  // Two inputs when bit 1 is set: the second vCPU's shift puts more addresses out of range.
  const std::vector<std::string> inputs = (pick & 2) ? std::vector<std::string>{in, in}
                                                     : std::vector<std::string>{in};
  try {
    mmusim::TraceTextOutput sink(out);
    if (pick & 1) {
      mmusim::ChampsimImportOptions o;
      o.merge_same_page = pick & 4;
      o.same_address_space = pick & 8;
      o.ifetch = !(pick & 16);
      o.skip = (pick >> 5) & 1;
      if (pick & 64) o.limit = 3;
      mmusim::import_champsim(inputs, o, sink);
    } else {
      mmusim::LackeyImportOptions o;
      o.merge_same_page = pick & 4;
      o.same_address_space = pick & 8;
      mmusim::import_lackey(inputs, o, sink);
    }
    sink.close();
  } catch (const mmusim::UsageError&) {
    // A clear rejection of malformed input.
  }
  return 0;
}
