// mmusim-trace: converts traces between the text and binary forms (plain or gzip), prints a
// summary of one, and imports other tools' traces. Everything streams: any trace length converts
// in constant memory.
//   mmusim-trace convert IN OUT [--to text|binary]   (default: the other form; OUT.gz: gzip)
//   mmusim-trace info IN                               (header, record counts per thread/kind)
//   mmusim-trace import lackey LOG... -o OUT [options]     (valgrind lackey logs)
//   mmusim-trace import champsim TRACE... -o OUT [options] (ChampSim input_instr traces)
// Exit status: 0 success, 2 bad input (one line naming file, line or record offset, field).
#include <array>
#include <iostream>
#include <map>
#include <string>

#include "sim/core/error.hpp"
#include "sim/core/systemc_banner.hpp"
#include "workloads/champsim_import.hpp"
#include "workloads/lackey_import.hpp"
#include "workloads/trace_reader.hpp"
#include "workloads/trace_text_output.hpp"
#include "workloads/trace_writer.hpp"

namespace {

using namespace mmusim;

const char* kUsage =
    "usage: mmusim-trace convert IN OUT [--to text|binary]\n"
    "       mmusim-trace info IN\n"
    "       mmusim-trace import lackey LOG... -o OUT [--merge-same-page] [--same-address-space]\n"
    "       mmusim-trace import champsim TRACE... -o OUT [--skip N] [--limit N] [--no-ifetch]\n"
    "                                  [--merge-same-page] [--same-address-space]\n"
    "IN may be text or binary, plain or gzip; OUT is gzip-compressed when its name ends in .gz\n"
    "(import: '-' is standard output). Import inputs may be plain, gzip or xz.\n"
    "import: log or trace k becomes vCPU k; its addresses are shifted by k << 40 (separate\n"
    "  address spaces) unless --same-address-space. --merge-same-page drops an access to the\n"
    "  same 4 KiB page as the access just before it of the same kind, counting one cycle of\n"
    "  compute (a gap record) per dropped access: lackey compares with the previous access of\n"
    "  the log whatever its kind, champsim with the previous access of the same kind (fetch,\n"
    "  read or write) of that trace.\n"
    "import champsim: each instruction gives a fetch of its ip (unless --no-ifetch), reads of\n"
    "  its non-zero source_memory and writes of its non-zero destination_memory addresses, no\n"
    "  sizes. --skip N drops the first N instructions of each trace, --limit N imports at most\n"
    "  N instructions of each trace after those (the rest is not read).\n"
    "See docs/TRACE_FORMAT.md.\n";

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

uint64_t count_of(const std::string& opt, const std::string& v) {
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError(opt + ": expected a number of instructions, got '" + v + "'");
  return std::stoull(v);
}

// import lackey|champsim INPUT... -o OUT [options]
int import(const std::vector<std::string>& a) {
  const std::string& from = a[1];
  if (from != "lackey" && from != "champsim")
    throw UsageError("import: unknown trace kind '" + from + "' (lackey or champsim)");
  std::vector<std::string> inputs;
  std::string out;
  LackeyImportOptions lackey;
  ChampsimImportOptions champsim;
  for (size_t i = 2; i < a.size(); ++i) {
    const std::string& o = a[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 == a.size()) throw UsageError("import: " + o + " needs a value");
      return a[++i];
    };
    if (o == "-o" || o == "--output") out = value();
    else if (o.rfind("--output=", 0) == 0) out = o.substr(9);
    else if (o == "--merge-same-page") lackey.merge_same_page = champsim.merge_same_page = true;
    else if (o == "--same-address-space") lackey.same_address_space = champsim.same_address_space = true;
    else if (from == "champsim" && o == "--skip") champsim.skip = count_of(o, value());
    else if (from == "champsim" && o == "--limit") champsim.limit = count_of(o, value());
    else if (from == "champsim" && o == "--no-ifetch") champsim.ifetch = false;
    else if (o.size() > 1 && o[0] == '-') throw UsageError("import " + from + ": unknown option " + o);
    else inputs.push_back(o);
  }
  if (inputs.empty()) throw UsageError("import " + from + ": no input files");
  if (out.empty()) throw UsageError("import " + from + ": -o OUT is required");
  if (inputs.size() > kTraceMaxVcpus)
    throw UsageError("import " + from + ": more than " + std::to_string(kTraceMaxVcpus) + " inputs");
  TraceTextOutput sink(out);
  std::vector<uint64_t> counts =
      from == "lackey" ? import_lackey(inputs, lackey, sink) : import_champsim(inputs, champsim, sink);
  sink.close();
  for (size_t v = 0; v < counts.size(); ++v)
    std::cerr << "mmusim-trace: v" << v << ": " << counts[v] << " records from " << inputs[v] << "\n";
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
    if (a.size() >= 2 && a[0] == "import") return import(a);
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
