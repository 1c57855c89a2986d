// The guest instructions that manage the guest's own page tables: a guest kernel's store to
// one of its own PTEs, a CR3 load, a full TLB flush and an INVLPG. Under shadow paging they
// are what the hypervisor intercepts (without EPT the translation hardware walks the
// hypervisor's shadow tables, so handle_fault receives a guest-virtual fault, FaultSpace::Gva);
// under EPT none of them exits: the PTE store is an ordinary store, and CR3 loads, flushes and
// INVLPG act on the vCPU's own TLBs (docs/ARCHITECTURE.md, Shadow paging and EPT on one
// workload).
#include <sstream>

#include "sim/core/error.hpp"
#include "sim/cpu/vcpu.hpp"

namespace mmusim {

void Vcpu::guest_pt_op(const Op& op) {
  switch (op.kind) {
    case Op::Kind::GuestPteWrite: return guest_pte_write(op);
    case Op::Kind::GuestCr3Load: return guest_cr3_load(op);
    case Op::Kind::GuestTlbFlush: return guest_tlb_flush();
    case Op::Kind::GuestInvlpg: return guest_invlpg(op);
    default: throw ModelError(agent_.name() + ": not a guest page-table op");
  }
}

// A write through the guest's direct map to a guest page-table page. While the hypervisor
// write-protects that page (it shadows it and the shadow page is in sync), the mapping is
// read-only: the store faults, and the hypervisor either lets the page go unsync (the mapping
// becomes writable and the store is retried) or emulates the store (FaultOutcome::Emulate).
void Vcpu::guest_pte_write(const Op& op) {
  ++accesses_;
  while (true) {
    agent_.advance(p_.tlb_l1);
    TlbEntry* e = l1_.lookup(guest_.tlb_tag, op.gva);
    if (!e || !e->perms.write) {
      agent_.advance(p_.tlb_l2);
      e = l2_.lookup(guest_.tlb_tag, op.gva);
    }
    if (e && e->perms.write) {
      if (e->stale) {  // the stale-translation oracle, as for data accesses (Vcpu::use_entry)
        std::ostringstream d;
        d << "PTE store through a TLB entry for gva 0x" << std::hex << op.gva
          << " whose mapping was removed or write-protected before a completed flush";
        oracle_.report("stale_tlb_hit", agent_.now(), agent_.name(), op.gva, d.str());
        e->stale = false;
      }
      if (e->vm != guest_.vm) check_foreign(*e, op.gva);
      // The PTE store is visible to the hypervisor's sync and to walkers: at true time.
      agent_.store(e->hpa_base + (op.gva & ((Addr(1) << e->page_shift) - 1)), op.value,
                   MemClass::PageTable);
      return;
    }
    const WalkResult r = walk_on_miss(op.gva, Access::Write);
    if (r.status == WalkResult::Status::Ok) {
      fill_tlbs(r, op.gva);
      continue;  // the store goes through the entry just filled
    }
    if (r.status == WalkResult::Status::GuestFault) {
      std::ostringstream m;
      m << agent_.name() << ": guest PTE write to gva 0x" << std::hex << op.gva
        << " that the guest does not map";
      throw ModelError(m.str());
    }
    if (!shadow_) {
      // Under EPT the guest table page (or a table of the walk) is not mapped in stage 2 yet,
      // or is write-protected for dirty logging: an EPT violation like a data access's.
      if (r.status == WalkResult::Status::PmlFull) {
        pml_full_exit();
      } else if (stage2_fault_exit(r.gpa, r.on_guest_table ? Access::Read : Access::Write,
                                   op.value) == FaultOutcome::Emulate) {
        return;
      }
      continue;
    }
    Cycles t0 = agent_.now();
    exit_guest();
    ++faults_;
    FaultOutcome out = hv_.handle_fault(agent_, id_, TranslationFault::gva(op.gva, Access::Write));
    if (out == FaultOutcome::Emulate) emulate_guest_write(op.gva, op.value);
    enter_guest();
    stats_.fault_latency.sample(agent_.now() - t0);
    if (agent_.track() >= 0) timeline_.span(agent_.track(), "shadow #PF exit", t0, agent_.now());
    if (out == FaultOutcome::Emulate) return;
  }
}

ShadowPaging& Vcpu::shadow_paging(const char* what) {
  if (!shadow_) throw UsageError(std::string(what) + " is not modelled for this arch");
  return *shadow_;
}

void Vcpu::emulate_guest_write(Addr gva, uint64_t value) {
  ShadowPaging& sp = shadow_paging("emulated guest writes (shadow paging)");
  sp.emulate_guest_write(agent_, id_, gva, value);
}

void Vcpu::guest_cr3_load(const Op& op) {
  if (!shadow_) {
    // Under EPT, MOV to CR3 does not exit (KVM clears CR3-load exiting when EPT is on). Without
    // PCIDs it invalidates the combined and guest-linear mappings of the vCPU's VPID, not the
    // guest-physical ones (Intel SDM Vol. 3C, "Operations that Invalidate Cached Mappings").
    guest_.guest_root_gpa = op.gva;
    guest_linear_flush();
    return;
  }
  // MOV to CR3 exits under shadow paging: the hypervisor switches to (or builds) the shadow
  // root of the new guest tables and syncs it; translations of the old CR3 are dropped.
  exit_guest();
  shadow_paging("guest CR3 load exits (shadow paging)").guest_cr3_load(agent_, id_, op.gva);
  guest_.guest_root_gpa = op.gva;
  root_ = 0;  // the hypervisor keeps its root references (a cache of previous roots)
  enter_guest();  // load_root: the shadow root of the new CR3, and a local flush
}

// A guest-linear flush without an exit (EPT): this vCPU's TLBs and the walker's guest
// paging-structure caches; the EPT caches stay.
void Vcpu::guest_linear_flush() {
  flush_own_tlb_entries();
  walker->flush_guest_caches();
  agent_.advance(p_.tlb_flush_local);
  ++flushes_;
}

void Vcpu::guest_tlb_flush() {
  if (!shadow_) return guest_linear_flush();  // a CR3 reload or INVPCID: no exit under EPT
  exit_guest();
  shadow_paging("guest TLB flush exits (shadow paging)").guest_tlb_flush(agent_, id_);
  flush_own_tlb_entries();
  walker->flush_caches();
  agent_.advance(p_.tlb_flush_local);
  ++flushes_;
  enter_guest();
}

// INVLPG: the page's entries leave this vCPU's TLBs (kvm_x86_ops.flush_tlb_gva), and with them
// every paging-structure cache entry of the address space, whatever its address (Intel SDM
// Vol. 3A, "Invalidation of TLBs and Paging-Structure Caches"); under shadow paging the
// instruction is intercepted and the hypervisor first brings the shadow entry of the page in
// line with the guest PTE (kvm_mmu_invlpg).
void Vcpu::guest_invlpg(const Op& op) {
  ++invlpg_;
  const bool exits = shadow_ != nullptr;
  if (exits) {
    exit_guest();
    shadow_->guest_invlpg(agent_, id_, op.gva);
  }
  l1_.flush_va(guest_.tlb_tag, op.gva);
  l2_.flush_va(guest_.tlb_tag, op.gva);
  walker->flush_guest_caches();
  agent_.advance(p_.invlpg);
  if (exits) enter_guest();
}

}  // namespace mmusim
