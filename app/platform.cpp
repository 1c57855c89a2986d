#include "app/platform.hpp"

#include <algorithm>
#include <functional>
#include <iomanip>
#include <sstream>
#include <systemc>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "models/x86/ept_format.hpp"
#include "models/x86/tdp_mmu.hpp"
#include "models/x86/x86_pt_format.hpp"
#include "sim/core/clock.hpp"
#include "sim/core/error.hpp"
#include "sim/cpu/vcpu.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/sync/rcu.hpp"
#include "workloads/demand_paging.hpp"
#include "workloads/guest_page_tables.hpp"

namespace mmusim {

namespace {

unsigned level_of_size(uint64_t bytes) {
  return bytes >= (uint64_t(1) << 30) ? 3 : bytes >= (uint64_t(1) << 21) ? 2 : 1;
}

// The VMM's host thread: waits for the vCPUs, checks the result, destroys the VM, stops.
class VmmThread : public sc_core::sc_module {
 public:
  std::function<void()> body;
  explicit VmmThread(sc_core::sc_module_name n) : sc_core::sc_module(n) {
    SC_HAS_PROCESS(VmmThread);
    SC_THREAD(main);
  }

 private:
  void main() { body(); }
};

}  // namespace

struct Platform::Impl {
  const SimConfig cfg;
  Stats stats;
  Timeline timeline;
  Violations oracle;
  PhysMem phys;
  PagePool pool;
  MemorySystem memsys;
  X86PageFormat guest_fmt;
  EptFormat ept_fmt;
  KernelHeap heap;
  HostMm host;
  Rcu rcu;
  FillClock fills;
  RemoteFlush flush;
  std::unique_ptr<TdpMmu> tdp;
  DemandPaging workload;
  GuestLayout layout;
  std::unique_ptr<GuestPageTables> guest_pt;
  std::vector<uint64_t> touched;
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  MemPort vmm_port;
  std::unique_ptr<Agent> vmm;
  VmmThread vmm_thread;
  bool finished = false;
  Cycles populate_end = 0, teardown_cycles = 0;

  explicit Impl(const SimConfig& c)
      : cfg(c),
        timeline(!c.timeline.empty()),
        oracle(stats, c.check),
        pool(phys),
        memsys("mem", cfg, phys, stats),
        guest_fmt(c.guest_levels),
        ept_fmt(c.ept_levels),
        host(cfg, stats, level_of_size(c.page_size)),
        rcu("rcu", stats),
        flush(cfg, stats, timeline, oracle, fills),
        workload(cfg),
        vmm_port("vmm_port", 0),
        vmm_thread("vmm") {
    if (cfg.arch != "x86") throw UsageError("--arch: only x86 is modelled so far, got '" + cfg.arch + "'");
    tdp = std::make_unique<TdpMmu>(cfg, ept_fmt, phys, pool, host, flush, rcu, heap, stats,
                                   timeline, oracle);
    build_guest();
    build_vcpus();
    vmm_port.socket.bind(memsys.target);
    vmm = std::make_unique<Agent>("vmm", -1, vmm_port, timeline.track("host.vmm"));
    rcu.register_agent(*vmm);
    vmm_thread.body = [this] { vmm_main(); };
  }

  void build_guest() {
    layout.data_bytes = workload.data_bytes();
    // Guest page-table pages are backed by small host pages and pre-mapped in stage 2.
    host.set_backing_level(GuestLayout::kPageTableGpa >> kPageShift,
                           (GuestLayout::kDataGpa - GuestLayout::kPageTableGpa) >> kPageShift, 1);
    guest_pt = std::make_unique<GuestPageTables>(
        guest_fmt, phys, [this](uint64_t gfn) { return host.resolve_functional(gfn).hpa; });
    guest_pt->map(layout.gva_of(0), layout.gpa_of(0), layout.data_bytes);
    for (uint64_t gfn : guest_pt->table_gfns())
      tdp->map_functional(gfn << kPageShift, 1, host.lookup(gfn).hpa);
    touched.assign((layout.data_bytes / kPageSize + 63) / 64, 0);
  }

  void build_vcpus() {
    VcpuEnv env{cfg, guest_fmt, ept_fmt, *tdp, flush, fills, stats, timeline, oracle, &pool, phys};
    const unsigned pcpus = cfg.physical_cpus();
    for (unsigned i = 0; i < cfg.vcpus; ++i) {
      GuestContext g;
      g.guest_root_gpa = guest_pt->root_gpa();
      g.tlb_tag = 1;
      g.touched = &touched;
      g.touched_base_gfn = GuestLayout::kDataGpa >> kPageShift;
      auto v = std::make_unique<Vcpu>(("vcpu" + std::to_string(i)).c_str(), int(i), int(i % pcpus),
                                      env, g, workload.stream(i), heap.alloc());
      v->port.socket.bind(memsys.target);
      v->walker.port.socket.bind(memsys.target);
      flush.add_vcpu(v.get());
      rcu.register_agent(v->agent());
      vcpus.push_back(std::move(v));
    }
  }

  void vmm_main() {
    for (auto& v : vcpus)
      while (!v->finished()) sc_core::wait(v->finished_event());
    populate_end = Clock::now();
    check_stage2();
    Cycles t0 = vmm->now();
    tdp->teardown(*vmm);
    vmm->sync();
    teardown_cycles = vmm->now() - t0;
    if (pool.in_use() != 0)
      oracle.report("leaked_table", vmm->now(), vmm->name(), 0,
                    std::to_string(pool.in_use()) + " page-table pages still allocated after teardown");
    finished = true;
    sc_core::sc_stop();
  }

  // The lost-update oracle: the stage-2 tables map exactly the pages the run touched (and the
  // pre-mapped guest page-table pages), each to the host frame that backs it, at the size the
  // configuration and host backing allow.
  void check_stage2() {
    if (!oracle.enabled()) return;
    std::vector<Stage2Leaf> leaves = tdp->leaves();
    const uint64_t data_gfn0 = GuestLayout::kDataGpa >> kPageShift;
    const uint64_t data_pages = layout.data_bytes / kPageSize;
    auto is_touched = [&](uint64_t gfn) {
      if (gfn < data_gfn0 || gfn >= data_gfn0 + data_pages) return false;
      uint64_t i = gfn - data_gfn0;
      return ((touched[i / 64] >> (i % 64)) & 1) != 0;
    };
    std::vector<uint64_t> pt_gfns = guest_pt->table_gfns();
    std::sort(pt_gfns.begin(), pt_gfns.end());
    auto is_pt = [&](uint64_t gfn) { return std::binary_search(pt_gfns.begin(), pt_gfns.end(), gfn); };
    uint64_t covered = 0;
    Cycles now = Clock::now();
    for (const Stage2Leaf& l : leaves) {
      uint64_t first = l.gpa >> kPageShift, n = ept_fmt.span(l.level) >> kPageShift;
      bool any = false;
      for (uint64_t g = first; g < first + n; ++g) {
        if (!is_touched(g) && !is_pt(g)) continue;
        any = true;
        ++covered;
        HostPage hp = host.lookup(g);
        if (hp.hpa != l.hpa + ((g - first) << kPageShift))
          oracle.report("wrong_frame", now, "oracle", g << kPageShift,
                        "stage-2 leaf maps a different host frame than the one backing the page");
      }
      if (!any)
        oracle.report("unexpected_mapping", now, "oracle", l.gpa,
                      "stage-2 leaf maps no page the run touched");
    }
    uint64_t expected = pt_gfns.size();
    for (uint64_t w : touched) expected += uint64_t(__builtin_popcountll(w));
    if (covered != expected)
      oracle.report("lost_update", now, "oracle", 0,
                    std::to_string(expected - covered) + " touched pages have no stage-2 mapping");
    stats.counter("check.touched_pages").set(expected);
    stats.counter("check.stage2_leaves").set(leaves.size());
  }
};

Platform::Platform(const SimConfig& cfg) {
  // sc_stop() is how a finished run ends; SystemC's note about it is noise on stdout.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO,
                                          sc_core::SC_DO_NOTHING);
  Clock::set_ghz(cfg.clock_ghz);
  tlm::tlm_global_quantum::instance().set(Clock::cycles(cfg.quantum));
  impl_ = std::make_unique<Impl>(cfg);
}

Platform::~Platform() = default;

void Platform::run() {
  sc_core::sc_start();
  if (!impl_->finished)
    throw ModelError("simulation stopped before every vCPU finished (simulated deadlock)");
  Stats& s = impl_->stats;
  for (auto& v : impl_->vcpus) v->publish_stats(s);
  s.counter("sim.cycles").set(impl_->populate_end);
  s.counter("sim.teardown_cycles").set(impl_->teardown_cycles);
  s.counter("sim.vcpus").set(impl_->cfg.vcpus);
  s.counter("hv.tables.peak").set(impl_->pool.peak());
  s.counter("host.backed_bytes").set(impl_->host.backed_bytes());
}

Stats& Platform::stats() { return impl_->stats; }
const Violations& Platform::violations() const { return impl_->oracle; }
const TdpMmu& Platform::tdp_mmu() const { return *impl_->tdp; }

void Platform::write_outputs() const {
  if (!impl_->cfg.stats_json.empty()) impl_->stats.write_json_file(impl_->cfg.stats_json);
  if (!impl_->cfg.timeline.empty()) impl_->timeline.write(impl_->cfg.timeline, impl_->cfg.clock_ghz);
}

void Platform::print_summary(std::ostream& os, double wall_seconds) const {
  const Stats& s = impl_->stats;
  const SimConfig& c = impl_->cfg;
  auto v = [&](const char* n) { return s.value(n); };
  os << "mmusim: " << c.arch << " " << c.workload << ", " << c.vcpus << " vCPUs x "
     << (c.mem_per_vcpu >> 20) << " MiB, " << (c.page_size >> 10) << " KiB pages, mmu_lock "
     << c.mmu_lock << ", overlap " << c.overlap << ", pattern " << c.pattern << "\n";
  os << "  simulated time      " << v("sim.cycles") << " cycles ("
     << std::fixed << std::setprecision(3) << double(v("sim.cycles")) / (c.clock_ghz * 1e6)
     << " ms at " << c.clock_ghz << " GHz)\n";
  Cycles mx = 0, sum = 0;
  for (unsigned i = 0; i < c.vcpus; ++i) {
    Cycles p = s.value("vcpu." + std::to_string(i) + ".populate_cycles");
    mx = std::max(mx, p);
    sum += p;
  }
  os << "  populate per vCPU   mean " << sum / c.vcpus << " / max " << mx << " cycles\n";
  os << "  guest accesses      " << v("accesses") << " (L1 TLB hit " << v("tlb.l1.hit")
     << ", L2 hit " << v("tlb.l2.hit") << ", walks " << v("walk.count") << ")\n";
  const Histogram* fl = s.find_histogram("hv.fault.latency");
  os << "  stage-2 faults      " << v("hv.fault.count") << " (fixed " << v("hv.fault.fixed")
     << ", retry " << v("hv.fault.retry") << ", spurious " << v("hv.fault.spurious") << ")";
  if (fl && fl->count())
    os << ", latency mean " << std::setprecision(0) << fl->mean() << " p99 " << fl->percentile(99)
       << " cycles";
  os << "\n";
  os << "  spte cmpxchg fails  " << v("hv.spte.cmpxchg_fail") << "\n";
  const Histogram* lw = s.find_histogram("hv.lock.mmu_lock.wait");
  if (lw) os << "  mmu_lock waits      mean " << std::setprecision(1) << lw->mean() << " max " << lw->max() << " cycles\n";
  os << "  remote flushes      " << v("hv.flush.count") << " (IPIs " << v("hv.ipi.count") << ")\n";
  os << "  check violations    " << v("check.violations") << (c.check ? "" : " (checking off)") << "\n";
  os << "  host time           " << std::setprecision(2) << wall_seconds << " s\n";
}

}  // namespace mmusim
