// Capability of a hypervisor MMU (docs/ARCHITECTURE.md, Hypervisor MMU interfaces): the arch
// side of KVM's MMU notifiers (kvm_unmap_gfn_range & co). MmuNotifier (sim/hv/mmu_notifier.hpp)
// calls them with notifier_lock held (kvm->mmu_lock), once per memslot part of the host's HVA
// range; each returns whether every vCPU's translations must be flushed, which the notifier
// then does once (after prepare_flush_remote).
#pragma once
#include "sim/hv/host_pte.hpp"
#include "sim/hv/memslots.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class MmuNotifier;

class NotifierCallbacks {
 public:
  virtual ~NotifierCallbacks() = default;
  virtual void notifier_lock(Agent& a) = 0;
  virtual void notifier_unlock(Agent& a) = 0;
  // The host unmapped the range: remove its second-stage entries.
  virtual bool unmap_gfn_range(Agent& a, const GfnRange& r) = 0;
  // The host PTE of one page changed (KSM merge, migration, COW): make the entry follow it.
  virtual bool set_spte_gfn(Agent& a, const GfnRange& r, const HostPte& pte) = 0;
  // Make the range's entries old; returns whether any was young.
  virtual bool age_gfn_range(Agent& a, const GfnRange& r) = 0;
  // Whether any entry of the range is young (no change).
  virtual bool test_age_gfn(Agent& a, const GfnRange& r) = 0;
  // kvm_arch_flush_remote_tlbs: arch work before the notifier's remote flush (MIPS: the ASID
  // of every vCPU goes stale, flush_shadow_all). Most arches have none.
  virtual void prepare_flush_remote(Agent& a) { (void)a; }
  // Fault side: the notifier whose mmu_notifier_seq the fault path reads before resolving a
  // host page and re-checks under mmu_lock (MmuNotifier::read_seq / retry). nullptr: none.
  virtual void set_notifier(MmuNotifier* n) = 0;
};

}  // namespace mmusim
