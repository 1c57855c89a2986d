#include "app/platform.hpp"

#include <algorithm>
#include <functional>
#include <iomanip>
#include <sstream>
#include <systemc>

#include "app/params_hardware.hpp"
#include "app/params_models.hpp"
#include "app/params_workloads.hpp"
#include "models/arch_registry.hpp"
#include "sim/core/error.hpp"
#include "sim/cpu/vcpu.hpp"
#include "sim/hv/host_mm.hpp"
#include "sim/hv/kernel_heap.hpp"
#include "sim/hv/remote_flush.hpp"
#include "sim/mem/memory_system.hpp"
#include "sim/sync/rcu.hpp"
#include "workloads/guest_page_tables.hpp"

namespace mmusim {

HostThread::HostThread(sc_core::sc_module_name name, SimKernel& kernel, int pcpu, int track,
                       std::function<void(Agent&)> body)
    : sc_core::sc_module(name), port("port", pcpu, kernel.clock()),
      agent(kernel, std::string(this->basename()), -1, port, track), body_(std::move(body)) {
  SC_HAS_PROCESS(HostThread);
  SC_THREAD(main);
  sensitive << agent.wake_event();  // only parking waits on it (Agent::use_static_wake)
  agent.use_static_wake();
}

void HostThread::main() {
  body_(agent);
  agent.sync();
  finished = true;
  agent.kernel().notify(finished_event);
  agent.before_kernel_wait();  // the thread ends: control goes back to the kernel
}

namespace {
void quiet_systemc_reports() {
  // sc_stop() is how a finished run ends; SystemC's note about it is noise on stdout.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
}
// The kernel layer's parameters (built before any other member).
KernelParams kernel_params(const SimConfig& cfg) {
  quiet_systemc_reports();
  KernelParams p;
  p.clock_ghz = cfg.clock_ghz;
  p.quantum = cfg.quantum;
  p.lookahead = cfg.sync_lookahead;
  p.direct_handoff = cfg.direct_handoff;
  return p;
}
}  // namespace

Platform::Platform(const SimConfig& c, PlatformHooks hooks)
    : kernel(kernel_params(c)),
      cfg(c),
      faults(stats),
      guest_stats(stats),
      timeline(!c.timeline.empty()),
      oracle(stats, c.check),
      pool(phys),
      memsys("mem", memory_system_params(cfg), kernel.clock(), phys, stats),
      host(host_mm_params(cfg), heap, phys, stats),
      rcu("rcu", kernel, stats),
      flush(remote_flush_params(cfg), stats, timeline, oracle, fills),
      workload(make_workload(cfg)),
      keep_final_leaves(hooks.keep_final_leaves) {
  ArchDeps deps{phys,  pool,     host,   flush,    rcu,    heap,
                stats, faults,   timeline, oracle, touched};
  arch = make_arch(cfg.arch, arch_params(cfg), deps);
  if (auto s = arch->make_flush_strategy(cfg.flush)) flush.set_strategy(std::move(s));
  if (!flush.has_strategy())
    throw UsageError(std::string("--flush: '") + mode_name(cfg.flush) + "' is not available for --arch " + mode_name(cfg.arch));
  workload_env = std::make_unique<WorkloadEnv>(WorkloadEnv{mmu(), host, flush, rcu, phys,
      arch->guest_format(), stats, timeline, oracle, touched});
  workload_env->host_events = hooks.host_events ? hooks.host_events : arch->host_event_sink();
  build_guest();
  workload->attach(*workload_env);
  build_vcpus(hooks);
  for (auto& spec : workload->host_threads()) add_host_thread(spec.name, spec.body);
  for (auto& [name, fn] : hooks.host_threads) add_host_thread(name, fn);
  vmm = std::make_unique<HostThread>("vmm", kernel, 0, timeline.track("host.vmm"),
                                     [this](Agent& a) { vmm_main(a); });
  vmm->port.socket.bind(memsys.target);
  rcu.register_agent(vmm->agent);
}

void Platform::add_host_thread(const std::string& name, std::function<void(Agent&)> body) {
  // SystemC module names may not contain '.', the hierarchy separator (warning W506).
  std::string module = name;
  std::replace(module.begin(), module.end(), '.', '_');
  auto h = std::make_unique<HostThread>(module.c_str(), kernel, 0, timeline.track("host." + name),
                                        std::move(body));
  h->port.socket.bind(memsys.target);
  rcu.register_agent(h->agent);
  host_threads.push_back(std::move(h));
}

void Platform::build_guest() {
  layout.data_bytes = workload->data_bytes();
  touched.resize((GuestLayout::kDataGpa + layout.data_bytes) >> kPageShift);
  // Guest page-table pages are backed by small host pages.
  host.set_backing_level(GuestLayout::kPageTableGpa >> kPageShift,
                         (GuestLayout::kDataGpa - GuestLayout::kPageTableGpa) >> kPageShift, 1);
  if (workload->guest_os()) return;  // the guest kernel builds its tables on first touch
  // As KVM selftests do: tables for the whole data window, pre-mapped in stage 2.
  guest_pt = std::make_unique<GuestPageTables>(
      arch->guest_format(), phys, [this](uint64_t gfn) { return host.resolve_functional(gfn).hpa; });
  guest_pt->map(layout.gva_of(0), layout.gpa_of(0), layout.data_bytes);
  for (uint64_t gfn : guest_pt->table_gfns()) {
    mmu().map_functional(gfn << kPageShift, 1, host.lookup(gfn).hpa);
    touched.set(gfn);
  }
}

void Platform::build_vcpus(const PlatformHooks& hooks) {
  VcpuEnv env{kernel, vcpu_params(cfg), arch->guest_format(), arch->stage2_format(), mmu(),
              flush, fills, stats, guest_stats, faults, timeline, oracle, &pool, phys,
              [this, walker = walker_params(cfg)](const char* name) {
                return arch->make_walker(name, walker, kernel.clock(), &pool, &oracle, stats);
              }};
  const unsigned pcpus = cfg.physical_cpus();
  const ProgressParams shown = progress_params(cfg);
  if (shown.enabled)  // a replaced stream's size is not the workload's
    progress = std::make_unique<ProgressMeter>(shown, kernel.clock(), faults.count,
                                               hooks.stream ? WorkSize{} : workload->vcpu_work());
  for (unsigned i = 0; i < cfg.vcpus; ++i) {
    GuestContext g;
    g.os = workload->guest_os();
    g.rendezvous = workload->rendezvous();
    g.guest_root_gpa = g.os ? g.os->root_gpa() : guest_pt->root_gpa();
    g.tlb_tag = 1;
    g.touched = &touched;
    auto ops = hooks.stream ? hooks.stream(i) : workload->vcpu_stream(i);
    if (progress) ops = progress->wrap(std::move(ops));
    auto v = std::make_unique<Vcpu>(("vcpu" + std::to_string(i)).c_str(), int(i), int(i % pcpus),
                                    env, g, std::move(ops), heap.alloc());
    v->port.socket.bind(memsys.target);
    v->walker->mem_port().socket.bind(memsys.target);
    attach_pml_log(*v);
    flush.add_vcpu(v.get());
    rcu.register_agent(v->agent());
    vcpus.push_back(std::move(v));
  }
  attach_overcommit();
}

// Page-Modification Logging (docs/ARCHITECTURE.md, Dirty logging): each vCPU's log page and
// index word, as KVM allocates them and writes them into the vCPU's VMCS.
void Platform::attach_pml_log(Vcpu& v) {
  if (cfg.pml != PmlMode::On) return;
  PmlLogging* pml = capability<PmlLogging>(mmu());
  if (!pml || !pml->pml_enabled())
    throw UsageError("--pml on: Page-Modification Logging is modelled for --arch x86 with "
                     "--x86-mmu tdp only");
  PmlLog log;
  log.buffer = heap.alloc(kPageSize);
  log.index = heap.alloc();
  phys.write64(log.index, kPmlIndexFirst);
  v.walker->set_pml_log(log);
  pml->attach_pml_log(v.vcpu_id(), log);
}

void Platform::vmm_main(Agent& vmm) {
  vmm.before_kernel_wait();
  for (auto& v : vcpus)
    while (!v->finished()) sc_core::wait(v->finished_event());
  for (auto& h : host_threads)
    while (!h->finished) sc_core::wait(h->finished_event);
  populate_end = kernel.clock().now();
  check_stage2();
  Cycles t0 = vmm.now();
  mmu().teardown(vmm);
  for (auto& v : vcpus) v->walker->free_tables();
  vmm.sync();
  teardown_cycles = vmm.now() - t0;
  if (pool.in_use() != 0)
    oracle.report("leaked_table", vmm.now(), vmm.name(), 0,
                  std::to_string(pool.in_use()) + " page-table pages still allocated after teardown");
  finished = true;
  sc_core::sc_stop();
}

// The lost-update oracle: the stage-2 tables map exactly the pages the run touched (and the
// pre-mapped guest page-table pages), each to the host frame that backs it.
// The leaves are visited one at a time rather than collected first: at 16 M leaves the vector alone
// would outweigh the tables.
void Platform::check_stage2() {
  if (keep_final_leaves) final_leaves = mmu().leaves();
  if (!oracle.enabled()) return;
  const PageTableFormat& fmt = arch->stage2_format();
  uint64_t covered = 0, leaves = 0;
  Cycles now = kernel.clock().now();
  mmu().visit_leaves([&](const Stage2Leaf& l) {
    ++leaves;
    uint64_t first = l.gpa >> kPageShift, n = fmt.span(l.level) >> kPageShift;
    bool any = false;
    for (uint64_t g = first; g < first + n; ++g) {
      if (!touched.test(g)) continue;
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
  });
  uint64_t expected = touched.count();
  if (covered != expected)
    oracle.report("lost_update", now, "oracle", 0,
                  std::to_string(expected - covered) + " touched pages have no stage-2 mapping");
  struct CheckStats : StatsGroup {
    explicit CheckStats(Stats& s) : StatsGroup(s, "check") {}
    statistics::Value touched_pages{*this, "touched_pages",
                                    "pages the run touched (the lost-update oracle's expectation)"};
    statistics::Value stage2_leaves{*this, "stage2_leaves",
                                    "stage-2 leaves present when the vCPUs finished"};
  } st(stats);
  st.touched_pages.set(expected);
  st.stage2_leaves.set(leaves);
}

Platform::~Platform() = default;

void Platform::run() {
  if (progress) progress->start();
  sc_core::sc_start();
  if (progress) progress->finish();  // before any summary or error is printed
  if (!finished) {
    // Every thread is blocked and no event is pending: name each one and what it waits for.
    std::ostringstream m;
    m << "simulated deadlock at cycle " << kernel.clock().now() << ":";
    auto who = [&](const Agent& a, bool done) {
      if (done) return;
      m << " " << a.name() << " waits for " << (a.blocked_on() ? a.blocked_on() : "(not blocked)");
      if (const Agent* h = a.blocked_by()) m << " held by " << h->name();
      m << ";";
    };
    for (auto& v : vcpus) who(v->agent(), v->finished());
    for (auto& h : host_threads) who(h->agent, h->finished);
    throw DeadlockError(m.str());
  }
  for (auto& v : vcpus) v->publish_stats();
  RunStats s(stats);
  s.cycles.set(populate_end);
  s.teardown_cycles.set(teardown_cycles);
  s.vcpus.set(cfg.vcpus);
  s.kvm_release.set(cfg.kvm_version.code());
  s.tables_peak.set(pool.peak());
  s.backed_bytes.set(host.backed_bytes());
  // Bytes of simulated memory whose contents the model stores (PhysMem never drops a page, so
  // this is also the peak): the page-table pages of both stages, plus the few pages of lock and
  // counter words. The memory bound is stated against it.
  s.pt_bytes.set(uint64_t(phys.backed_pages()) << kPageShift);
  workload->publish(stats);
}


void Platform::write_outputs() const {
  if (!cfg.stats_json.empty()) stats.write_json_file(cfg.stats_json);
  if (!cfg.stats_schema.empty()) stats.write_schema_file(cfg.stats_schema);
  if (!cfg.timeline.empty()) timeline.write(cfg.timeline, cfg.clock_ghz);
}

void Platform::print_summary(std::ostream& os, double wall_seconds) const {
  const Stats& s = stats;
  const SimConfig& c = cfg;
  auto v = [&](const char* n) { return s.value(n); };
  os << "mmusim: " << mode_name(c.arch) << " " << mode_name(c.workload) << ", " << c.vcpus << " vCPUs x "
     << (c.mem_per_vcpu >> 20) << " MiB, " << (c.page_size >> 10) << " KiB pages, mmu_lock "
     << mode_name(fault_mmu_lock(c, c.arch)) << ", KVM " << kvm_release_text(c.kvm_version)
     << ", overlap " << c.overlap << ", pattern " << mode_name(c.pattern) << "\n";
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
  os << "  guest accesses      " << v("guest.accesses") << " (L1 TLB hit " << v("tlb.l1.hit")
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
