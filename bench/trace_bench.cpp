#include "bench/trace_bench.hpp"

#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "app/platform.hpp"
#include "bench/child_process.hpp"
#include "sim/core/config.hpp"
#include "workloads/trace_demux.hpp"
#include "workloads/trace_reader.hpp"
#include "workloads/trace_writer.hpp"

namespace mmusim_bench {

namespace {

using mmusim::TraceRecord;

constexpr unsigned kVcpus = 4;
constexpr uint64_t kRegionBytes = uint64_t(16) << 20;
constexpr unsigned kRun = 64;  // records per vCPU before the next vCPU's run

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The synthetic program of one vCPU (see trace_bench.hpp).
struct VcpuProgram {
  explicit VcpuProgram(unsigned v) : vcpu(v), base(0x7f0000000000ull + (uint64_t(v) << 32)),
                                     rng(0x9e3779b97f4a7c15ull * (v + 1)) {}
  TraceRecord next() {
    TraceRecord r;
    r.thread = vcpu;
    if (++n % 9 == 0) {
      r.op = TraceRecord::Op::Gap;
      r.cycles = 20 + (rng >> 59);
      return r;
    }
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    if (n % 9 == 8) offset = (rng >> 20) % kRegionBytes & ~uint64_t(63);
    else offset = (offset + 64) % kRegionBytes;
    r.op = (rng >> 62) == 0 ? TraceRecord::Op::Write : TraceRecord::Op::Read;
    r.addr = base + offset;
    r.size = 8;
    return r;
  }
  unsigned vcpu;
  uint64_t base, rng, offset = 0, n = 0;
};

void write_traces(const std::string& dir, uint64_t records) {
  mmusim::TraceHeader h;
  h.binary = true;
  mmusim::TraceWriter bin(dir + "/binary", h, false), bin_gz(dir + "/binary.gz", h, true);
  h.binary = false;
  mmusim::TraceWriter text(dir + "/text", h, false), text_gz(dir + "/text.gz", h, true);
  std::vector<VcpuProgram> p;
  for (unsigned v = 0; v < kVcpus; ++v) p.emplace_back(v);
  for (uint64_t i = 0; i < records; ++i) {
    const TraceRecord r = p[(i / kRun) % kVcpus].next();
    bin.write(r);
    bin_gz.write(r);
    text.write(r);
    text_gz.write(r);
  }
  bin.close();
  bin_gz.close();
  text.close();
  text_gz.close();
}

// text -> text.xz with liblzma (preset 1).
void write_xz(const std::string& from, const std::string& to) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_easy_encoder(&s, 1, LZMA_CHECK_CRC64) != LZMA_OK) throw std::runtime_error("lzma init");
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  std::vector<char> ib(1 << 20), ob(1 << 20);
  lzma_action action = LZMA_RUN;
  for (;;) {
    if (s.avail_in == 0 && action == LZMA_RUN) {
      in.read(ib.data(), std::streamsize(ib.size()));
      s.next_in = reinterpret_cast<const uint8_t*>(ib.data());
      s.avail_in = size_t(in.gcount());
      if (s.avail_in == 0) action = LZMA_FINISH;
    }
    s.next_out = reinterpret_cast<uint8_t*>(ob.data());
    s.avail_out = ob.size();
    lzma_ret rc = lzma_code(&s, action);
    out.write(ob.data(), std::streamsize(ob.size() - s.avail_out));
    if (rc == LZMA_STREAM_END) break;
    if (rc != LZMA_OK) throw std::runtime_error("lzma encode");
  }
  lzma_end(&s);
  if (!out) throw std::runtime_error("cannot write " + to);
}

double file_mib(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? double(st.st_size) / (1 << 20) : 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Figures {
  std::vector<double> wall, inproc;  // seconds
  double records = 0, max_rss_mib = 0;
  std::vector<double> extra;         // replay: run seconds
};

// Runs one child scenario --repeat times; the child prints "SECONDS RECORDS [EXTRA]".
Figures measure(const std::string& scenario, int repeat) {
  Figures f;
  for (int i = 0; i < repeat; ++i) {
    ChildRun c = run_child(scenario);
    std::istringstream is(c.out);
    double s = 0, rec = 0, extra = 0;
    is >> s >> rec >> extra;
    f.wall.push_back(c.wall_seconds);
    f.inproc.push_back(s);
    f.extra.push_back(extra);
    f.records = rec;
    f.max_rss_mib = std::max(f.max_rss_mib, c.max_rss_kib / 1024);
  }
  return f;
}

}  // namespace

int trace_child(const std::string& scenario) {
  const size_t colon = scenario.find(':');
  const std::string kind = scenario.substr(0, colon), path = scenario.substr(colon + 1);
  const double t0 = now_s();
  if (kind == "trace-read") {
    mmusim::TraceReader rd(path);
    uint64_t n = 0, sum = 0;
    for (TraceRecord r; rd.next(r);) {
      ++n;
      sum += r.addr;  // the records are used, so the loop cannot be dropped
    }
    std::printf("%.6f %llu %llu\n", now_s() - t0, (unsigned long long)n, (unsigned long long)(sum & 1));
    return 0;
  }
  if (kind == "trace-demux") {
    mmusim::TraceDemux d(path, size_t(64) << 20);
    std::vector<unsigned> c;
    for (unsigned v = 0; v < kVcpus; ++v) c.push_back(d.add_consumer(false, v));
    uint64_t n = 0;
    for (bool any = true; any;) {
      any = false;
      for (unsigned id : c) {
        TraceRecord r;
        for (unsigned k = 0; k < kRun && d.next(id, r); ++k, ++n) any = true;
      }
    }
    std::printf("%.6f %llu 0\n", now_s() - t0, (unsigned long long)n);
    return 0;
  }
  if (kind == "trace-replay") {
    mmusim::SimConfig c;
    c.quiet = true;
    c.workload = mmusim::WorkloadKind::Trace;
    c.trace = path;
    c.vcpus = kVcpus;
    mmusim::PlatformHooks hooks;
    hooks.keep_final_leaves = false;
    mmusim::Platform p(c, std::move(hooks));  // includes the pre-run scan
    const double t1 = now_s();
    p.run();
    const double t2 = now_s();
    std::printf("%.6f %llu %.6f\n", t2 - t0, (unsigned long long)p.stats.value("trace.records"), t2 - t1);
    return 0;
  }
  std::cerr << "mmusim-bench: unknown trace scenario " << scenario << "\n";
  return 2;
}

int trace_bench(int repeat, uint64_t records, bool json) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/mmusim-bench-trace-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  const char* dir_c = mkdtemp(buf.data());
  if (!dir_c) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = dir_c;
  const double w0 = now_s();
  write_traces(dir, records);
  write_xz(dir + "/text", dir + "/text.xz");
  if (!json)
    std::printf("trace: %llu records, %u vCPUs, written in %.1f s to %s\n",
                (unsigned long long)records, kVcpus, now_s() - w0, dir.c_str());
  const char* encodings[] = {"binary", "binary.gz", "text", "text.gz", "text.xz"};
  if (json) std::printf("{\"records\": %llu, \"repeat\": %d, \"read\": {", (unsigned long long)records, repeat);
  else
    std::printf("| input | MiB | M records/s, whole process | best | worst | M records/s in process | peak RSS MiB |\n"
                "|---|---|---|---|---|---|---|\n");
  bool first = true;
  for (const char* e : encodings) {
    const std::string path = dir + "/" + e;
    Figures f = measure("trace-read:" + path, repeat);
    std::vector<double> rate;
    for (double w : f.wall) rate.push_back(f.records / w / 1e6);
    const auto [lo, hi] = std::minmax_element(rate.begin(), rate.end());
    const double in_rate = f.records / median(f.inproc) / 1e6;
    if (json)
      std::printf("%s\"%s\": {\"mib\": %.1f, \"mrec_per_s\": %.2f, \"best\": %.2f, \"worst\": %.2f, "
                  "\"mrec_per_s_in_process\": %.2f, \"max_rss_mib\": %.1f}",
                  first ? "" : ", ", e, file_mib(path), median(rate), *hi, *lo, in_rate, f.max_rss_mib);
    else
      std::printf("| %s | %.1f | %.2f | %.2f | %.2f | %.2f | %.1f |\n", e, file_mib(path), median(rate),
                  *hi, *lo, in_rate, f.max_rss_mib);
    std::fflush(stdout);
    first = false;
  }
  const std::string bin = dir + "/binary";
  Figures demux = measure("trace-demux:" + bin, repeat);
  Figures replay = measure("trace-replay:" + bin, repeat);
  const double demux_s = median(demux.inproc), run_s = median(replay.extra);
  const double own_ns = (run_s - demux_s) / replay.records * 1e9;
  if (json) {
    std::printf("}, \"demux_seconds\": %.3f, \"replay_run_seconds\": %.3f, \"replay_process_seconds\": %.3f, "
                "\"replay_own_ns_per_record\": %.1f, \"replay_max_rss_mib\": %.1f}\n",
                demux_s, run_s, median(replay.wall), own_ns, replay.max_rss_mib);
  } else {
    std::printf("demux:  binary, %u consumers in turn: %.3f s -> %.2f M records/s (median of %d)\n", kVcpus,
                demux_s, demux.records / demux_s / 1e6, repeat);
    std::printf("replay: binary on %u vCPUs: run %.3f s (process %.3f s, peak RSS %.1f MiB); less the "
                "demux's reading: %.1f ns per record simulated\n",
                kVcpus, run_s, median(replay.wall), replay.max_rss_mib, own_ns);
  }
  for (const char* e : encodings) std::remove((dir + "/" + e).c_str());
  rmdir(dir.c_str());
  return 0;
}

}  // namespace mmusim_bench
