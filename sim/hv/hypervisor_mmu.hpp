// The arch-neutral entry points of a hypervisor's MMU software. The vCPU's own SystemC thread
// calls handle_fault after a second-stage fault exits to the host, as KVM runs the fault handler
// in the vCPU's host thread; every step inside pays through sim/mem and sim/sync.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/types.hpp"
#include "sim/hv/host_pte.hpp"
#include "sim/hv/memslots.hpp"
#include "sim/mmu/page_table_format.hpp"
#include "sim/mmu/pt_iter.hpp"
#include "sim/sync/agent.hpp"

namespace mmusim {

class MmuNotifier;

// Outcome of one fault, as KVM's RET_PF_* values.
enum class FaultOutcome { Fixed, Spurious, Retry, Emulate };

inline const char* fault_outcome_name(FaultOutcome o) {
  switch (o) {
    case FaultOutcome::Fixed: return "fixed";
    case FaultOutcome::Spurious: return "spurious";
    case FaultOutcome::Retry: return "retry";
    case FaultOutcome::Emulate: return "emulate";
  }
  return "?";
}

// One second-stage leaf as the oracle and tests see it.
struct Stage2Leaf {
  Addr gpa = 0;  // first guest-physical address it maps
  unsigned level = 1;
  Addr hpa = 0;  // host frame base
  Perms perms;
  bool operator==(const Stage2Leaf& o) const {
    return gpa == o.gpa && level == o.level && hpa == o.hpa && perms == o.perms;
  }
};

class HypervisorMmu {
 public:
  virtual ~HypervisorMmu() = default;
  // A second-stage fault of `vcpu_id` on gpa for `access`, running in the vCPU's thread.
  virtual FaultOutcome handle_fault(Agent& vcpu, int vcpu_id, Addr gpa, Access access) = 0;
  // Host physical address of the second-stage root the vCPU loads on guest entry.
  virtual Addr stage2_root() const = 0;
  // Destroys every mapping and frees every table (VM teardown), running in `host`'s thread.
  virtual void teardown(Agent& host) = 0;
  // Untimed mapping for the harness that prepares the guest before the run.
  virtual void map_functional(Addr gpa, unsigned level, Addr hpa_base) = 0;
  // Every present second-stage leaf of the root vCPUs currently use, in GPA order (functional
  // read of simulated memory), handed to `visit` one at a time without holding them all: the
  // end-of-run oracle of a populated 64 GiB guest sees 16 M of them (issue 7).
  using LeafVisitor = std::function<void(const Stage2Leaf&)>;
  virtual void visit_leaves(const LeafVisitor& visit) const = 0;
  // visit_leaves for a tree of `fmt` tables at `root`: a pre-order walk reading each entry
  // with `read` (untimed).
  template <class Read>
  static void visit_tree_leaves(const PageTableFormat& fmt, Addr root, Read&& read,
                                const LeafVisitor& visit) {
    for_each_entry(PtIter::range(fmt, root, 0, ~Addr(0)), read, [&](PtIter& it) {
      if (it.leaf())
        visit({it.base(), it.level(), fmt.address(it.entry(), it.level()), fmt.perms(it.entry())});
    });
  }
  // The same leaves collected (tests and small runs).
  std::vector<Stage2Leaf> leaves() const {
    std::vector<Stage2Leaf> out;
    visit_leaves([&](const Stage2Leaf& l) { out.push_back(l); });
    return out;
  }

  // Root lifecycle seen from a vCPU (kvm_mmu_load / kvm_mmu_unload). load_root runs before
  // guest entry when the vCPU holds no root and returns the one to run on (taking a
  // reference); unload_root drops it (on a reload request, and when the vCPU stops).
  // Arches with one fixed root keep the defaults.
  virtual Addr load_root(Agent& vcpu, int vcpu_id) {
    (void)vcpu, (void)vcpu_id;
    return stage2_root();
  }
  virtual void unload_root(Agent& vcpu, int vcpu_id) { (void)vcpu, (void)vcpu_id; }
  // KVM_RUN issued again after the vCPU's thread returned to the VMM (a guest sync point):
  // per-ioctl work such as arm64's pending MMU ops. Runs before the vCPU re-enters the guest.
  virtual void vcpu_run_again(Agent& vcpu, int vcpu_id) { (void)vcpu, (void)vcpu_id; }
  // Host-side zaps: kvm_mmu_zap_all_fast (memslot deletion, "zap all": every root invalidated,
  // vCPUs reload) and an unmap of a GPA range in every root (MMU notifier / memslot path).
  virtual bool supports_zap_all() const { return false; }
  virtual void zap_all(Agent& host) { (void)host; }
  virtual void zap_range(Agent& host, Addr gpa, uint64_t len) { (void)host, (void)gpa, (void)len; }
  // Dirty logging of one slot [gpa, gpa+len) (KVM_MEM_LOG_DIRTY_PAGES with manual protect):
  // enable write-protects the slot; get copies the dirty bitmap (one bit per 4 KiB page from
  // gpa); clear clears the given bits and write-protects those pages again; disable stops it.
  virtual bool supports_dirty_log() const { return false; }
  virtual void enable_dirty_log(Agent& a, Addr gpa, uint64_t len) { (void)a, (void)gpa, (void)len; }
  virtual std::vector<uint64_t> get_dirty_log(Agent& a) { (void)a; return {}; }
  virtual void clear_dirty_log(Agent& a, const std::vector<uint64_t>& bits) { (void)a, (void)bits; }
  virtual void disable_dirty_log(Agent& a) { (void)a; }
  // Oracle query (functional): whether translations through `root` are still expected to be in
  // the final tables (false once the root was invalidated).
  virtual bool root_is_current(Addr root) const { return root == stage2_root(); }

  // --- MMU-notifier callbacks (issue 5) -----------------------------------------------------
  // The arch side of KVM's MMU notifiers (kvm_unmap_gfn_range & co). MmuNotifier
  // (sim/hv/mmu_notifier.hpp) calls them with notifier_lock held (kvm->mmu_lock), once per
  // memslot part of the host's HVA range; each returns whether every vCPU's translations must
  // be flushed, which the notifier then does once (after prepare_flush_remote). Arches that do
  // not model notifiers keep the defaults, which refuse.
  virtual bool models_notifiers() const { return false; }
  virtual void notifier_lock(Agent& a) { (void)a, not_modelled("mmu_lock for notifiers"); }
  virtual void notifier_unlock(Agent& a) { (void)a, not_modelled("mmu_lock for notifiers"); }
  // The host unmapped the range: remove its second-stage entries.
  virtual bool unmap_gfn_range(Agent& a, const GfnRange& r) {
    (void)a, (void)r;
    return not_modelled("unmap_gfn_range");
  }
  // The host PTE of one page changed (KSM merge, migration, COW): make the entry follow it.
  virtual bool set_spte_gfn(Agent& a, const GfnRange& r, const HostPte& pte) {
    (void)a, (void)r, (void)pte;
    return not_modelled("set_spte_gfn");
  }
  // Make the range's entries old; returns whether any was young.
  virtual bool age_gfn_range(Agent& a, const GfnRange& r) {
    (void)a, (void)r;
    return not_modelled("age_gfn_range");
  }
  // Whether any entry of the range is young (no change).
  virtual bool test_age_gfn(Agent& a, const GfnRange& r) {
    (void)a, (void)r;
    return not_modelled("test_age_gfn");
  }
  // kvm_arch_flush_remote_tlbs: arch work before the notifier's remote flush (MIPS: the ASID
  // of every vCPU goes stale, flush_shadow_all).
  virtual void prepare_flush_remote(Agent& a) { (void)a; }
  // Fault side: the notifier whose mmu_notifier_seq the fault path reads before resolving a
  // host page and re-checks under mmu_lock (MmuNotifier::read_seq / retry). nullptr: none.
  virtual void set_notifier(MmuNotifier* n) { (void)n, not_modelled("MMU notifiers"); }

  // --- shadow paging (issue 6) ----------------------------------------------------------------
  // Without EPT the hardware walks the hypervisor's shadow tables (guest virtual -> host
  // physical), so handle_fault's `gpa` parameter then carries the faulting guest VIRTUAL
  // address. These are the guest instructions that exit under shadow paging: a CR3 load (the
  // vCPU then drops its root and loads the one for the new CR3 through load_root), a guest TLB
  // flush (kvm_mmu_sync_roots), and the emulation of a guest write that handle_fault answered
  // with FaultOutcome::Emulate (a write to a write-protected guest page-table page).
  virtual void guest_cr3_load(Agent& vcpu, int vcpu_id, Addr cr3_gpa) {
    (void)vcpu, (void)vcpu_id, (void)cr3_gpa;
    not_modelled("guest CR3 load exits (shadow paging)");
  }
  virtual void guest_tlb_flush(Agent& vcpu, int vcpu_id) {
    (void)vcpu, (void)vcpu_id;
    not_modelled("guest TLB flush exits (shadow paging)");
  }
  // A guest INVLPG of `gva`: whether it exits (intercepted, as under shadow paging), and the
  // hypervisor's side of it (kvm_mmu_invlpg). With EPT it does not exit: the vCPU only drops
  // its own TLB entry, so the defaults do nothing.
  virtual bool intercepts_invlpg() const { return false; }
  virtual void guest_invlpg(Agent& vcpu, int vcpu_id, Addr gva) {
    (void)vcpu, (void)vcpu_id, (void)gva;
  }
  virtual void emulate_guest_write(Agent& vcpu, int vcpu_id, Addr gva, uint64_t value) {
    (void)vcpu, (void)vcpu_id, (void)gva, (void)value;
    not_modelled("emulated guest writes (shadow paging)");
  }

 private:
  [[noreturn]] bool not_modelled(const char* what) const {
    throw UsageError(std::string(what) + " is not modelled for this arch");
  }
};

}  // namespace mmusim
