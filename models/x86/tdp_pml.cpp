// Page-Modification Logging in the TDP MMU (docs/ARCHITECTURE.md, Dirty logging): with PML,
// KVM leaves logged 4K SPTEs writable and clears their D bit instead (the walker then logs
// each GPA it dirties); huge SPTEs are still write-protected, so a write to one faults and is
// mapped at 4K. Each VM exit drains the vCPU's log into the dirty bitmap (with the dirty ring:
// into the vCPU's ring, kvm_flush_pml_buffers -> mark_page_dirty) first, and
// KVM_GET_DIRTY_LOG kicks every vCPU in guest mode out so that its log is drained.
#include "models/x86/tdp_mmu.hpp"
#include "sim/core/error.hpp"
#include "sim/hv/guest_cpu.hpp"

namespace mmusim {

void TdpMmu::attach_pml_log(int vcpu_id, const PmlLog& log) {
  if (p_.pml != PmlMode::On) throw ModelError("a PML log attached with --pml off");
  if (pml_logs_.size() <= size_t(vcpu_id)) pml_logs_.resize(size_t(vcpu_id) + 1);
  pml_logs_[size_t(vcpu_id)] = log;
}

void TdpMmu::drain_pml(Agent& a, int vcpu_id) {
  const PmlLog& log = pml_logs_.at(size_t(vcpu_id));
  const uint64_t index = a.load(log.index);
  if (index == kPmlIndexFirst) return;  // empty
  // The index points at the next free slot (counting down); out of range: all 512 are used.
  const uint64_t first = index >= kPmlEntries ? 0 : index + 1;
  for (uint64_t i = first; i < kPmlEntries; ++i) {
    const Addr gpa = a.load(log.buffer + i * 8);
    // kvm_vcpu_mark_page_dirty: only a slot with a dirty bitmap records the page.
    if (logging(gpa)) mark_dirty(a, vcpu_id, gpa);
  }
  pml_stats_->flushed.inc(kPmlEntries - first);
  a.store(log.index, kPmlIndexFirst);
}

void TdpMmu::vcpu_exited(Agent& vcpu, int vcpu_id) {
  if (p_.pml_drain == PmlDrain::Kvm) drain_pml(vcpu, vcpu_id);
}

void TdpMmu::pml_full_exit(Agent& vcpu, int vcpu_id) {
  pml_stats_->full_exits.inc();
  // KVM drained the log at the exit already; the hypothetical full-only KVM drains only here.
  if (p_.pml_drain == PmlDrain::FullOnly) drain_pml(vcpu, vcpu_id);
}

void TdpMmu::kick_for_pml(Agent& a) {
  // kvm_vcpu_kick does not wait: a vCPU in guest mode gets an IPI, exits and drains its log at
  // that exit; one outside guest mode drained it when it last exited.
  for (GuestCpu* v : flush_.vcpus()) {
    if (a.load(v->mode_word()) != kInGuestMode) continue;
    auto ack = std::make_shared<FlushAck>();
    ack->pending = 1;
    a.catch_up();  // send_ipi times the IPI from the kernel's clock: bring it to this thread's time
    v->send_ipi(p_.ipi, std::move(ack));
    pml_stats_->kicks.inc();
  }
}

}  // namespace mmusim
