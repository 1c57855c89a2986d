// The vCPU's side of TLB tags on a shared physical CPU (docs/ARCHITECTURE.md, Several VMs: TLB
// tags): the tag it fills and looks up with, and the invalidations KVM does because the pCPU's
// TLBs hold other vCPUs' entries too. The tag spaces themselves are the host's
// (sim/hv/tlb_tags.hpp); each rule below cites the KVM function it stands for.
#include <sstream>

#include "sim/cpu/vcpu.hpp"

namespace mmusim {

size_t Vcpu::flush_own_tlb_entries() {
  // MIPS flushes drop the whole TLB: entries of the vCPU's earlier ASIDs must go too (they
  // could hit again once the ASID counter wraps), and a pCPU's TLB holds one vCPU thread's
  // entries at a time there (tags_on_load).
  if (tags_.arch() == Arch::Mips) return l1_.flush_all() + l2_.flush_all();
  return l1_.flush_tag(guest_.tlb_tag) + l2_.flush_tag(guest_.tlb_tag);
}

void Vcpu::tags_before_entry() {
  if (tags_.arch() != Arch::Arm64) return;
  // kvm_arm_vmid_update before the requests are checked and the guest entered: the VM's VMID
  // of the current generation (a rollover invalidated every TLB).
  bool rolled = false;
  guest_.tlb_tag = tags_.vmid_update(guest_.vm, pcpu_, rolled);
  if (!rolled) return;
  agent_.advance(p_.tlb_flush_local);
  // Up to 5.17 (--vmid-allocator global): no other CPU may run a guest under an old VMID, so
  // every vCPU in guest mode is made to exit; each takes a new VMID as it enters again.
  if (tags_.forces_exit()) tags_.force_vm_exit(agent_, *this, p_.ipi);
}

void Vcpu::vpidless_transition() {
  // No VPID (x86): each VM entry and exit invalidates the linear and combined mappings of
  // VPID 0, and the paging-structure caches that derive them; guest-physical (EPT-only) ones
  // stay. (Intel SDM Vol. 3C, "VPID": with VPIDs disabled, or VPID 0, VMX transitions flush.)
  if (tags_.arch() != Arch::X86 || guest_.tlb_tag != 0) return;
  tags_.note_vpidless_flush(flush_own_tlb_entries());
  walker->flush_guest_caches();
}

void Vcpu::tags_on_load() {
  switch (tags_.arch()) {
    case Arch::Arm64: {
      // kvm_arch_vcpu_load: the VMID first (so the invalidation below names the one the vCPU
      // will run with), then last_vcpu_ran: vCPUs of a VM share its VMID, and another of them
      // ran here last (or none did), so this VMID's local entries go (__kvm_flush_cpu_context).
      tags_before_entry();
      if (tags_.last_vcpu_ran_differs(guest_.vm, pcpu_, id_)) {
        tags_.note_last_vcpu_ran_flush(flush_own_tlb_entries());
        agent_.advance(p_.tlb_flush_local);
      }
      break;
    }
    case Arch::Mips:
      // ASIDs are per vCPU here, not per pCPU as KVM keeps them: two vCPU threads on one pCPU
      // may hold the same ASID, so a pCPU switching threads drops its TLB, as KVM MIPS VZ does
      // on a core without GuestIDs when another vCPU last ran there (kvm_vz_vcpu_load_tlb).
      if (tags_.pcpu_switched(pcpu_, sched_thread_)) {
        tags_.note_switch_flush(l1_.flush_all() + l2_.flush_all());
        agent_.advance(p_.tlb_flush_local);
      }
      break;
    case Arch::X86:
      break;  // a VPID per vCPU: nothing to drop when the pCPU switches
  }
}

void Vcpu::tags_on_put() {
  if (tags_.arch() == Arch::Arm64) tags_.vmid_clear_active(pcpu_);  // kvm_arch_vcpu_put
}

void Vcpu::check_foreign(const TlbEntry& e, Addr gva) {
  std::ostringstream d;
  d << "TLB hit on gva 0x" << std::hex << gva << " with tag " << std::dec << e.tag
    << " on an entry VM " << e.vm << " filled (its tag went to VM " << guest_.vm
    << " without the entry being invalidated)";
  oracle_.report("stale_tlb_hit", agent_.now(), agent_.name(), gva, d.str());
}

}  // namespace mmusim
