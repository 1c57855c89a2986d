// libFuzzer harness for the trace reader (workloads/trace_reader.*): text and binary traces,
// plain or gzip (the reader tells them apart by their first bytes, so one harness covers all
// four). It reads every record, then reads the trace again filtered to one thread as a replay
// does. Success or UsageError are the only allowed outcomes.
#include <string>

#include "sim/core/error.hpp"
#include "tests/fuzz/fuzz_common.hpp"
#include "workloads/trace_reader.hpp"

namespace {

void read_all(const std::string& path, bool filtered, bool host, uint32_t thread) {
  try {
    mmusim::TraceReader r(path);
    if (filtered) r.only(host, thread);
    mmusim::TraceRecord rec;
    while (r.next(rec)) {
      (void)r.where();
      (void)mmusim::trace_thread_name(rec);
    }
  } catch (const mmusim::UsageError&) {
    // A clear rejection of a malformed trace.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_scratch("in.trace", data, size);
  read_all(path, false, false, 0);
  // The filter follows the first byte, so the fuzzer can steer it to any thread.
  const uint8_t pick = size ? data[0] : 0;
  read_all(path, true, pick & 1, pick >> 1);
  return 0;
}
