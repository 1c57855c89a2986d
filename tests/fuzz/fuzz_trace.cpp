// libFuzzer harness for the trace reader (workloads/trace_reader.*): text and binary traces,
// plain, gzip or xz (the reader tells them apart by their first bytes, so one harness covers
// all six). It reads every record, reads the trace again filtered to one thread, and then as a
// replay does: through the demultiplexer (workloads/trace_demux.*), several consumers pulling in
// turn with a queue budget small enough to detach some. Success or UsageError are the only
// allowed outcomes.
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "tests/fuzz/fuzz_common.hpp"
#include "workloads/trace_demux.hpp"
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

void replay(const std::string& path) {
  try {
    mmusim::TraceDemux d(path, 8 * sizeof(mmusim::TraceRecord));
    std::vector<unsigned> c;
    for (uint32_t v = 0; v < 3; ++v) c.push_back(d.add_consumer(false, v));
    c.push_back(d.add_consumer(true, 0));
    c.push_back(d.add_consumer(false, 0));  // a second copy of v0
    for (bool any = true; any;) {
      any = false;
      for (size_t k = c.size(); k-- > 0;) {
        mmusim::TraceRecord rec;
        any |= d.next(c[k], rec);
      }
    }
  } catch (const mmusim::UsageError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_scratch("in.trace", data, size);
  read_all(path, false, false, 0);
  // The filter follows the first byte, so the fuzzer can steer it to any thread.
  const uint8_t pick = size ? data[0] : 0;
  read_all(path, true, pick & 1, pick >> 1);
  replay(path);
  return 0;
}
