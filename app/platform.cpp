#include "app/platform.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <systemc>

#include "app/params_hardware.hpp"
#include "app/params_models.hpp"
#include "sim/core/error.hpp"

namespace mmusim {

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
      timeline(!c.timeline.empty()),
      pool(phys),
      memsys("mem", memory_system_params(cfg), kernel.clock(), phys, stats),
      host_memory(host_mm_params(cfg).alloc, host_mm_params(cfg).memcg, host_mm_params(cfg).lru,
                  heap, phys, stats),
      rcu("rcu", kernel, stats),
      sched(cfg.physical_cpus() < cfg.total_vcpus()
                ? std::make_unique<HostScheduler>(host_scheduler_params(cfg), stats)
                : nullptr),
      tlbs(std::make_unique<PcpuTlbs>(cfg.physical_cpus(), pcpu_tlb_geometry(cfg))),
      tags(std::make_unique<TlbTags>(tlb_tag_params(cfg), [this] { return tlbs->flush_all(); },
                                     heap, stats)),
      vm_host_{kernel, cfg,  stats, timeline,   phys,     pool,
               memsys, heap, host_memory, rcu, sched.get(), progress,
               [this](Vm&, Agent& vmm) { vm_done(vmm); }, tlbs.get(), tags.get()},
      vms_(build_vms(hooks)),
      faults(vm().faults),
      oracle(vm().oracle),
      host(vm().host),
      flush(vm().flush),
      arch(vm().arch),
      workload(vm().workload),
      touched(vm().touched),
      vcpus(vm().vcpus),
      final_leaves(vm().final_leaves) {}

std::vector<std::unique_ptr<Vm>> Platform::build_vms(const PlatformHooks& hooks) {
  std::vector<std::unique_ptr<Vm>> vms;
  unsigned first_thread = 0;
  for (unsigned i = 0; i < cfg.vms; ++i) {
    const SimConfig& c = cfg.vm_config(i);
    vms.push_back(std::make_unique<Vm>(vm_host_, c, i, cfg.vms, first_thread, hooks));
    first_thread += c.vcpus;
  }
  return vms;
}

void Platform::vm_done(Agent& vmm) {
  if (++vms_done_ < vms_.size()) return;
  // The last VM is torn down: every VM's tables should be back in the host-wide pool.
  if (pool.in_use() != 0)
    vms_.back()->oracle.report("leaked_table", vmm.now(), vmm.name(), 0,
        std::to_string(pool.in_use()) + " page-table pages still allocated after teardown");
  finished_ = true;
  sc_core::sc_stop();
}

Platform::~Platform() = default;

void Platform::run() {
  if (progress) progress->start();
  sc_core::sc_start();
  if (progress) progress->finish();  // before any summary or error is printed
  if (!finished_) {
    // Every thread is blocked and no event is pending: name each one and what it waits for.
    std::ostringstream m;
    m << "simulated deadlock at cycle " << kernel.clock().now() << ":";
    for (auto& v : vms_) v->describe_blocked(m);
    throw DeadlockError(m.str());
  }
  Cycles end = 0;
  for (auto& v : vms_) {
    v->publish();
    end = std::max(end, v->populate_end);
  }
  RunStats s(stats);
  s.cycles.set(end);
  s.kvm_release.set(cfg.kvm_version.code());
  s.tables_peak.set(pool.peak());
  s.backed_bytes.set(host_memory.backed_bytes);
  // Bytes of simulated memory whose contents the model stores (PhysMem never drops a page, so
  // this is also the peak): the page-table pages of both stages, plus the few pages of lock and
  // counter words. The memory bound is stated against it.
  s.pt_bytes.set(uint64_t(phys.backed_pages()) << kPageShift);
  tags->publish(stats);
  for (auto& v : vms_) v->publish_workload();
}

void Platform::write_outputs() const {
  if (!cfg.stats_json.empty()) stats.write_json_file(cfg.stats_json);
  if (!cfg.stats_schema.empty()) stats.write_schema_file(cfg.stats_schema);
  if (!cfg.timeline.empty()) timeline.write(cfg.timeline, cfg.clock_ghz);
}

void Platform::print_summary(std::ostream& os, double wall_seconds) const {
  const SimConfig& c = cfg;
  const Cycles cycles = stats.value("sim.cycles");
  if (c.vm_configs.empty()) {
    os << "mmusim: " << mode_name(c.arch) << " " << mode_name(c.workload) << ", ";
    if (c.vms > 1) os << c.vms << " VMs x ";
    os << c.vcpus << " vCPUs x " << (c.mem_per_vcpu >> 20) << " MiB, " << (c.page_size >> 10)
       << " KiB pages, ";
  } else {
    os << "mmusim: " << mode_name(c.arch) << ", " << c.vms << " VMs of " << c.host_file << ", "
       << c.total_vcpus() << " vCPUs on " << c.physical_cpus() << " pCPUs, ";
  }
  os << "mmu_lock " << mode_name(fault_mmu_lock(c, c.arch)) << ", KVM "
     << kvm_release_text(c.kvm_version);
  if (c.vm_configs.empty())
    os << ", overlap " << c.overlap << ", pattern " << mode_name(c.pattern);
  os << "\n";
  os << "  simulated time      " << cycles << " cycles ("
     << std::fixed << std::setprecision(3) << double(cycles) / (c.clock_ghz * 1e6)
     << " ms at " << c.clock_ghz << " GHz)\n";
  for (auto& v : vms_) {
    if (vms_.size() == 1) {
      v->print_summary(os, "  ");
      continue;
    }
    os << "  VM " << v->index;
    const SimConfig& vc = c.vm_config(v->index);
    if (!vc.vm_name.empty())
      os << " (" << vc.vm_name << "): " << mode_name(vc.workload) << ", " << vc.vcpus
         << " vCPUs x " << (vc.mem_per_vcpu >> 20) << " MiB, " << (vc.page_size >> 10)
         << " KiB pages, flush " << mode_name(vc.flush);
    os << "\n";
    v->print_summary(os, "    ");
  }
  os << "  host time           " << std::setprecision(2) << wall_seconds << " s\n";
}

}  // namespace mmusim
