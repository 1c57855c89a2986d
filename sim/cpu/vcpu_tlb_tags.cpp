// The vCPU's side of TLB tags on a shared physical CPU (docs/ARCHITECTURE.md, Several VMs: TLB
// tags): the tag it fills and looks up with, and the invalidations KVM does because the pCPU's
// TLBs hold other vCPUs' entries too. The tag spaces themselves are the host's
// (sim/hv/tlb_tags.hpp); each rule below cites the KVM function it stands for.
#include <sstream>

#include "sim/cpu/vcpu.hpp"

namespace mmusim {

size_t Vcpu::flush_own_tlb_entries() {
  return l1_.flush_tag(guest_.tlb_tag) + l2_.flush_tag(guest_.tlb_tag);
}

size_t Vcpu::flush_tlb_all_request() {
  // vmx_flush_tlb_all: INVEPT all-context with EPT (INVVPID all-context without), so the
  // pCPU's entries of every VPID and every EPTP go, another VM's included (arch/x86/kvm/vmx).
  if (tags_.arch() == Arch::X86) return l1_.flush_all() + l2_.flush_all();
  return flush_own_tlb_entries();
}

size_t Vcpu::flush_tlb_current_root() {
  // vmx_flush_tlb_current with EPT: INVEPT single-context of the root's EPTP, which covers
  // every VPID using it on this pCPU: the VM's other vCPUs there too.
  if (tags_.arch() == Arch::X86 && !shadow_)
    return l1_.flush_vm(guest_.vm) + l2_.flush_vm(guest_.vm);
  return flush_own_tlb_entries();
}

void Vcpu::tags_before_entry() {
  if (tags_.arch() == Arch::Mips) return mips_take_asid();
  if (tags_.arch() != Arch::Arm64) return;
  // kvm_arm_vmid_update before the requests are checked and the guest entered: the VM's VMID
  // of the current generation (a rollover invalidates every TLB; up to 5.17 it first makes
  // every vCPU in guest mode exit, under kvm_vmid_lock: sim/hv/tlb_tags.hpp).
  guest_.tlb_tag = tags_.vmid_update(agent_, *this, pcpu_, p_.ipi, p_.tlb_flush_local);
}

void Vcpu::mips_take_asid() {
  // check_mmu_context / get_new_mmu_context on the context's pending flush (with GuestIDs, the
  // version check of kvm_vz_vcpu_load_tlb): a new tag from the pCPU's counter when one is due.
  // A wrap starts a new version and flushes this pCPU's whole TLB: every vCPU thread's entries
  // on it, of every VM, which is what lets the tags be handed out again.
  const TlbTags::MipsAsid a = tags_.mips_asid(guest_.vm, id_, pcpu_);
  // A wrap since this vCPU last ran here (its own taking or another's) flushed the pCPU's
  // TLBs, so the TLBs behind the arrays lost this vCPU's entries too.
  const bool dropped = a.epoch != mips_epoch_;
  mips_epoch_ = a.epoch;
  const bool first_entry = !mips_tagged_;
  mips_tagged_ = true;
  // Without GuestIDs the context is the VM's: a sibling on this pCPU may have taken its new
  // ASID already (or its first), and this vCPU enters with that one.
  if (!first_entry && !a.fresh && a.asid == guest_.tlb_tag && !dropped) return;
  guest_.tlb_tag = a.asid;
  if (a.wrapped) {
    tags_.note_wrap_flush(tags_.skip_wrap_flush() ? 0 : l1_.flush_all() + l2_.flush_all());
    agent_.advance(p_.tlb_flush_local);
  }
  TagChange change = first_entry ? TagChange::First : TagChange::Shared;
  if (a.fresh)
    change = a.first ? TagChange::First : a.wrapped ? TagChange::Wrapped : TagChange::Fresh;
  agent_.advance(walker->retag(a.asid, change, dropped));
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
      // VZ without GuestIDs: the guest TLB is not tagged per vCPU, so KVM flushes it when
      // another vCPU last ran on this CPU (kvm_vz_vcpu_load_tlb); the arrays' combined
      // GVA->HPA entries derive from it and go too. The tag is checked at entry
      // (tags_before_entry). Trap and emulate, and GuestIDs: nothing here.
      if (tags_.pcpu_switched(pcpu_, sched_thread_)) {
        tags_.note_switch_flush(l1_.flush_all() + l2_.flush_all());
        walker->flush_guest_caches();
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
