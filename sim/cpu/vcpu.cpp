#include "sim/cpu/vcpu.hpp"

#include <algorithm>
#include <sstream>

#include "sim/core/error.hpp"

namespace mmusim {

Vcpu::Vcpu(sc_core::sc_module_name name, int id, int pcpu, const VcpuEnv& env,
           GuestContext guest, std::unique_ptr<OpStream> ops, Addr kernel_words)
    : sc_core::sc_module(name),
      port("port", pcpu, env.kernel.clock()),
      walker(env.make_walker("walker")),
      id_(id), p_(env.params), hv_(env.hv), shadow_(capability<ShadowPaging>(env.hv)),
      run_hook_(capability<KvmRunHook>(env.hv)), pml_(capability<PmlLogging>(env.hv)),
      ring_(capability<DirtyLogging>(env.hv)),
      fills_(env.fills), guest_(guest),
      ops_(std::move(ops)), timeline_(env.timeline), oracle_(env.oracle), phys_(env.phys),
      agent_(env.kernel, env.name_prefix + "vcpu." + std::to_string(id), id, port,
             env.timeline.track(env.name_prefix + "vcpu." + std::to_string(id))),
      tags_(*env.tags), pcpu_(unsigned(pcpu)), l1_(env.tlbs->l1(unsigned(pcpu))),
      l2_(env.tlbs->l2(unsigned(pcpu))),
      request_word_(kernel_words), mode_word_(kernel_words + 8),
      stats_(env.stats, id), guest_stats_(env.guest_stats), fault_stats_(env.faults) {
  walker->set_cpu(pcpu);
  if (pml_ && !pml_->pml_enabled()) pml_ = nullptr;
  if (ring_ && !ring_->dirty_ring_enabled()) ring_ = nullptr;
  SC_HAS_PROCESS(Vcpu);
  SC_THREAD(run);
  sensitive << agent_.wake_event();  // only parking waits on it (Agent::use_static_wake)
  agent_.use_static_wake();
  SC_METHOD(on_ipi);
  sensitive << ipi_ev_;
  dont_initialize();
}

bool Vcpu::flush_pending() const {
  return (phys_.read64(request_word_) & (kReqTlbFlush | kReqTlbFlushRange)) != 0;
}

void Vcpu::send_ipi(Cycles delay, std::shared_ptr<FlushAck> ack) {
  // Timed from the kernel's clock: the sender has caught it up to its own time (Agent::catch_up).
  // interrupts_settled() relies on every interrupt landing at least an IPI's delivery later.
  if (delay < interrupt_lead())
    throw ModelError(agent_.name() + ": IPI delivered sooner than the vCPU's interrupt lead");
  const Clock& clock = agent_.clock();
  Cycles at = clock.now() + delay;
  in_flight_.push_back({at, std::move(ack)});
  // sc_event keeps only the earliest pending notification, which is what we need: on_ipi
  // re-arms itself for the next arrival.
  agent_.kernel().notify(ipi_ev_, clock.cycles(delay));
}

void Vcpu::on_ipi() {
  SimKernel& k = agent_.kernel();
  Cycles now = k.clock().now();
  Cycles next = ~Cycles(0);
  for (size_t i = 0; i < in_flight_.size();) {
    if (in_flight_[i].first <= now) {
      if (in_guest_) {
        // The vCPU thread takes the exit at its next op boundary at or after `now`.
        pending_acks_.push_back(std::move(in_flight_[i].second));
        ipi_at_ = std::min(ipi_at_, now);
        k.notify(attention_ev_);  // a vCPU spinning in guest mode wakes
      } else {
        // Not in guest mode: the host handles the interrupt at once and acknowledges.
        auto& ack = in_flight_[i].second;
        if (--ack->pending == 0) k.notify(ack->done);
      }
      in_flight_.erase(in_flight_.begin() + long(i));
    } else {
      next = std::min(next, in_flight_[i].first);
      ++i;
    }
  }
  if (next != ~Cycles(0)) k.notify(ipi_ev_, k.clock().cycles(next - now));
}

void Vcpu::ack_pending() {
  // The acknowledgements are seen by the flusher: at this vCPU's true time.
  if (!pending_acks_.empty()) agent_.sync_for_access();
  for (auto& ack : pending_acks_)
    if (--ack->pending == 0) agent_.notify(ack->done);
  pending_acks_.clear();
  ipi_at_ = ~Cycles(0);
}

void Vcpu::process_requests() {
  uint64_t req = agent_.xchg(request_word_, 0);
  if (req & kReqMmuReload) {
    // kvm_mmu_unload: drop the root; a valid one is loaded before the next entry.
    hv_.unload_root(agent_, id_);
    root_ = 0;
  }
  if (req & kReqTlbFlush) {
    if (walker->asid_tagged()) {
      // MIPS: the vCPU's context (trap and emulate; GuestIDs) needs a new tag on every pCPU,
      // or the flusher marked the VM's (VZ without GuestIDs); here it is taken at once. Entries
      // under the old tag stay in the arrays but can no longer hit (sim/cpu/vcpu_tlb_tags.cpp).
      tags_.mips_flush_request(guest_.vm, id_);
      mips_take_asid();
    } else {
      flush_tlb_all_request();
      walker->flush_caches();
      agent_.advance(p_.tlb_flush_local);
    }
    ++flushes_;
  }
  if (req & (kReqTlbFlush | kReqTlbFlushRange)) after_flush_request(req);
}

void Vcpu::enter_guest() {
  // Before anything else of the entry (vcpu_enter_guest, and arm64's request checks): a vCPU
  // whose ring holds its soft limit of entries does not enter.
  while (ring_ && ring_->dirty_ring_full_exit(agent_, id_)) dirty_ring_full_exit();
  while (true) {
    tags_before_entry();
    agent_.advance(p_.request_check);
    if (agent_.load(request_word_) != 0) process_requests();
    load_root();
    // Publish IN_GUEST_MODE, then look at requests again: a flusher that saw us outside guest
    // mode sent no IPI, so its request must be caught here (vcpu_enter_guest's ordering).
    agent_.store(mode_word_, kInGuestMode);
    in_guest_ = true;
    ran_guest_ = true;
    if (agent_.load(request_word_) == 0 && !tags_.vmid_stale(guest_.vm)) break;
    in_guest_ = false;
    agent_.store(mode_word_, kOutsideGuestMode);
    ack_pending();
  }
  vpidless_transition();
  agent_.advance(p_.vmentry);
}

void Vcpu::load_root() {
  // kvm_mmu_reload: a vCPU without a root takes a reference to a valid one. A new root is a new
  // EPTP: translations cached under the old one must not be used, so flush.
  if (root_ != 0) return;
  root_ = hv_.load_root(agent_, id_);
  flush_tlb_current_root();
  walker->flush_caches();
  agent_.advance(p_.tlb_flush_local);
}

void Vcpu::exit_guest() {
  agent_.sync_for_access();
  in_guest_ = false;
  agent_.store(mode_word_, kOutsideGuestMode);
  // The exit's latency is private work: the next action others can see (an acknowledgement
  // below, or the hypervisor's first shared access) synchronises.
  agent_.advance(p_.vmexit);
  vpidless_transition();
  ++exits_;
  // Interrupts that arrived while the guest ran are handled by the host now.
  ack_pending();
  // KVM's exit handler drains the PML log first, whatever the exit (vmx_handle_exit).
  if (pml_) pml_->vcpu_exited(agent_, id_);
}

void Vcpu::pml_full_exit() {
  Cycles t0 = agent_.now();
  exit_guest();
  pml_->pml_full_exit(agent_, id_);
  enter_guest();
  if (agent_.track() >= 0) timeline_.span(agent_.track(), "pml full exit", t0, agent_.now());
}

void Vcpu::dirty_ring_full_exit() {
  if (!guest_.rendezvous)
    throw ModelError(agent_.name() + ": dirty ring full without a VMM to harvest it");
  // The VM exit that pushed the last entries was paid already; KVM_RUN returns to the VMM, and
  // the next entry pays its vmentry as any.
  const Cycles t0 = agent_.now();
  leave_pcpu();
  guest_.rendezvous->vcpu_ring_full_and_wait(agent_);
  start_on_pcpu();
  if (agent_.track() >= 0) timeline_.span(agent_.track(), "dirty ring full exit", t0, agent_.now());
}

void Vcpu::take_ipi() {
  ++ipis_taken_;
  exit_guest();
  enter_guest();
}

void Vcpu::use_entry(const TlbEntry& e, const Op& op) {
  if (e.stale) {
    std::ostringstream d;
    d << "TLB hit on gva 0x" << std::hex << op.gva << " (gpa page 0x" << e.gpa_base
      << ") whose mapping was removed before a completed flush";
    oracle_.report("stale_tlb_hit", agent_.now(), agent_.name(), op.gva, d.str());
    const_cast<TlbEntry&>(e).stale = false;  // report each stale entry once
  }
  if (e.vm != guest_.vm) check_foreign(e, op.gva);
  Addr hpa = e.hpa_base + (op.gva & ((Addr(1) << e.page_shift) - 1));
  sc_core::sc_time d = agent_.offset();
  port.touch(hpa, op.access == Access::Write, d);
  agent_.set_offset(d);
}

void Vcpu::do_access(const Op& op) {
  if (op.mmu_off) return mmu_off_access(op);
  ++accesses_;
  agent_.advance(p_.tlb_l1);
  if (TlbEntry* e = l1_.lookup(guest_.tlb_tag, op.gva); e && e->perms.allows(op.access)) {
    ++l1_hit_;
    use_entry(*e, op);
    return;
  }
  ++l1_miss_;
  agent_.advance(p_.tlb_l2);
  if (TlbEntry* e = l2_.lookup(guest_.tlb_tag, op.gva); e && e->perms.allows(op.access)) {
    ++l2_hit_;
    l1_.insert(*e);
    use_entry(*e, op);
    return;
  }
  ++l2_miss_;
  translate_miss(op);
}

WalkResult Vcpu::walk_on_miss(Addr gva, Access access) {
  // The walk reads tables the hypervisor writes: do it at this vCPU's true time.
  agent_.sync_for_access();
  if (agent_.now() >= ipi_at_) take_ipi();
  if (!tlb_used_) note_tlb_use();
  const sc_core::sc_time before = agent_.offset();
  sc_core::sc_time d = before;
  WalkResult r = walker->walk(gva, access, guest_.guest_root_gpa, root_, d, agent_.name());
  agent_.set_offset(d);
  // The walk that ends in a second-stage fault is part of what the fault costs.
  if (r.status == WalkResult::Status::StageTwoFault)
    fault_walk_cycles_ += agent_.clock().to_cycles(d - before);
  return r;
}

void Vcpu::translate_miss(const Op& op) {
  while (true) {
    const WalkResult r = walk_on_miss(op.gva, op.access);
    if (r.status == WalkResult::Status::Ok) {
      const TlbEntry e = fill_tlbs(r, op.gva);
      if (r.has_buddy) {  // the other page of a MIPS even/odd pair, loaded by the same refill
        TlbEntry b = e;
        b.va_base = r.buddy_gva;
        b.gpa_base = r.buddy_gpa;
        b.hpa_base = r.buddy_hpa_base;
        b.perms = r.buddy_perms;
        b.fill_seq = fills_.tick();
        l2_.insert(b);
        l1_.insert(b);
      }
      if (guest_.touched && hv_.root_is_current(root_)) guest_.touched->set(r.gpa >> kPageShift);
      use_entry(e, op);
      return;
    }
    if (r.status == WalkResult::Status::PmlFull) {
      pml_full_exit();
      continue;
    }
    if (r.status == WalkResult::Status::GuestFault) {
      in_guest_kernel_ = true;
      const bool retry = guest_.os && guest_.os->handle_page_fault(*this, op.gva, op.access);
      in_guest_kernel_ = false;
      if (retry) continue;
      std::ostringstream m;
      m << agent_.name() << ": guest page fault at gva 0x" << std::hex << op.gva
        << " that the guest does not map";
      throw ModelError(m.str());
    }
    // An emulated store (shadow paging) completed the access.
    if (stage2_fault_exit(r.gpa, r.on_guest_table ? Access::Read : op.access, op.value) ==
        FaultOutcome::Emulate)
      return;
  }
}

TlbEntry Vcpu::fill_tlbs(const WalkResult& r, Addr gva) {
  TlbEntry e;
  e.valid = true;
  e.tag = guest_.tlb_tag;
  e.vm = guest_.vm;
  e.vcpu = uint16_t(id_);
  e.page_shift = r.page_shift;
  const Addr mask = (Addr(1) << r.page_shift) - 1;
  e.va_base = gva & ~mask;
  e.gpa_base = r.gpa & ~mask;
  e.hpa_base = r.hpa_base;
  e.perms = r.perms;
  e.fill_seq = fills_.tick();
  l2_.insert(e);
  l1_.insert(e);
  return e;
}

FaultOutcome Vcpu::stage2_fault_exit(Addr addr, Access access, uint64_t value) {
  // Exit to the hypervisor, which runs in this thread.
  Cycles t0 = agent_.now();
  exit_guest();
  ++faults_;
  const TranslationFault f{addr, shadow_ ? FaultSpace::Gva : FaultSpace::Gpa, access};
  FaultOutcome out = hv_.handle_fault(agent_, id_, f);
  // A store to a page the hypervisor keeps write-protected (under shadow paging a guest table
  // it shadows, e.g. one the guest freed and reuses as data) is emulated, and the access is
  // done. A data access carries no value in this model: `value` is Op::value, 0 unless the
  // workload sets one, so the emulated store is deterministic.
  if (out == FaultOutcome::Emulate) emulate_guest_write(addr, value);
  // A page the hypervisor installed in the root the vCPU runs on is expected in the final
  // tables (guest page-table pages included, which no data walk reports).
  if (guest_.touched && out != FaultOutcome::Retry && hv_.root_is_current(root_))
    guest_.touched->set(addr >> kPageShift);
  enter_guest();
  Cycles t1 = agent_.now();
  stats_.fault_latency.sample(t1 - t0);
  if (agent_.track() >= 0) timeline_.span(agent_.track(), "ept violation exit", t0, t1);
  return out;
}

Addr Vcpu::stage2_translate(Addr gpa, Access access) {
  while (true) {
    agent_.sync_for_access();
    sc_core::sc_time d = agent_.offset();
    WalkResult r = walker->walk_stage2(gpa, access, root_, d, agent_.name());
    agent_.set_offset(d);
    if (r.status == WalkResult::Status::Ok) {
      if (guest_.touched && hv_.root_is_current(root_)) guest_.touched->set(gpa >> kPageShift);
      return r.hpa_base + (gpa & ((Addr(1) << r.page_shift) - 1));
    }
    if (r.status == WalkResult::Status::PmlFull) {
      pml_full_exit();
      continue;
    }
    stage2_fault_exit(gpa, access);
  }
}

uint64_t Vcpu::read_gpa(Addr gpa) {
  Addr hpa = stage2_translate(gpa, Access::Read);
  return agent_.load(hpa, MemClass::PageTable);
}

void Vcpu::write_gpa(Addr gpa, uint64_t value) {
  Addr hpa = stage2_translate(gpa, Access::Write);
  agent_.store(hpa, value, MemClass::PageTable);
}

// A guest access with its MMU off: VA = IPA, translated by stage 2 only (walked every time:
// the model keeps no TLB entries for this regime), and non-cacheable, so it sees DRAM's copy of
// the line. Reading an older version than the newest one written means some maintenance to
// the PoC was skipped: the stale-data oracle. With FWB stage 2 makes the access cacheable, so
// it sees the caches' copy and needs no maintenance.
void Vcpu::mmu_off_access(const Op& op) {
  ++accesses_;
  const Addr hpa = stage2_translate(op.gva, op.access);
  sc_core::sc_time d = agent_.offset();
  if (op.access == Access::Write) {
    port.write_data(hpa, p_.s2_forced_writeback, d);
    agent_.set_offset(d);
    return;
  }
  const MemPort::DataVersion v = port.read_data(hpa, p_.s2_forced_writeback, d);
  agent_.set_offset(d);
  if (v.seen < v.latest) {
    std::ostringstream m;
    m << (p_.s2_forced_writeback ? "read" : "non-cacheable read") << " of ipa 0x" << std::hex << op.gva << " returned version " << std::dec
      << v.seen << ", older than the latest write " << v.latest << " (a clean to PoC was skipped)";
    oracle_.report("stale_data", agent_.now(), agent_.name(), op.gva, m.str());
  }
}

bool Vcpu::interrupts_settled() {
  // An IPI already on its way lands at its own time; anything posted from now on lands at
  // least interrupt_lead() after its poster acts.
  for (const auto& [at, ack] : in_flight_)
    if (at <= agent_.now()) return false;
  return agent_.ahead_of_posts(interrupt_lead());
}

void Vcpu::take_due_interrupts() {
  if (agent_.now() >= ipi_at_) take_ipi();
  if (agent_.now() >= attention_at_) attend();
}

void Vcpu::take_pending_interrupts() {
  agent_.sync_for_access();
  if (agent_.now() >= ipi_at_) take_ipi();
}

void Vcpu::run() {
  started_at_ = agent_.now();
  start_on_pcpu();
  enter_guest();
  Op op;
  const Cycles gap = p_.compute_per_access;
  while (ops_->next(op)) {
    // Interrupts are read where no thread can still post one for a cycle this vCPU already ran
    // past (docs/PERFORMANCE.md, Options and the guarantee): synchronised, unless every post
    // would land later than now.
    if (!interrupts_settled()) agent_.sync_for_access();
    take_due_interrupts();
    if (op.kind == Op::Kind::Compute) {
      guest_compute(op.cycles);
    } else if (op.kind == Op::Kind::GuestShootdown) {
      guest_shootdown(op);
    } else if (op.kind == Op::Kind::Sync) {
      vmm_sync();
    } else if (op.kind >= Op::Kind::GuestPteWrite) {
      guest_pt_op(op);
    } else {
      do_access(op);
      if (gap) agent_.advance(gap);
    }
    agent_.sync_if_needed();
  }
  done_at_ = agent_.now();
  exit_guest();
  retire_guest();
  // The vCPU keeps its root reference until the VM is destroyed (kvm_arch_vcpu_destroy
  // unloads it), so the tables stay what the run left for the oracle to check.
  finished_ = true;
  agent_.notify(finished_ev_);
  leave_pcpu();
  agent_.before_kernel_wait();  // the thread ends: control goes back to the kernel
}

void Vcpu::vmm_sync() {
  if (!guest_.rendezvous) throw ModelError(agent_.name() + ": guest sync point without a VMM");
  exit_guest();
  // The vCPU thread blocks in the VMM: under overcommit its physical CPU goes to others.
  leave_pcpu();
  guest_.rendezvous->vcpu_arrive_and_wait(agent_);
  start_on_pcpu();
  if (run_hook_) run_hook_->vcpu_run_again(agent_, id_);  // the next KVM_RUN ioctl
  enter_guest();
}

void Vcpu::publish_stats() {
  // Per vCPU under "vcpu.N.", summed over vCPUs under "tlb." (TLB counters) or "guest.".
  for (VcpuCounters* c : {static_cast<VcpuCounters*>(&stats_), &guest_stats_.counters()}) {
    c->accesses.inc(accesses_);
    c->l1_hit.inc(l1_hit_);
    c->l1_miss.inc(l1_miss_);
    c->l2_hit.inc(l2_hit_);
    c->l2_miss.inc(l2_miss_);
    c->exits.inc(exits_);
    c->stage2_faults.inc(faults_);
    c->ipis_taken.inc(ipis_taken_);
    c->tlb_flushes.inc(flushes_);
  }
  publish_overcommit_stats();
  stats_.populate_cycles.set(populate_cycles());
  fault_stats_.walk_cycles.inc(fault_walk_cycles_);
}

}  // namespace mmusim
