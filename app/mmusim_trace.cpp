// mmusim-trace: converts traces between the text and binary forms (plain or gzip) and prints a
// summary of one. Both directions stream: any trace length converts in constant memory.
//   mmusim-trace convert IN OUT [--to text|binary]   (default: the other form; OUT.gz: gzip)
//   mmusim-trace info IN                               (header, record counts per thread/kind)
// Exit status: 0 success, 2 bad input (one line naming file, line or record offset, field).
#include <array>
#include <iostream>
#include <map>
#include <string>

#include "sim/core/error.hpp"
#include "sim/core/systemc_banner.hpp"
#include "workloads/trace_reader.hpp"
#include "workloads/trace_writer.hpp"

namespace {

using namespace mmusim;

const char* kUsage =
    "usage: mmusim-trace convert IN OUT [--to text|binary]\n"
    "       mmusim-trace info IN\n"
    "IN may be text or binary, plain or gzip; OUT is gzip-compressed when its name ends in .gz.\n";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

int convert(const std::string& in, const std::string& out, const std::string& to) {
  TraceReader rd(in);
  TraceHeader h = rd.header();
  h.binary = to.empty() ? !rd.header().binary : to == "binary";
  TraceWriter wr(out, h, ends_with(out, ".gz"));
  TraceRecord r;
  uint64_t n = 0;
  while (rd.next(r)) {
    wr.write(r);
    ++n;
  }
  wr.close();
  std::cout << "mmusim-trace: wrote " << n << " records to " << out << " ("
            << (h.binary ? "binary" : "text") << (ends_with(out, ".gz") ? ", gzip" : "") << ")\n";
  return 0;
}

int info(const std::string& in) {
  TraceReader rd(in);
  const TraceHeader& h = rd.header();
  std::map<std::string, uint64_t> per_thread;
  std::array<uint64_t, kHostEventKinds> kinds{};
  uint64_t records = 0, accesses = 0, gaps = 0, gap_cycles = 0;
  TraceRecord r;
  while (rd.next(r)) {
    ++records;
    ++per_thread[trace_thread_name(r)];
    if (r.op == TraceRecord::Op::Gap) {
      ++gaps;
      gap_cycles += r.cycles;
    } else if (r.op == TraceRecord::Op::Host) {
      ++kinds[unsigned(r.ev.kind)];
    } else {
      ++accesses;
    }
  }
  std::cout << "trace      " << in << "\n"
            << "form       " << (h.binary ? "binary" : "text") << ", version " << kTraceVersion << "\n"
            << "space      " << (h.gpa_space ? "gpa" : "gva") << "\n"
            << "guest-mem  " << (h.guest_mem ? std::to_string(h.guest_mem) : std::string("(not given)"))
            << "\n"
            << "records    " << records << " (accesses " << accesses << ", gaps " << gaps << " totalling "
            << gap_cycles << " cycles)\n";
  for (const auto& [t, n] : per_thread) std::cout << "thread " << t << "  " << n << " records\n";
  for (unsigned k = 0; k < kHostEventKinds; ++k)
    if (kinds[k]) std::cout << "event " << host_event_name(HostEventKind(k)) << "  " << kinds[k] << "\n";
  return 0;
}

}  // namespace

int sc_main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() >= 3 && a[0] == "convert") {
      std::string to;
      if (a.size() == 5 && a[3] == "--to" && (a[4] == "text" || a[4] == "binary")) to = a[4];
      else if (a.size() != 3) throw UsageError("convert: expected IN OUT [--to text|binary]");
      return convert(a[1], a[2], to);
    }
    if (a.size() == 2 && a[0] == "info") return info(a[1]);
    if (a.size() == 1 && (a[0] == "--help" || a[0] == "-h")) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << kUsage;
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "mmusim-trace: " << e.what() << "\n";
    return 2;
  }
}
