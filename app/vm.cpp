#include "app/vm.hpp"

#include <algorithm>
#include <iomanip>
#include <ostream>

#include "app/params_hardware.hpp"
#include "app/params_models.hpp"
#include "app/params_workloads.hpp"
#include "models/arch_registry.hpp"
#include "sim/core/error.hpp"

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

Vm::Vm(VmHost& h, const SimConfig& cfg, unsigned index, unsigned count, unsigned first_thread,
       const PlatformHooks& hooks)
    : index(index),
      prefix(count > 1 ? "vm." + std::to_string(index) + "." : ""),
      stats(h.stats, prefix),
      faults(stats),
      guest_stats(stats),
      oracle(stats, cfg.check),
      host(host_mm_params(cfg), h.heap, h.phys, h.memory, stats),
      flush(remote_flush_params(cfg), stats, h.timeline, oracle, fills),
      workload(make_workload(cfg)),
      h_(h),
      cfg_(cfg),
      keep_final_leaves_(hooks.keep_final_leaves),
      count_(count),
      first_thread_(first_thread) {
  ArchDeps deps{h.phys, h.pool,   host,       flush,  h.rcu,  h.heap,
                stats,  faults,   h.timeline, oracle, touched, h.memsys.dvm};
  arch = make_arch(cfg_.arch, arch_params(cfg_), deps);
  // kvm_arch_flush_remote_tlbs on MIPS: VZ without GuestIDs marks the VM's root ASID stale on
  // every pCPU before the vCPUs are asked (a no-op in the other MIPS modes).
  if (cfg_.arch == Arch::Mips)
    flush.set_arch_prepare([this] { h_.tags->mips_flush_vm(this->index); });
  if (auto s = arch->make_flush_strategy(cfg_.flush)) flush.set_strategy(std::move(s));
  // Configuration checks refuse a strategy the arch has not, naming the line that set it
  // (validate_flush); this is the safety net for a config that did not pass them.
  if (!flush.has_strategy())
    throw UsageError((cfg_.vm_name.empty() ? "" : cfg_.host_file + ": VM '" + cfg_.vm_name + "': ") +
                     "--flush: '" + mode_name(cfg_.flush) +
                     "' is not available for --arch " + mode_name(cfg_.arch));
  workload_env = std::make_unique<WorkloadEnv>(WorkloadEnv{mmu(), host, flush, h.rcu, h.phys,
      arch->guest_format(), stats, h.timeline, oracle, touched});
  workload_env->host_events =
      hooks.host_events && index == 0 ? hooks.host_events : arch->host_event_sink();
  build_guest();
  workload->attach(*workload_env);
  build_vcpus(hooks);
  for (auto& spec : workload->host_threads()) add_host_thread(spec.name, spec.body);
  if (index == 0)
    for (auto& [name, fn] : hooks.host_threads) add_host_thread(name, fn);
  vmm = std::make_unique<HostThread>(module_name("vmm").c_str(), h.kernel, 0,
                                     h.timeline.track(prefix + "host.vmm"),
                                     [this](Agent& a) { vmm_main(a); });
  vmm->port.socket.bind(h.memsys.target);
  h.rcu.register_agent(vmm->agent);
}

Vm::~Vm() = default;

std::string Vm::module_name(const std::string& name) const {
  std::string module = count_ > 1 ? "vm" + std::to_string(index) + "_" + name : name;
  std::replace(module.begin(), module.end(), '.', '_');
  return module;
}

void Vm::add_host_thread(const std::string& name, std::function<void(Agent&)> body) {
  const int track = h_.timeline.track(prefix + "host." + name);
  auto t = std::make_unique<HostThread>(module_name(name).c_str(), h_.kernel, 0, track,
                                        std::move(body));
  t->port.socket.bind(h_.memsys.target);
  h_.rcu.register_agent(t->agent);
  host_threads.push_back(std::move(t));
}

void Vm::build_guest() {
  layout.data_bytes = workload->data_bytes();
  touched.resize((GuestLayout::kDataGpa + layout.data_bytes) >> kPageShift);
  // Guest page-table pages are backed by small host pages.
  host.set_backing_level(GuestLayout::kPageTableGpa >> kPageShift,
                         (GuestLayout::kDataGpa - GuestLayout::kPageTableGpa) >> kPageShift, 1);
  if (workload->guest_os()) return;  // the guest kernel builds its tables on first touch
  // As KVM selftests do: tables for the whole data window, pre-mapped in stage 2.
  guest_pt = std::make_unique<GuestPageTables>(
      arch->guest_format(), h_.phys,
      [this](uint64_t gfn) { return host.resolve_functional(gfn).hpa; });
  guest_pt->map(layout.gva_of(0), layout.gpa_of(0), layout.data_bytes);
  for (uint64_t gfn : guest_pt->table_gfns()) {
    mmu().map_functional(gfn << kPageShift, 1, host.lookup(gfn).hpa);
    touched.set(gfn);
  }
}

void Vm::build_vcpus(const PlatformHooks& hooks) {
  VcpuEnv env{h_.kernel, vcpu_params(cfg_), arch->guest_format(), arch->stage2_format(), mmu(),
              flush, fills, stats, guest_stats, faults, h_.timeline, oracle, &h_.pool, h_.phys,
              [this, walker = walker_params(cfg_)](const char* name) {
                return arch->make_walker(name, walker, h_.kernel.clock(), &h_.pool, &oracle, stats);
              },
              prefix, h_.tlbs, h_.tags};
  const unsigned pcpus = h_.cfg.physical_cpus();  // the host's, over every VM
  const ProgressParams shown = progress_params(cfg_);
  if (shown.enabled) {  // a replaced stream's size is not the workload's
    const WorkSize work = hooks.stream ? WorkSize{} : workload->vcpu_work();
    if (index == 0)
      h_.progress = std::make_unique<ProgressMeter>(shown, h_.kernel.clock(), work);
    else
      h_.progress->add_work(work);
  }
  if (h_.progress) h_.progress->count_faults(faults.count);
  for (unsigned i = 0; i < cfg_.vcpus; ++i) {
    GuestContext g;
    g.os = workload->guest_os();
    g.rendezvous = workload->rendezvous();
    g.guest_root_gpa = g.os ? g.os->root_gpa() : guest_pt->root_gpa();
    g.tlb_tag = h_.tags->tag_for_new_vcpu();  // sim/hv/tlb_tags.hpp
    g.vm = uint16_t(index);
    g.touched = &touched;
    auto ops = hooks.stream ? hooks.stream(i) : workload->vcpu_stream(i);
    if (h_.progress) ops = h_.progress->wrap(std::move(ops));
    // vCPU threads are numbered over every VM; without --pcpus each has a pCPU of its own.
    const unsigned thread = first_thread_ + i;
    auto v = std::make_unique<Vcpu>(module_name("vcpu" + std::to_string(i)).c_str(), int(i),
                                    int(thread % pcpus), env, g, std::move(ops), h_.heap.alloc());
    v->port.socket.bind(h_.memsys.target);
    v->walker->mem_port().socket.bind(h_.memsys.target);
    attach_pml_log(*v);
    flush.add_vcpu(v.get());
    h_.tags->add_vcpu(v.get());
    h_.rcu.register_agent(v->agent());
    vcpus.push_back(std::move(v));
  }
  attach_overcommit();
}

// Page-Modification Logging (docs/ARCHITECTURE.md, Dirty logging): each vCPU's log page and
// index word, as KVM allocates them and writes them into the vCPU's VMCS.
void Vm::attach_pml_log(Vcpu& v) {
  if (cfg_.pml != PmlMode::On) return;
  PmlLogging* pml = capability<PmlLogging>(mmu());
  if (!pml || !pml->pml_enabled())
    throw UsageError("--pml on: Page-Modification Logging is modelled for --arch x86 with "
                     "--x86-mmu tdp only");
  PmlLog log;
  log.buffer = h_.heap.alloc(kPageSize);
  log.index = h_.heap.alloc();
  h_.phys.write64(log.index, kPmlIndexFirst);
  v.walker->set_pml_log(log);
  pml->attach_pml_log(v.vcpu_id(), log);
}

void Vm::vmm_main(Agent& vmm) {
  vmm.before_kernel_wait();
  for (auto& v : vcpus)
    while (!v->finished()) sc_core::wait(v->finished_event());
  for (auto& t : host_threads)
    while (!t->finished) sc_core::wait(t->finished_event);
  populate_end = h_.kernel.clock().now();
  check_stage2();
  Cycles t0 = vmm.now();
  mmu().teardown(vmm);
  for (auto& v : vcpus) v->walker->free_tables();
  vmm.sync();
  teardown_cycles = vmm.now() - t0;
  finished = true;
  h_.vm_done(*this, vmm);
}

// The lost-update oracle: the stage-2 tables map exactly the pages the run touched (and the
// pre-mapped guest page-table pages), each to the host frame that backs it.
// The leaves are visited one at a time rather than collected first: at 16 M leaves the vector alone
// would outweigh the tables.
void Vm::check_stage2() {
  if (keep_final_leaves_) final_leaves = mmu().leaves();
  if (!oracle.enabled()) return;
  const PageTableFormat& fmt = arch->stage2_format();
  uint64_t covered = 0, leaves = 0;
  Cycles now = h_.kernel.clock().now();
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

void Vm::describe_blocked(std::ostream& m) const {
  auto who = [&](const Agent& a, bool done) {
    if (done) return;
    m << " " << a.name() << " waits for " << (a.blocked_on() ? a.blocked_on() : "(not blocked)");
    if (const Agent* by = a.blocked_by()) m << " held by " << by->name();
    m << ";";
  };
  for (auto& v : vcpus) who(v->agent(), v->finished());
  for (auto& t : host_threads) who(t->agent, t->finished);
}

void Vm::publish() {
  for (auto& v : vcpus) v->publish_stats();
  struct VmRunStats : StatsGroup {
    explicit VmRunStats(Stats& s) : StatsGroup(s) {}
    statistics::Value teardown_cycles{*this, "sim.teardown_cycles",
                                      "simulated cycles of the VM teardown"};
    statistics::Value vcpus{*this, "sim.vcpus", "vCPUs simulated"};
  } s(stats);
  s.teardown_cycles.set(teardown_cycles);
  s.vcpus.set(cfg_.vcpus);
  // With several VMs the host's sim.cycles is the last VM's end; each VM has its own too, which
  // its workload's rates are computed from (a lone VM's is the host's).
  if (count_ > 1) {
    struct VmCycles : StatsGroup {
      explicit VmCycles(Stats& s) : StatsGroup(s) {}
      statistics::Value cycles{*this, "sim.cycles",
                               "simulated cycles until the VM's vCPUs finished"};
    } c(stats);
    c.cycles.set(populate_end);
  }
}

void Vm::publish_workload() { workload->publish(stats); }

void Vm::print_summary(std::ostream& os, const std::string& in) const {
  const Stats& s = stats;
  const SimConfig& c = cfg_;
  auto v = [&](const char* n) { return s.value(n); };
  Cycles mx = 0, sum = 0;
  for (unsigned i = 0; i < c.vcpus; ++i) {
    Cycles p = s.value("vcpu." + std::to_string(i) + ".populate_cycles");
    mx = std::max(mx, p);
    sum += p;
  }
  os << in << "populate per vCPU   mean " << sum / c.vcpus << " / max " << mx << " cycles\n";
  os << in << "guest accesses      " << v("guest.accesses") << " (L1 TLB hit " << v("tlb.l1.hit")
     << ", L2 hit " << v("tlb.l2.hit") << ", walks " << v("walk.count") << ")\n";
  const Histogram* fl = s.find_histogram("hv.fault.latency");
  os << in << "stage-2 faults      " << v("hv.fault.count") << " (fixed " << v("hv.fault.fixed")
     << ", retry " << v("hv.fault.retry") << ", spurious " << v("hv.fault.spurious") << ")";
  if (fl && fl->count())
    os << ", latency mean " << std::setprecision(0) << fl->mean() << " p99 " << fl->percentile(99)
       << " cycles";
  os << "\n";
  os << in << "spte cmpxchg fails  " << v("hv.spte.cmpxchg_fail") << "\n";
  const Histogram* lw = s.find_histogram("hv.lock.mmu_lock.wait");
  if (lw)
    os << in << "mmu_lock waits      mean " << std::setprecision(1) << lw->mean() << " max "
       << lw->max() << " cycles\n";
  os << in << "remote flushes      " << v("hv.flush.count") << " (IPIs " << v("hv.ipi.count")
     << ")\n";
  os << in << "check violations    " << v("check.violations") << (c.check ? "" : " (checking off)")
     << "\n";
}

}  // namespace mmusim
